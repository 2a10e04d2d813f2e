namespace PolledNvme.Uring;

/// <summary>
/// Parameters of one io_uring instance. Optional kernel features (SQPOLL aside) are
/// requested and silently dropped when the kernel rejects them; <c>UringRing.AppliedFlags</c>
/// says what was granted.
/// </summary>
public sealed record UringRingOptions
{
    /// <summary>Submission queue entries (1..32768, rounded up to a power of two by the kernel).</summary>
    public uint SqEntries { get; init; } = 64;

    /// <summary>
    /// Completion queue entries (IORING_SETUP_CQSIZE); 0 means the kernel's default of twice
    /// <see cref="SqEntries"/>. Must be at least <see cref="SqEntries"/> and at most 65536.
    /// The ring never lets more operations be in flight than this.
    /// </summary>
    public uint CqEntries { get; init; }

    /// <summary>A kernel thread polls the SQ (IORING_SETUP_SQPOLL); costs a core while busy.</summary>
    public bool SqPoll { get; init; }

    /// <summary>Idle time after which the SQPOLL thread sleeps, in milliseconds.</summary>
    public uint SqPollIdleMilliseconds { get; init; } = 1000;

    /// <summary>
    /// Ask for IORING_SETUP_SINGLE_ISSUER (6.0+) and, with it, IORING_SETUP_DEFER_TASKRUN
    /// (6.1+). Only the thread that created the ring may then submit to it, which is this
    /// project's rule anyway (one ring per thread). Dropped if the kernel refuses.
    /// </summary>
    public bool SingleIssuer { get; init; } = true;

    /// <summary>Ask for IORING_SETUP_COOP_TASKRUN (5.19+): no interrupting IPIs for task work.</summary>
    public bool CooperativeTaskRun { get; init; } = true;

    /// <summary>
    /// Ask for IORING_SETUP_TASKRUN_FLAG (5.19) with the cooperative or deferred task run: the
    /// kernel then flags when completions wait for this thread to enter the kernel
    /// (<c>UringRing.TaskWorkPending</c>), so a poller enters only when that is so. Dropped if
    /// the kernel refuses.
    /// </summary>
    public bool TaskRunFlag { get; init; }

    internal void Validate()
    {
        if (SqEntries is 0 or > UringAbi.MaxSqEntries)
            throw new ArgumentOutOfRangeException(nameof(SqEntries), SqEntries,
                $"SqEntries must be between 1 and {UringAbi.MaxSqEntries} (IORING_MAX_ENTRIES).");
        if (CqEntries != 0 && (CqEntries < SqEntries || CqEntries > UringAbi.MaxCqEntries))
            throw new ArgumentOutOfRangeException(nameof(CqEntries), CqEntries,
                $"CqEntries must be 0 (twice SqEntries) or between SqEntries ({SqEntries}) and {UringAbi.MaxCqEntries} (IORING_MAX_CQ_ENTRIES).");
    }
}
