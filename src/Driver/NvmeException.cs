using PolledNvme.Driver.Spec;

namespace PolledNvme.Driver;

/// <summary>
/// A command completed with an error status. Carries the status (SCT/SC/DNR and its name), the
/// opcode, the namespace and, for block commands, the starting LBA and block count.
/// </summary>
public class NvmeException : Exception
{
    /// <summary>Creates the exception with a general message.</summary>
    public NvmeException() : base("An NVMe command completed with an error status.") { }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public NvmeException(string message) : base(message) { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public NvmeException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>The completion status.</summary>
    public NvmeStatus Status { get; }

    /// <summary>The command's opcode.</summary>
    public byte Opcode { get; }

    /// <summary>True for an admin command, false for an I/O command.</summary>
    public bool IsAdmin { get; }

    /// <summary>Namespace identifier the command addressed (0 when none).</summary>
    public uint NamespaceId { get; }

    /// <summary>Starting LBA of a block command; 0 otherwise.</summary>
    public ulong StartLba { get; }

    /// <summary>Number of blocks of a block command; 0 otherwise.</summary>
    public int BlockCount { get; }

    /// <summary>Creates the exception from a failed completion.</summary>
    public NvmeException(NvmeStatus status, byte opcode, bool isAdmin, uint namespaceId = 0, ulong startLba = 0, int blockCount = 0, string? detail = null)
        : base(Format(status, opcode, isAdmin, namespaceId, startLba, blockCount, detail))
    {
        Status = status;
        Opcode = opcode;
        IsAdmin = isAdmin;
        NamespaceId = namespaceId;
        StartLba = startLba;
        BlockCount = blockCount;
        Detail = detail;
    }

    /// <summary>
    /// What else is known about the failure (an emulated controller's media error, e.g.
    /// <c>ENOSPC (No space left on device) writing 4096 bytes at offset 0 of '/tmp/ns.img'</c>), or null.
    /// </summary>
    public string? Detail { get; }

    /// <summary>Readable name of an opcode, e.g. <c>Read (02h)</c>.</summary>
    public static string OpcodeName(byte opcode, bool isAdmin)
    {
        string name = isAdmin
            ? (Enum.IsDefined((AdminOpcode)opcode) ? ((AdminOpcode)opcode).ToString() : "AdminCommand")
            : (Enum.IsDefined((NvmOpcode)opcode) ? ((NvmOpcode)opcode).ToString() : "IoCommand");
        return $"{name} ({opcode:X2}h)";
    }

    private static string Format(NvmeStatus status, byte opcode, bool isAdmin, uint nsid, ulong slba, int blocks, string? detail)
    {
        string where = blocks > 0 ? $", nsid {nsid}, slba {slba}, {blocks} blocks" : nsid != 0 ? $", nsid {nsid}" : "";
        return $"{OpcodeName(opcode, isAdmin)}{where} failed: {status}{(detail is null ? "" : ". " + detail)}";
    }
}

/// <summary>
/// The controller itself is unusable: it did not become ready (or shut down) within CAP.TO,
/// reported Controller Fatal Status (CSTS.CFS), or a command timed out. The message names the
/// register state; recover with <see cref="NvmeController.Reset"/>.
/// </summary>
public sealed class NvmeControllerException : Exception
{
    /// <summary>Creates the exception with a general message.</summary>
    public NvmeControllerException() : base("The NVMe controller is unusable: reset it.") { }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public NvmeControllerException(string message) : base(message) { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public NvmeControllerException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>CSTS when the failure was detected.</summary>
    public uint ControllerStatus { get; }

    /// <summary>True when CSTS.CFS was set.</summary>
    public bool IsFatal { get; }

    /// <summary>Creates the exception.</summary>
    public NvmeControllerException(string message, uint csts, bool fatal) : base(message)
    {
        ControllerStatus = csts;
        IsFatal = fatal;
    }
}
