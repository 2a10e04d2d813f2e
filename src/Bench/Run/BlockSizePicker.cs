using PolledNvme.Bench.Options;

namespace PolledNvme.Bench.Run;

/// <summary>
/// The size of a job's next I/O in logical blocks, as fio's get_next_buflen picks it: fixed,
/// <c>bsrange</c> (min + max × u, aligned down to min, capped at max) or <c>bssplit</c>
/// (a percentage walk over the sizes, lowest share first).
/// </summary>
internal sealed class BlockSizePicker
{
    private readonly int[][] _splitBlocks = new int[3][];
    private readonly int[][] _splitCumulative = new int[3][];
    private readonly int[] _min = new int[3];
    private readonly int[] _max = new int[3];
    private JobRandom _random;

    public BlockSizePicker(PerDirection<BlockSizeSpec> sizes, int blockSize, JobRandom random)
    {
        _random = random;
        for (int d = 0; d < 3; d++)
        {
            var spec = sizes[d];
            _min[d] = spec.Min / blockSize;
            _max[d] = spec.Max / blockSize;
            if (spec.Split is { } split)
            {
                _splitBlocks[d] = split.Select(s => s.Bytes / blockSize).ToArray();
                int sum = 0;
                _splitCumulative[d] = split.Select(s => sum += s.Percent).ToArray();
            }
        }
    }

    /// <summary>Blocks of the next I/O of <paramref name="direction"/>.</summary>
    public int Next(int direction)
    {
        int min = _min[direction], max = _max[direction];
        if (min == max) return min;
        int blocks;
        if (_splitBlocks[direction] is { } sizes)
        {
            int[] cumulative = _splitCumulative[direction];
            long v = _random.Below(100);
            blocks = sizes[^1];
            for (int i = 0; i < sizes.Length; i++)
            {
                if (v < cumulative[i])
                {
                    blocks = sizes[i];
                    break;
                }
            }
        }
        else
        {
            blocks = min + (int)(max * _random.NextDouble());
        }
        blocks -= blocks % min;
        return Math.Min(blocks, max);
    }

    /// <summary>The smallest size of <paramref name="direction"/> in blocks.</summary>
    public int Min(int direction) => _min[direction];
}

/// <summary>
/// fio's rate control of one job: per direction, the time the next I/O is due — linear (the
/// bytes issued so far at the capped rate) or Poisson (exponential gaps, mean 1/IOPS).
/// </summary>
internal sealed class RateLimiter
{
    private readonly long[] _bytesPerSecond = new long[3];
    private readonly long[] _minBytes = new long[3];
    private readonly long[] _issued = new long[3];
    private readonly long[] _due = new long[3];
    private readonly bool _poisson;
    private readonly double _frequency = System.Diagnostics.Stopwatch.Frequency;
    private long _start;
    private JobRandom _random;

    public RateLimiter(BenchOptions o, JobRandom random)
    {
        _poisson = o.RateProcess == RateProcess.Poisson;
        _random = random;
        for (int d = 0; d < 3; d++)
        {
            _minBytes[d] = o.BlockSizes[d].Min;
            _bytesPerSecond[d] = o.RateBytes[d] > 0 ? o.RateBytes[d] : o.RateIops[d] * o.BlockSizes[d].Min;
        }
    }

    /// <summary>Whether <paramref name="direction"/> is capped.</summary>
    public bool Limits(int direction) => _bytesPerSecond[direction] > 0;

    /// <summary>Restarts the schedule at <paramref name="now"/> (start of the measured phase).</summary>
    public void Start(long now)
    {
        _start = now;
        Array.Clear(_issued);
        Array.Fill(_due, now);
    }

    /// <summary>When the next I/O of <paramref name="direction"/> may go (Stopwatch ticks).</summary>
    public long Due(int direction) => _bytesPerSecond[direction] > 0 ? _due[direction] : long.MinValue;

    /// <summary>Accounts an issued I/O of <paramref name="bytes"/> and schedules the next one.</summary>
    public void Issued(int direction, long bytes)
    {
        long bps = _bytesPerSecond[direction];
        if (bps == 0) return;
        _issued[direction] += bytes;
        if (_poisson)
        {
            double iops = (double)bps / _minBytes[direction];
            double gap = -Math.Log(1.0 - _random.NextDouble()) / iops;
            _due[direction] += (long)(gap * _frequency);
        }
        else
        {
            _due[direction] = _start + (long)(_issued[direction] / (double)bps * _frequency);
        }
    }
}
