using HdrHistogram;
using PolledNvme.Bench.Engines;

namespace PolledNvme.Bench.Run;

/// <summary>
/// Counters of one direction (reads or writes) of one job: completion latencies in an
/// HdrHistogram (ns, 3 significant digits), I/O and byte counts, min/max, errors by kind.
/// Written only by the job's thread; <see cref="Record"/> does not allocate.
/// </summary>
public sealed class DirectionStats
{
    /// <summary>Highest latency the histogram tracks: 1 hour in ns; longer ones are clamped.</summary>
    public const long HighestTrackableNs = 3_600_000_000_000;

    /// <summary>Completion latencies in ns.</summary>
    public LongHistogram Latency { get; } = new(1, HighestTrackableNs, 3);
    /// <summary>Completed I/Os (successful or not).</summary>
    public long Ios { get; private set; }
    /// <summary>Bytes moved by successful I/Os.</summary>
    public long Bytes { get; private set; }
    /// <summary>Smallest latency seen (ns), long.MaxValue when none.</summary>
    public long MinNs { get; private set; } = long.MaxValue;
    /// <summary>Largest latency seen (ns).</summary>
    public long MaxNs { get; private set; }
    /// <summary>Errors by <see cref="IoResultKind"/> (index 0, Ok, stays 0).</summary>
    public long[] ErrorsByKind { get; } = new long[(int)IoResultKind.OtherError + 1];
    /// <summary>Blocks whose data did not match the <c>--verify</c> pattern.</summary>
    public long VerifyErrors { get; private set; }

    /// <summary>Records one completion.</summary>
    public void Record(long latencyNs, int bytes, IoResultKind kind)
    {
        if (latencyNs < 1) latencyNs = 1;
        if (latencyNs > HighestTrackableNs) latencyNs = HighestTrackableNs;
        Latency.RecordValue(latencyNs);
        Ios++;
        if (latencyNs < MinNs) MinNs = latencyNs;
        if (latencyNs > MaxNs) MaxNs = latencyNs;
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
        Latency.Reset();
        Ios = 0;
        Bytes = 0;
        MinNs = long.MaxValue;
        MaxNs = 0;
        Array.Clear(ErrorsByKind);
        VerifyErrors = 0;
    }

    /// <summary>Adds <paramref name="other"/> into this one (for the all-jobs total).</summary>
    public void Add(DirectionStats other)
    {
        Latency.Add(other.Latency);
        Ios += other.Ios;
        Bytes += other.Bytes;
        MinNs = Math.Min(MinNs, other.MinNs);
        MaxNs = Math.Max(MaxNs, other.MaxNs);
        for (int i = 0; i < ErrorsByKind.Length; i++) ErrorsByKind[i] += other.ErrorsByKind[i];
        VerifyErrors += other.VerifyErrors;
    }
}
