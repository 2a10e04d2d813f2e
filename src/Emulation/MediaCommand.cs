using PolledNvme.Driver.Spec;
using PolledNvme.Emulation.Media;
using PolledNvme.Queues;

namespace PolledNvme.Emulation;

/// <summary>Where a <see cref="MediaCommand"/> is in its life.</summary>
internal enum MediaCommandState : byte
{
    /// <summary>In the pool.</summary>
    Free,
    /// <summary>Fetched, waiting in the device for a media buffer or ring room (in order of arrival).</summary>
    Waiting,
    /// <summary>Its media I/O is in flight (or a Flush waits for the writes before it).</summary>
    Active,
    /// <summary>Done; its completion waits for room in its completion queue.</summary>
    Posting,
}

/// <summary>
/// One part of a command's media I/O: a contiguous range of the file moved to or from the
/// command's media buffer (its data, or its metadata), resumed after a short transfer.
/// </summary>
internal unsafe struct MediaPart
{
    public long Offset;
    public int Length;
    public int Done;
    public byte* Buffer;
    /// <summary>Operations of this part in the ring now (0 or 1).</summary>
    public int InFlight;

    public readonly bool Complete => Done == Length;
    public readonly bool Used => Length != 0;
}

/// <summary>
/// A command on the asynchronous media path, from fetch to completion: its submission entry,
/// its decoded form, its media buffer (a run of <see cref="MediaBufferArena"/> pages) and the
/// progress of its media I/O. Pooled by <see cref="AsyncMedia"/>; an io_uring operation names
/// it by <see cref="Index"/> (its user data), so a completion finds it without a lookup.
/// </summary>
internal sealed class MediaCommand(int index)
{
    /// <summary>Position in the pool; the upper bits of its operations' user data.</summary>
    public readonly int Index = index;

    public MediaCommandState State;
    public SubmissionEntry Entry;
    public EmulatedSubmissionQueue Sq = null!;
    public BlockCommand Block;

    /// <summary>The run of arena pages it holds (<see cref="Pages"/> = 0: none).</summary>
    public int FirstPage, Pages;

    /// <summary>Its place in the media path's list of active commands (-1 when not active).</summary>
    public int ActiveSlot = -1;

    /// <summary>Ring completion entries reserved for its operations while it is active.</summary>
    public int ReservedSlots;

    /// <summary>The current media transfer: metadata and data (a part of length 0 is not used).</summary>
    public MediaPart Metadata, Data;

    /// <summary>Verify: blocks checked so far, blocks of the current chunk.</summary>
    public int ChunkStart, ChunkBlocks;

    /// <summary>Writes: issue order, for Flush (every write with a smaller ticket comes before a Flush with a larger barrier).</summary>
    public long Ticket;

    /// <summary>Flush: the ticket barrier and how many earlier writes it still waits for.</summary>
    public long FlushBarrier;
    public int FlushWaits;

    /// <summary>The first media failure: errno (0: a short write), what and where.</summary>
    public bool Failed;
    public int Errno;
    public MediaOperation FailedOperation;
    public long FailedOffset, FailedLength;

    /// <summary>The completion: status, DW0, the LBA for the error log and the text for the host.</summary>
    public NvmeStatus Status;
    public uint Result;
    public ulong ErrorLba;
    public string? Detail;

    /// <summary>An injected completion fault taken when the command was fetched: dropped, or delayed.</summary>
    public bool HasCompletionFault;
    public bool DropCompletion;
    public TimeSpan DelayCompletion;

    /// <summary>Next in the list it is on (waiting, posting or pending flushes).</summary>
    public MediaCommand? Next;

    public bool IsWrite => Block.Opcode == NvmOpcode.Write;

    /// <summary>Records a media failure (the first one counts).</summary>
    public void Fail(MediaOperation operation, int errno, long offset, long length)
    {
        if (Failed)
            return;
        Failed = true;
        Errno = errno;
        FailedOperation = operation;
        FailedOffset = offset;
        FailedLength = length;
    }

    /// <summary>Clears what one use left behind (the pool hands it out again).</summary>
    public void Reset()
    {
        State = MediaCommandState.Free;
        Sq = null!;
        Block = default;
        FirstPage = Pages = ReservedSlots = 0;
        ActiveSlot = -1;
        Metadata = Data = default;
        ChunkStart = ChunkBlocks = 0;
        Ticket = FlushBarrier = 0;
        FlushWaits = 0;
        Failed = false;
        Errno = 0;
        FailedOffset = FailedLength = 0;
        Status = default;
        Result = 0;
        ErrorLba = 0;
        Detail = null;
        HasCompletionFault = DropCompletion = false;
        DelayCompletion = TimeSpan.Zero;
        Next = null;
    }
}
