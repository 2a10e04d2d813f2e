using PolledNvme.Uring;

namespace PolledNvme.Emulation;

/// <summary>
/// Page-cache writes done on the device thread (pwrite) instead of in the ring. A buffered
/// write into the page cache is a memory copy the kernel does in the calling thread, but
/// io_uring can only do it there when the file system takes nonblocking buffered writes (ext4
/// does not): otherwise every one goes to an io-wq worker thread, a hand-off and a wake-up
/// per write, and on a machine with few cores that thread competes with the device and the
/// host for a core. Done inline, the write costs its copy and one system call. Its completion
/// is queued like the ring's and handled in the same pass, so the command's life is the same;
/// a write's metadata still ends before its data starts (a short or failed metadata write
/// cancels the data write, as the ring's link does). Writes with Force Unit Access, O_DIRECT
/// data and every read stay in the ring. The price: a write the page cache throttles (dirty
/// limits) stalls the device for that time, as a drive with a full write buffer does.
/// </summary>
internal sealed unsafe partial class AsyncMedia
{
    // Completions of inline writes, handled by the next Reap: at most the completion room the
    // active commands reserved (TryReserveSlots), so a ring buffer of the ring's CQ size holds them.
    private readonly (ulong UserData, int Result)[] _inlineDone = new (ulong, int)[RingCqEntries];
    private uint _inlineHead, _inlineTail;
    private bool _chainBroken;   // the current command's metadata write fell short: its data write is cancelled

    /// <summary>Test seam: whether page-cache writes are done on the device thread (default) or all go to the ring.</summary>
    internal bool InlineBufferedWrites { get; set; } = true;

    /// <summary>Test seam: writes done inline so far.</summary>
    internal long InlineWrites { get; private set; }

    /// <summary>
    /// Test seam, asked with each inline write's file offset and length before it is made: 0
    /// writes it; a positive count writes at most that many bytes (a short write); a negative
    /// value fails it with that negated errno, writing nothing.
    /// </summary>
    internal Func<long, int, int>? InlineWriteFault { get; set; }

    private bool HasInlineDone => _inlineHead != _inlineTail;

    /// <summary>Starts a command's transfer: nothing of an earlier command's chain carries over.</summary>
    private void BeginChain() => _chainBroken = false;

    /// <summary>Whether this part's write goes inline: a page-cache write without Force Unit Access, while submissions are not held.</summary>
    private bool GoesInline(MediaCommand m, bool write, bool direct)
        => write && !direct && InlineBufferedWrites && !m.Block.Fua && !HoldSubmissions;

    /// <summary>
    /// Writes a part with pwrite now and queues its completion (a negated errno on failure);
    /// with <paramref name="link"/>, anything short of the whole part cancels the next part.
    /// </summary>
    private void WriteInline(MediaCommand m, ref MediaPart part, ulong userData, bool link)
    {
        var file = m.Block.Ns.AsyncFile!;
        int length = part.Length - part.Done;
        int fault = InlineWriteFault?.Invoke(part.Offset + part.Done, length) ?? 0;
        int result = fault < 0 ? fault : file.WriteBufferedNow(part.Buffer + part.Done, fault > 0 ? Math.Min(fault, length) : length, part.Offset + part.Done);
        if (link && result != length)
            _chainBroken = true;
        InlineWrites++;
        QueueInline(ref part, userData, result);
    }

    /// <summary>The part is not started because the write it was linked behind fell short or failed.</summary>
    private void CancelInline(ref MediaPart part, ulong userData) => QueueInline(ref part, userData, -Errno.ECANCELED);

    private void QueueInline(ref MediaPart part, ulong userData, int result)
    {
        _inlineDone[_inlineTail++ & (RingCqEntries - 1)] = (userData, result);
        part.InFlight++;
    }

    /// <summary>Hands every queued inline completion to its command (resubmissions may queue more; they are handled too).</summary>
    private int ReapInline()
    {
        int n = 0;
        while (_inlineHead != _inlineTail)
        {
            var (userData, result) = _inlineDone[_inlineHead++ & (RingCqEntries - 1)];
            OnCompletion(userData, result);
            n++;
        }
        return n;
    }
}
