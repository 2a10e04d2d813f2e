using PolledNvme.Driver.Spec;

namespace PolledNvme.Driver;

/// <summary>Outcome of one I/O command, handed to a completion callback.</summary>
public readonly struct IoResult
{
    internal IoResult(NvmeStatus status, byte opcode, uint nsid, ulong slba, int blocks, uint dw0, string? detail = null)
    {
        Detail = detail;
        Status = status;
        Opcode = opcode;
        NamespaceId = nsid;
        StartLba = slba;
        BlockCount = blocks;
        Dword0 = dw0;
    }

    /// <summary>Completion status (SCT/SC/DNR).</summary>
    public NvmeStatus Status { get; }

    /// <summary>True when the status is Successful Completion.</summary>
    public bool IsSuccess => Status.IsSuccess;

    /// <summary>The command's opcode.</summary>
    public byte Opcode { get; }

    /// <summary>Namespace identifier.</summary>
    public uint NamespaceId { get; }

    /// <summary>Starting LBA (0 for commands without one).</summary>
    public ulong StartLba { get; }

    /// <summary>Blocks (0 for commands without a range).</summary>
    public int BlockCount { get; }

    /// <summary>Completion DW0 (command specific).</summary>
    public uint Dword0 { get; }

    /// <summary>
    /// What the controller said about a failure beyond its status (an emulated controller's media
    /// error: errno, file, offset), or null.
    /// </summary>
    public string? Detail { get; }

    /// <summary>Throws <see cref="NvmeException"/> unless the command succeeded.</summary>
    public void ThrowIfFailed()
    {
        if (!Status.IsSuccess)
            throw ToException();
    }

    /// <summary>The exception describing this failed result.</summary>
    public NvmeException ToException() => new(Status, Opcode, isAdmin: false, NamespaceId, StartLba, BlockCount, Detail);
}

/// <summary>
/// Completion callback: called on the thread that polls the queue pair, with the state object
/// given at submission (pass a static lambda and a state object: no closure, no allocation).
/// </summary>
public delegate void IoCompletionCallback(object? state, in IoResult result);
