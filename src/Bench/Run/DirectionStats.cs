using System.Runtime.CompilerServices;
using PolledNvme.Bench.Engines;

namespace PolledNvme.Bench.Run;

/// <summary>
/// Counters of one direction (read, write or trim) of one job: I/O and byte counts, fio's
/// three latencies (submission, completion, total), bandwidth and IOPS samples, errors by kind.
/// Written only by the job's thread (the samples by the runner, while the job is paused at
/// nothing: they are separate fields); <see cref="Record"/> does not allocate.
/// </summary>
public sealed class DirectionStats
{
    /// <summary>
    /// Creates the counters for what is measured; completion latency always with a histogram
    /// (percentiles, bins, latency buckets, the plot), submission and total latency with one only
    /// when their percentiles are reported (fio's slat_percentiles, lat_percentiles).
    /// </summary>
    public DirectionStats(bool slat = true, bool clat = true, bool lat = true, bool slatHistogram = true, bool latHistogram = true)
    {
        Slat = slat ? new LatencyStats(slatHistogram) : null;
        Clat = clat ? new LatencyStats() : null;
        Lat = lat ? new LatencyStats(latHistogram) : null;
    }

    /// <summary>The counters one job needs for direction <paramref name="direction"/>.</summary>
    public static DirectionStats For(Options.BenchOptions o, int direction)
    {
        bool issued = o.Issues(direction);
        return new DirectionStats(o.MeasureSlat && issued, o.MeasureClat && issued, o.MeasureLat && issued, o.SlatPercentiles, o.LatPercentiles);
    }

    /// <summary>Submission latency (fio's slat): from the start of the submit to the command on the device (doorbell rung, or the io_uring_enter that submits it).</summary>
    public LatencyStats? Slat { get; }
    /// <summary>Completion latency (fio's clat): from the command on the device to its completion reaped.</summary>
    public LatencyStats? Clat { get; }
    /// <summary>Total latency (fio's lat = slat + clat).</summary>
    public LatencyStats? Lat { get; }
    /// <summary>Bandwidth samples in KiB/s (fio's bw_stat).</summary>
    public SampleStats Bandwidth { get; } = new();
    /// <summary>IOPS samples (fio's iops_stat).</summary>
    public SampleStats IopsSamples { get; } = new();
    /// <summary>Completed I/Os (successful or not).</summary>
    public long Ios { get; private set; }
    /// <summary>Bytes moved by successful I/Os.</summary>
    public long Bytes { get; private set; }
    /// <summary>Errors by <see cref="IoResultKind"/> (index 0, Ok, stays 0).</summary>
    public long[] ErrorsByKind { get; } = new long[(int)IoResultKind.OtherError + 1];
    /// <summary>Blocks whose data did not match the <c>--verify</c> pattern.</summary>
    public long VerifyErrors { get; private set; }

    /// <summary>Completion latency, or an empty one when it was not measured.</summary>
    public LatencyStats ClatOrEmpty => Clat ?? Empty;
    private static readonly LatencyStats Empty = new();

    /// <summary>Records one completion: its submission and completion latencies in ns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(long slatNs, long clatNs, int bytes, IoResultKind kind)
    {
        Slat?.Record(slatNs);
        Clat?.Record(clatNs);
        Lat?.Record(slatNs + clatNs);
        Ios++;
        if (kind == IoResultKind.Ok) Bytes += bytes;
        else ErrorsByKind[(int)kind]++;
    }

    /// <summary>Counts one block that failed the pattern check.</summary>
    public void RecordVerifyError() => VerifyErrors++;

    /// <summary>PI errors (guard, app, ref, storage) of any origin.</summary>
    public long PiErrors => ErrorsByKind[(int)IoResultKind.GuardError] + ErrorsByKind[(int)IoResultKind.AppTagError]
        + ErrorsByKind[(int)IoResultKind.RefTagError] + ErrorsByKind[(int)IoResultKind.StorageTagError];

    /// <summary>Failed I/Os that were not PI errors.</summary>
    public long OtherErrors => ErrorsByKind[(int)IoResultKind.OtherError];

