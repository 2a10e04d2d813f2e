using System.Diagnostics;

namespace PolledNvme.Bench.Run;

/// <summary>
/// Completions over time per direction, for the plot: I/Os, bytes, and the sum and maximum of
/// total latency in each time bucket. Fixed arrays: when a run outlasts them, neighbouring
/// buckets merge and the width doubles, so recording never allocates.
/// </summary>
public sealed class RunTimeline
{
    private readonly long[][] _ios = new long[3][];
    private readonly long[][] _bytes = new long[3][];
    private readonly long[][] _latencySum = new long[3][];
    private readonly long[][] _latencyMax = new long[3][];
    private readonly int _capacity;
    private long _startTicks;

    /// <summary>Creates a timeline of <paramref name="capacity"/> buckets of <paramref name="bucketWidth"/>.</summary>
    public RunTimeline(TimeSpan bucketWidth, int capacity = 2048)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bucketWidth, TimeSpan.Zero);
        _capacity = capacity;
        for (int d = 0; d < 3; d++)
        {
            _ios[d] = new long[capacity];
            _bytes[d] = new long[capacity];
            _latencySum[d] = new long[capacity];
            _latencyMax[d] = new long[capacity];
        }
        BucketTicks = Math.Max(1, (long)(bucketWidth.TotalSeconds * Stopwatch.Frequency));
    }

    /// <summary>Width of one bucket in Stopwatch ticks.</summary>
    public long BucketTicks { get; private set; }
    /// <summary>Number of buckets used so far.</summary>
    public int Length { get; private set; }
    /// <summary>Seconds per bucket.</summary>
    public double BucketSeconds => (double)BucketTicks / Stopwatch.Frequency;

    /// <summary>Starts (or restarts) the timeline at <paramref name="startTicks"/>.</summary>
    public void Start(long startTicks)
    {
        _startTicks = startTicks;
        for (int d = 0; d < 3; d++)
        {
            Array.Clear(_ios[d]);
            Array.Clear(_bytes[d]);
            Array.Clear(_latencySum[d]);
            Array.Clear(_latencyMax[d]);
        }
        Length = 0;
    }

    /// <summary>Counts one completion of <paramref name="direction"/> at <paramref name="nowTicks"/>.</summary>
    public void Record(long nowTicks, int direction, int bytes, long latencyNs)
    {
        long index = (nowTicks - _startTicks) / BucketTicks;
        if (index < 0) return;
        while (index >= _capacity)
        {
            Coarsen();
            index = (nowTicks - _startTicks) / BucketTicks;
        }
        _ios[direction][index]++;
        _bytes[direction][index] += bytes;
        _latencySum[direction][index] += latencyNs;
        if (latencyNs > _latencyMax[direction][index]) _latencyMax[direction][index] = latencyNs;
        if (index >= Length) Length = (int)index + 1;
    }

    /// <summary>IOPS of <paramref name="direction"/> in each bucket.</summary>
    public double[] Iops(int direction) => Per(direction, _ios, (ios, _) => ios / BucketSeconds);

    /// <summary>Bytes per second of <paramref name="direction"/> in each bucket.</summary>
    public double[] BytesPerSecond(int direction) => Per(direction, _bytes, (bytes, _) => bytes / BucketSeconds);

    /// <summary>Mean total latency (ns) of <paramref name="direction"/> in each bucket; NaN where none completed.</summary>
    public double[] MeanLatencyNs(int direction) => Per(direction, _latencySum, (sum, i) => _ios[direction][i] == 0 ? double.NaN : (double)sum / _ios[direction][i]);

    /// <summary>Largest total latency (ns) of <paramref name="direction"/> in each bucket; NaN where none completed.</summary>
    public double[] MaxLatencyNs(int direction) => Per(direction, _latencyMax, (max, i) => _ios[direction][i] == 0 ? double.NaN : max);

    /// <summary>I/Os of <paramref name="direction"/> recorded in all buckets.</summary>
    public long TotalIos(int direction) => _ios[direction].Sum();

    private double[] Per(int direction, long[][] source, Func<long, int, double> f)
    {
        var result = new double[Length];
        for (int i = 0; i < Length; i++) result[i] = f(source[direction][i], i);
        return result;
    }

    /// <summary>Adds <paramref name="other"/>, which started <paramref name="offsetTicks"/> after this one (0: the same start), bucket by bucket.</summary>
    public void Add(RunTimeline other, long offsetTicks = 0)
    {
        while (BucketTicks < other.BucketTicks) Coarsen();
        long lastTicks = offsetTicks + other.Length * other.BucketTicks;
        while (lastTicks / BucketTicks >= _capacity) Coarsen();
        for (int i = 0; i < other.Length; i++)
        {
            long index = (offsetTicks + i * other.BucketTicks) / BucketTicks;
            if (index >= _capacity || index < 0) continue;
            for (int d = 0; d < 3; d++)
            {
                _ios[d][index] += other._ios[d][i];
                _bytes[d][index] += other._bytes[d][i];
                _latencySum[d][index] += other._latencySum[d][i];
                _latencyMax[d][index] = Math.Max(_latencyMax[d][index], other._latencyMax[d][i]);
            }
            if (index >= Length) Length = (int)index + 1;
        }
    }

    private void Coarsen()
    {
        int half = _capacity / 2;
        for (int d = 0; d < 3; d++)
        {
            for (int i = 0; i < half; i++)
            {
                _ios[d][i] = _ios[d][2 * i] + _ios[d][2 * i + 1];
                _bytes[d][i] = _bytes[d][2 * i] + _bytes[d][2 * i + 1];
                _latencySum[d][i] = _latencySum[d][2 * i] + _latencySum[d][2 * i + 1];
                _latencyMax[d][i] = Math.Max(_latencyMax[d][2 * i], _latencyMax[d][2 * i + 1]);
            }
            Array.Clear(_ios[d], half, _capacity - half);
            Array.Clear(_bytes[d], half, _capacity - half);
            Array.Clear(_latencySum[d], half, _capacity - half);
            Array.Clear(_latencyMax[d], half, _capacity - half);
        }
        Length = (Length + 1) / 2;
        BucketTicks *= 2;
    }
}
