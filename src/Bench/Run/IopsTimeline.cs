namespace PolledNvme.Bench.Run;

/// <summary>
/// Completions per time bucket, for the IOPS-over-time plot. A fixed array: when a run outlasts
/// it, neighbouring buckets merge and the width doubles, so recording never allocates.
/// </summary>
public sealed class IopsTimeline
{
    private readonly long[] _counts;
    private long _startTicks;

    /// <summary>Creates a timeline of <paramref name="capacity"/> buckets of <paramref name="bucketWidth"/>.</summary>
    public IopsTimeline(TimeSpan bucketWidth, int capacity = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bucketWidth, TimeSpan.Zero);
        _counts = new long[capacity];
        BucketTicks = Math.Max(1, (long)(bucketWidth.TotalSeconds * System.Diagnostics.Stopwatch.Frequency));
    }

    /// <summary>Width of one bucket in Stopwatch ticks.</summary>
    public long BucketTicks { get; private set; }
    /// <summary>Number of buckets used so far.</summary>
    public int Length { get; private set; }

    /// <summary>Starts (or restarts) the timeline at <paramref name="startTicks"/>.</summary>
    public void Start(long startTicks)
    {
        _startTicks = startTicks;
        Array.Clear(_counts);
        Length = 0;
    }

    /// <summary>Counts one completion at <paramref name="nowTicks"/>.</summary>
    public void Record(long nowTicks)
    {
        long index = (nowTicks - _startTicks) / BucketTicks;
        if (index < 0) return;
        while (index >= _counts.Length)
        {
            Coarsen();
            index = (nowTicks - _startTicks) / BucketTicks;
        }
        _counts[index]++;
        if (index >= Length) Length = (int)index + 1;
    }

    /// <summary>IOPS of each bucket.</summary>
    public double[] ToIops()
    {
        var iops = new double[Length];
        double seconds = (double)BucketTicks / System.Diagnostics.Stopwatch.Frequency;
        for (int i = 0; i < Length; i++) iops[i] = _counts[i] / seconds;
        return iops;
    }

    /// <summary>Seconds per bucket.</summary>
    public double BucketSeconds => (double)BucketTicks / System.Diagnostics.Stopwatch.Frequency;

    /// <summary>Adds <paramref name="other"/> (same start) into this one, bucket by bucket.</summary>
    public void Add(IopsTimeline other)
    {
        while (BucketTicks < other.BucketTicks) Coarsen();
        long ratio = BucketTicks / other.BucketTicks;
        for (int i = 0; i < other.Length; i++)
        {
            long index = i / ratio;
            if (index >= _counts.Length) break;
            _counts[index] += other._counts[i];
            if (index >= Length) Length = (int)index + 1;
        }
    }

    private void Coarsen()
    {
        int half = _counts.Length / 2;
        for (int i = 0; i < half; i++) _counts[i] = _counts[2 * i] + _counts[2 * i + 1];
        Array.Clear(_counts, half, _counts.Length - half);
        Length = (Length + 1) / 2;
        BucketTicks *= 2;
    }
}
