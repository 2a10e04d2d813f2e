using System.Runtime.CompilerServices;
using HdrHistogram;

namespace PolledNvme.Bench.Run;

/// <summary>
/// One latency figure (fio's slat, clat or lat) of one direction: exact count, min, max, sum and
/// sum of squares (fio's mean and sample standard deviation), and, when its percentiles are
/// wanted, an HdrHistogram (ns, 3 significant digits). Percentiles are clamped to [min, max]:
/// HdrHistogram answers with the highest value its bucket could hold, which may lie above the
/// largest latency actually recorded. Recording does not allocate.
/// </summary>
public sealed class LatencyStats
{
    /// <summary>Highest latency the histogram tracks: 1 hour in ns; longer ones are clamped.</summary>
    public const long HighestTrackableNs = 3_600_000_000_000;

    /// <summary>Creates the figures; <paramref name="histogram"/> keeps a histogram for percentiles and bins.</summary>
    public LatencyStats(bool histogram = true)
    {
        Histogram = histogram ? new LongHistogram(1, HighestTrackableNs, 3) : null;
    }

    /// <summary>The histogram (ns), or null when only count, min, max, mean and deviation are kept.</summary>
    public LongHistogram? Histogram { get; }
    /// <summary>Samples recorded.</summary>
    public long Count { get; private set; }
    /// <summary>Smallest sample (ns); 0 when none.</summary>
    public long Min => Count == 0 ? 0 : _min;
    /// <summary>Largest sample (ns).</summary>
    public long Max { get; private set; }
    /// <summary>Sum of the samples (ns).</summary>
    public long Sum { get; private set; }
    /// <summary>Sum of the squared samples (ns²).</summary>
    public double SumSquares { get; private set; }

    private long _min = long.MaxValue;

    /// <summary>Records one latency.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(long ns)
    {
        if (ns < 0) ns = 0;
        if (ns > HighestTrackableNs) ns = HighestTrackableNs;
        Histogram?.RecordValue(ns);
        Count++;
        Sum += ns;
        SumSquares += (double)ns * ns;
        if (ns < _min) _min = ns;
        if (ns > Max) Max = ns;
    }

    /// <summary>Mean (ns), 0 when empty.</summary>
    public double Mean => Count == 0 ? 0 : (double)Sum / Count;

    /// <summary>Sample standard deviation (ns), as fio computes it (n - 1); 0 below two samples.</summary>
    public double StdDev
    {
        get
        {
            if (Count < 2) return 0;
            double mean = (double)Sum / Count;
            double variance = (SumSquares - mean * Sum) / (Count - 1);
            return variance > 0 ? Math.Sqrt(variance) : 0;
        }
    }

    /// <summary>The value at <paramref name="percentile"/> (0..100], never above <see cref="Max"/> nor below <see cref="Min"/>; 0 when empty.</summary>
    /// <exception cref="InvalidOperationException">No histogram is kept.</exception>
    public long Percentile(double percentile)
    {
        if (Count == 0) return 0;
        if (Histogram is null) throw new InvalidOperationException("these latencies were recorded without a histogram: no percentiles");
        long v = Histogram.GetValueAtPercentile(percentile);
        return Math.Clamp(v, _min, Max);
    }

    /// <summary>Adds <paramref name="other"/>'s samples (into the histogram too, when both keep one).</summary>
    public void Add(LatencyStats other)
    {
        if (other.Count == 0) return;
        if (other.Histogram is not null) Histogram?.Add(other.Histogram);
        Count += other.Count;
        Sum += other.Sum;
        SumSquares += other.SumSquares;
        _min = Math.Min(_min, other._min);
        Max = Math.Max(Max, other.Max);
    }

    /// <summary>Forgets every sample.</summary>
    public void Reset()
    {
        Histogram?.Reset();
        Count = 0;
        Sum = 0;
        SumSquares = 0;
        _min = long.MaxValue;
        Max = 0;
    }
}

/// <summary>
/// Bandwidth or IOPS samples (fio's bw_stat / iops_stat): min, max, mean and the running sum of
/// squared deviations (Welford), merged either as one distribution or, for group reporting,
/// as fio's "pure sum" (the group's rate is the sum of its jobs' rates).
/// </summary>
public sealed class SampleStats
{
    /// <summary>Samples taken.</summary>
    public long Samples { get; private set; }
    /// <summary>Smallest sample.</summary>
    public long Min { get; private set; }
    /// <summary>Largest sample.</summary>
    public long Max { get; private set; }
    /// <summary>Mean of the samples.</summary>
    public double Mean { get; private set; }
    private double _s;

    /// <summary>Adds one sample.</summary>
    public void Add(long value)
    {
        if (Samples == 0 || value < Min) Min = value;
        if (Samples == 0 || value > Max) Max = value;
        Samples++;
        double delta = value - Mean;
        Mean += delta / Samples;
        _s += delta * (value - Mean);
    }

    /// <summary>Sample standard deviation, as fio's calc_lat.</summary>
    public double StdDev => Samples > 1 ? Math.Sqrt(_s / (Samples - 1)) : 0;

    /// <summary>Merges <paramref name="other"/>: as one distribution, or (<paramref name="pureSum"/>) adding min, max, mean and deviations, as fio sums the jobs of a group.</summary>
    public void Merge(SampleStats other, bool pureSum)
    {
        if (other.Samples == 0) return;
        if (Samples == 0)
        {
            (Samples, Min, Max, Mean, _s) = (other.Samples, other.Min, other.Max, other.Mean, other._s);
            return;
        }
        if (pureSum)
        {
            Min += other.Min;
            Max += other.Max;
            Samples += other.Samples;
            Mean += other.Mean;
            _s += other._s;
            return;
        }
        long n = Samples + other.Samples;
        double delta = other.Mean - Mean;
        double mean = Mean + delta * other.Samples / n;
        _s += other._s + delta * delta * Samples * other.Samples / n;
        Mean = mean;
        Samples = n;
        Min = Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
    }

    /// <summary>Forgets every sample.</summary>
    public void Reset() => (Samples, Min, Max, Mean, _s) = (0, 0, 0, 0, 0);
}