    /// <summary>Clears everything (end of the ramp).</summary>
    public void Reset()
    {
        Slat?.Reset();
        Clat?.Reset();
        Lat?.Reset();
        Bandwidth.Reset();
        IopsSamples.Reset();
        Ios = 0;
        Bytes = 0;
        Array.Clear(ErrorsByKind);
        VerifyErrors = 0;
    }

    /// <summary>Adds <paramref name="other"/> into this one (group and all-jobs totals); rate samples add up as fio's group sum.</summary>
    public void Add(DirectionStats other)
    {
        if (other.Slat is not null) Slat?.Add(other.Slat);
        if (other.Clat is not null) Clat?.Add(other.Clat);
        if (other.Lat is not null) Lat?.Add(other.Lat);
        Bandwidth.Merge(other.Bandwidth, pureSum: true);
        IopsSamples.Merge(other.IopsSamples, pureSum: true);
        Ios += other.Ios;
        Bytes += other.Bytes;
        for (int i = 0; i < ErrorsByKind.Length; i++) ErrorsByKind[i] += other.ErrorsByKind[i];
        VerifyErrors += other.VerifyErrors;
    }
}

/// <summary>
/// fio's depth distributions of one job: commands in flight when each was submitted
/// (<c>iodepth_level</c>), commands per submission call (<c>iodepth_submit</c>) and per reaping
/// call that found completions (<c>iodepth_complete</c>), in fio's seven buckets.
/// </summary>
public sealed class DepthStats
{
    /// <summary>In-flight depth at submission: 1, 2, 4, 8, 16, 32, >=64.</summary>
    public long[] Level { get; } = new long[7];
    /// <summary>Submissions per call: 0, 4, 8, 16, 32, 64, >=64 (fio's labels; 1-4 count as 4).</summary>
    public long[] Submit { get; } = new long[7];
    /// <summary>Completions per reap: as <see cref="Submit"/>.</summary>
    public long[] Complete { get; } = new long[7];
    /// <summary>Submission calls counted.</summary>
    public long SubmitCalls { get; private set; }
    /// <summary>Reaping calls counted.</summary>
    public long CompleteCalls { get; private set; }

    /// <summary>One command submitted with <paramref name="inFlight"/> in flight (itself included).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RecordDepth(int inFlight) => Level[LevelIndex(inFlight)]++;

    /// <summary>One submission call that submitted <paramref name="count"/> commands.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RecordSubmit(int count)
    {
        Submit[BatchIndex(count)]++;
        SubmitCalls++;
    }

    /// <summary>One reaping call that reaped <paramref name="count"/> completions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RecordComplete(int count)
    {
        Complete[BatchIndex(count)]++;
        CompleteCalls++;
    }

    // fio's io_u_mark_depth buckets: 1, 2-3, 4-7, 8-15, 16-31, 32-63, >=64.
    private static int LevelIndex(int depth) => depth switch
    {
        <= 1 => 0,
        < 4 => 1,
        < 8 => 2,
        < 16 => 3,
        < 32 => 4,
        < 64 => 5,
        _ => 6,
    };

    // fio's __io_u_mark_map buckets: 0, 1-4, 5-8, 9-16, 17-32, 33-64, >64.
    private static int BatchIndex(int count) => count switch
    {
        0 => 0,
        <= 4 => 1,
        <= 8 => 2,
        <= 16 => 3,
        <= 32 => 4,
        <= 64 => 5,
        _ => 6,
    };

    /// <summary>Clears everything (end of the ramp).</summary>
    public void Reset()
    {
        Array.Clear(Level);
        Array.Clear(Submit);
        Array.Clear(Complete);
        SubmitCalls = 0;
        CompleteCalls = 0;
    }

    /// <summary>Adds <paramref name="other"/>.</summary>
    public void Add(DepthStats other)
    {
        for (int i = 0; i < 7; i++)
        {
            Level[i] += other.Level[i];
            Submit[i] += other.Submit[i];
            Complete[i] += other.Complete[i];
        }
        SubmitCalls += other.SubmitCalls;
        CompleteCalls += other.CompleteCalls;
    }
}
