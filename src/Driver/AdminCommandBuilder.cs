using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>Builds admin submission entries (NVMe Base 2.0 §5; NVM CS 1.0 §4 for Format NVM).</summary>
internal static class AdminCommandBuilder
{
    /// <summary>Identify (§5.17): CDW10 CNS [7:0], CDW11 CSI [31:24].</summary>
    public static SubmissionEntry Identify(IdentifyCns cns, uint nsid, byte csi = 0) => new()
    {
        Opcode = (byte)AdminOpcode.Identify,
        NamespaceId = nsid,
        Cdw10 = (byte)cns,
        Cdw11 = (uint)csi << 24,
    };

    /// <summary>Set Features (§5.27): CDW10 FID [7:0], CDW11 feature specific.</summary>
    public static SubmissionEntry SetFeatures(FeatureId fid, uint cdw11, uint nsid = 0) => new()
    {
        Opcode = (byte)AdminOpcode.SetFeatures,
        NamespaceId = nsid,
        Cdw10 = (byte)fid,
        Cdw11 = cdw11,
    };

    /// <summary>Get Features (§5.15).</summary>
    public static SubmissionEntry GetFeatures(FeatureId fid, uint nsid = 0) => new()
    {
        Opcode = (byte)AdminOpcode.GetFeatures,
        NamespaceId = nsid,
        Cdw10 = (byte)fid,
    };

    /// <summary>Create I/O Completion Queue (§5.4): CDW10 QSIZE (0's based) [31:16], QID [15:0]; CDW11 PC [0], IEN [1], IV [31:16].</summary>
    public static SubmissionEntry CreateIoCompletionQueue(ushort qid, int entries, ulong iova, ushort? interruptVector = null) => new()
    {
        Opcode = (byte)AdminOpcode.CreateIoCompletionQueue,
        Prp1 = iova,
        Cdw10 = qid | ((uint)(entries - 1) << 16),
        // PC [0] = 1; without a vector IEN [1] = 0 (we poll), with one IEN = 1 and IV [31:16].
        Cdw11 = interruptVector is { } vector ? 1u | 2u | ((uint)vector << 16) : 1u,
    };

    /// <summary>Doorbell Buffer Config (§5.9): PRP1 the shadow doorbell buffer, PRP2 the EventIdx buffer, both memory-page aligned.</summary>
    public static SubmissionEntry DoorbellBufferConfig(ulong shadowDoorbells, ulong eventIndexes) => new()
    {
        Opcode = (byte)AdminOpcode.DoorbellBufferConfig,
        Prp1 = shadowDoorbells,
        Prp2 = eventIndexes,
    };

    /// <summary>Create I/O Submission Queue (§5.5): CDW11 CQID [31:16], QPRIO [2:1], PC [0].</summary>
    public static SubmissionEntry CreateIoSubmissionQueue(ushort qid, int entries, ulong iova, ushort cqid) => new()
    {
        Opcode = (byte)AdminOpcode.CreateIoSubmissionQueue,
        Prp1 = iova,
        Cdw10 = qid | ((uint)(entries - 1) << 16),
        Cdw11 = ((uint)cqid << 16) | 1,
    };

    /// <summary>Delete I/O Submission Queue (§5.7).</summary>
    public static SubmissionEntry DeleteIoSubmissionQueue(ushort qid) => new() { Opcode = (byte)AdminOpcode.DeleteIoSubmissionQueue, Cdw10 = qid };

    /// <summary>Delete I/O Completion Queue (§5.6).</summary>
    public static SubmissionEntry DeleteIoCompletionQueue(ushort qid) => new() { Opcode = (byte)AdminOpcode.DeleteIoCompletionQueue, Cdw10 = qid };

    /// <summary>Get Log Page (§5.16): CDW10 LID [7:0], NUMDL [31:16]; CDW11 NUMDU; CDW12/13 offset.</summary>
    public static SubmissionEntry GetLogPage(LogPageId lid, int bytes, uint nsid = 0xFFFFFFFF, ulong offset = 0)
    {
        uint numd = (uint)(bytes / 4 - 1);
        return new SubmissionEntry
        {
            Opcode = (byte)AdminOpcode.GetLogPage,
            NamespaceId = nsid,
            Cdw10 = (byte)lid | ((numd & 0xFFFF) << 16),
            Cdw11 = numd >> 16,
            Cdw12 = (uint)offset,
            Cdw13 = (uint)(offset >> 32),
        };
    }

    /// <summary>Abort (§5.1): CDW10 CID [31:16], SQID [15:0].</summary>
    public static SubmissionEntry Abort(ushort sqid, ushort cid) => new()
    {
        Opcode = (byte)AdminOpcode.Abort,
        Cdw10 = sqid | ((uint)cid << 16),
    };

    /// <summary>Format NVM (NVM CS 1.0 §4.2 / Base §5.14): LBAF incl. upper bits, MSET, PI, PIL, SES.</summary>
    public static SubmissionEntry FormatNvm(uint nsid, int lbaFormatIndex, bool extendedMetadata, int piType, bool piFirst, int secureErase) => new()
    {
        Opcode = (byte)AdminOpcode.FormatNvm,
        NamespaceId = nsid,
        Cdw10 = CommandFields.FormatNvmCdw10(lbaFormatIndex, extendedMetadata, piType, piFirst, secureErase),
    };
}
