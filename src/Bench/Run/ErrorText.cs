using PolledNvme.Bench.Engines;
using PolledNvme.Driver.Spec;

namespace PolledNvme.Bench.Run;

/// <summary>Readable text for failed I/Os.</summary>
public static class ErrorText
{
    /// <summary>
    /// E.g. <c>EndToEndGuardCheckError (SCT 2h, SC 82h)</c>, <c>host PI verify: guard mismatch</c>, or
    /// <c>CapacityExceeded (SCT 0h, SC 81h, DNR): ENOSPC (No space left on device) writing ...</c>
    /// when the controller said why.
    /// </summary>
    public static string Describe(in IoOutcome result)
    {
        if (result.Status > 0)
            return result.Detail is { } detail ? $"{new NvmeStatus((ushort)result.Status)}: {detail}" : new NvmeStatus((ushort)result.Status).ToString();
        if (result.Status < 0) return $"errno {-result.Status} ({new System.ComponentModel.Win32Exception(-result.Status).Message})";
        return result.Kind switch
        {
            IoResultKind.GuardError => "host PI verify: guard mismatch",
            IoResultKind.AppTagError => "host PI verify: application tag mismatch",
            IoResultKind.RefTagError => "host PI verify: reference tag mismatch",
            IoResultKind.StorageTagError => "host PI verify: storage tag mismatch",
            IoResultKind.OtherError => "I/O error",
            _ => "ok",
        };
    }

    /// <summary>Classifies an NVMe status into the PI error kinds (NVM CS status codes 2h/82h..88h).</summary>
    public static IoResultKind Classify(NvmeStatus status)
    {
        if (status.IsSuccess) return IoResultKind.Ok;
        if (status.Type == StatusCodeType.MediaAndDataIntegrity)
        {
            switch (status.Code)
            {
                case 0x82: return IoResultKind.GuardError;
                case 0x83: return IoResultKind.AppTagError;
                case 0x84: return IoResultKind.RefTagError;
                case 0x88: return IoResultKind.StorageTagError;
            }
        }
        return IoResultKind.OtherError;
    }
}
