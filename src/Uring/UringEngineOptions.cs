namespace PolledNvme.Uring;

/// <summary>
/// What <see cref="UringFileEngine"/> does: which file or block device, buffered or O_DIRECT,
/// block size, queue depth, submission batch, random or sequential, and the read/write mix.
/// The defaults are fio's <c>--rw=randread --bs=4k --iodepth=32</c> over the whole file.
/// </summary>
public sealed record UringEngineOptions
{
    /// <summary>A regular file or a block device; it must exist (see <see cref="UringFileEngine.PrepareFile"/>).</summary>
    public required string Path { get; init; }

    /// <summary>Open with O_DIRECT (bypass the page cache). Buffers are always 4 KiB aligned.</summary>
    public bool Direct { get; init; }

    /// <summary>Bytes per I/O (fio <c>--bs</c>); a multiple of 512, and of the device's logical block size with O_DIRECT.</summary>
    public int BlockSize { get; init; } = 4096;

    /// <summary>Operations kept in flight (fio <c>--iodepth</c>), 1..4096.</summary>
    public int QueueDepth { get; init; } = 32;

    /// <summary>
    /// SQEs prepared before one io_uring_enter hands them over (fio <c>--iodepth_batch_submit</c>);
    /// 0 means <see cref="QueueDepth"/>. Completions are reaped as soon as at least one is ready.
    /// </summary>
    public int BatchSize { get; init; }

    /// <summary>Random offsets (fio <c>randread</c>/<c>randwrite</c>/<c>randrw</c>) or sequential ones that wrap at the end.</summary>
    public bool Random { get; init; } = true;

    /// <summary>Percentage of reads, 0..100 (fio <c>--rwmixread</c>): 100 = read only, 0 = write only.</summary>
    public int ReadPercent { get; init; } = 100;

    /// <summary>Start of the region used, in bytes (fio <c>--offset</c>); a multiple of <see cref="BlockSize"/>.</summary>
    public long Offset { get; init; }

    /// <summary>Bytes of the region used (fio <c>--size</c>); 0 means from <see cref="Offset"/> to the end of the file or device.</summary>
    public long Size { get; init; }

    /// <summary>Seed of the offset and mix generator, so runs are repeatable.</summary>
    public ulong Seed { get; init; } = 0x9E3779B97F4A7C15;

    /// <summary>Register the data buffers (READ_FIXED / WRITE_FIXED; fio <c>--fixedbufs</c>).</summary>
    public bool RegisterBuffers { get; init; } = true;

    /// <summary>Register the file (IOSQE_FIXED_FILE; fio <c>--registerfiles</c>).</summary>
    public bool RegisterFile { get; init; } = true;

    /// <summary>Let a kernel thread poll the SQ (fio <c>--sqthread_poll</c>); costs a core.</summary>
    public bool SqPoll { get; init; }

    internal int EffectiveBatch => BatchSize == 0 ? QueueDepth : BatchSize;

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(Path);
        if (BlockSize < 512 || BlockSize % 512 != 0 || BlockSize > 16 << 20)
            throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize, "BlockSize must be a multiple of 512 between 512 B and 16 MiB.");
        if (QueueDepth is < 1 or > 4096)
            throw new ArgumentOutOfRangeException(nameof(QueueDepth), QueueDepth, "QueueDepth must be between 1 and 4096.");
        if (BatchSize < 0 || BatchSize > QueueDepth)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"BatchSize must be 0 (= QueueDepth) or between 1 and QueueDepth ({QueueDepth}).");
        if (ReadPercent is < 0 or > 100)
            throw new ArgumentOutOfRangeException(nameof(ReadPercent), ReadPercent, "ReadPercent must be between 0 and 100.");
        if (Offset < 0 || Offset % BlockSize != 0)
            throw new ArgumentOutOfRangeException(nameof(Offset), Offset, $"Offset must be a non-negative multiple of BlockSize ({BlockSize}).");
        if (Size < 0)
            throw new ArgumentOutOfRangeException(nameof(Size), Size, "Size must be 0 (to the end) or positive.");
    }
}

/// <summary>Receives the latency of each completed I/O (called on the engine's thread, per I/O: keep it allocation-free).</summary>
public interface IUringLatencySink
{
    /// <summary>One I/O finished <paramref name="nanoseconds"/> after it was handed to the kernel.</summary>
    void Record(bool isWrite, long nanoseconds);
}

/// <summary>What one <see cref="UringFileEngine.Run"/> did.</summary>
public readonly record struct UringRunResult
{
    /// <summary>Completed reads.</summary>
    public long Reads { get; init; }

    /// <summary>Completed writes.</summary>
    public long Writes { get; init; }

    /// <summary>Bytes read.</summary>
    public long BytesRead { get; init; }

    /// <summary>Bytes written.</summary>
    public long BytesWritten { get; init; }

    /// <summary>Wall time of the run, from the first submission to the last completion.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>User CPU time of the running thread during the run.</summary>
    public TimeSpan UserCpu { get; init; }

    /// <summary>System CPU time of the running thread during the run (includes the kernel's work done inline for io_uring).</summary>
    public TimeSpan SystemCpu { get; init; }

    /// <summary>io_uring_enter calls made.</summary>
    public long EnterCalls { get; init; }

    /// <summary>The setup flags the kernel granted the ring (e.g. <c>SubmitAll, CoopTaskRun, SingleIssuer, DeferTaskRun</c>).</summary>
    public string RingFlags { get; init; }

    /// <summary>Completed I/Os.</summary>
    public long Ios => Reads + Writes;

    /// <summary>I/Os per second.</summary>
    public double Iops => Elapsed > TimeSpan.Zero ? Ios / Elapsed.TotalSeconds : 0;

    /// <summary>CPU time (user + system) per I/O, in nanoseconds.</summary>
    public double CpuNanosecondsPerIo => Ios > 0 ? (UserCpu + SystemCpu).TotalNanoseconds / Ios : 0;
}
