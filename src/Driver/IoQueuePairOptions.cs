namespace PolledNvme.Driver;

/// <summary>
/// How an I/O queue pair is created (<see cref="NvmeController.CreateIoQueuePair(IoQueuePairOptions)"/>).
/// The defaults are the plain polled queue pair: no software queue (a full pair refuses a command
/// with <see cref="PolledNvme.Queues.QueueFullException"/>, or false from a Try form) and no
/// splitting (a transfer beyond MDTS is refused with an error that says how to split it).
/// </summary>
public sealed record IoQueuePairOptions
{
    /// <summary>Most commands a software queue can hold; the limit of <see cref="SoftwareQueueDepth"/>.</summary>
    public const int MaxSoftwareQueueDepth = 16384;

    /// <summary>Queue entries (SQ and CQ); the depth is entries - 1. 2..CAP.MQES + 1, default 128.</summary>
    public int Entries { get; init; } = 128;

    /// <summary>
    /// Commands (Read, Write, Compare, Verify, Write Zeroes) that may wait in a software queue
    /// when every request slot is in use, 0..<see cref="MaxSoftwareQueueDepth"/>; default 0 (off).
    /// A waiting command is submitted from <see cref="IoQueuePair.ProcessCompletions"/> as slots
    /// free up, in submission order; its storage is preallocated (no allocation per command).
    /// When the software queue is full too, the plain forms throw
    /// <see cref="PolledNvme.Queues.QueueFullException"/> and the Try forms return false.
    /// </summary>
    public int SoftwareQueueDepth { get; init; }

    /// <summary>
    /// Split a Read, Write or Compare larger than <see cref="IoQueuePair.MaxTransferBytes"/>
    /// (MDTS and the transport's limit), a Read, Write or Compare crossing the namespace's optimal
    /// I/O boundary (<see cref="Namespace.OptimalIoBoundary"/>), and any of those or a Verify or
    /// Write Zeroes of more than 65536 blocks (NLB) into several commands with one completion.
    /// Default false: such a command is refused with an error that says how to split it.
    /// </summary>
    public bool SplitLargeTransfers { get; init; }

    /// <summary>
    /// How the pair waits for completions (<see cref="Driver.PollMode"/>); null (the default)
    /// takes <see cref="NvmeControllerOptions.PollMode"/>. <see cref="Driver.PollMode.Adaptive"/> and
    /// <see cref="Driver.PollMode.Interrupt"/> create its completion queue with interrupts.
    /// </summary>
    public PollMode? PollMode { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range.</summary>
    internal void Validate(int maxEntries)
    {
        if (Entries < 2 || Entries > maxEntries)
            throw new ArgumentOutOfRangeException(nameof(Entries), $"I/O queue size must be 2..{maxEntries} (CAP.MQES + 1); got {Entries}.");
        if (SoftwareQueueDepth is < 0 or > MaxSoftwareQueueDepth)
            throw new ArgumentOutOfRangeException(nameof(SoftwareQueueDepth), $"SoftwareQueueDepth must be 0 (off)..{MaxSoftwareQueueDepth}; got {SoftwareQueueDepth}.");
        if (PollMode is { } mode && !Enum.IsDefined(mode))
            throw new ArgumentOutOfRangeException(nameof(PollMode), $"Poll mode {(int)mode} is not one of Spin, Adaptive, Interrupt.");
    }
}
