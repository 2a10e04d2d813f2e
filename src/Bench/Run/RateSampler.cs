using System.Diagnostics;

namespace PolledNvme.Bench.Run;

/// <summary>
/// fio's bandwidth and IOPS samples (its helper thread's calc_log_samples), taken by the runner
/// from the counters each job publishes: every <c>bwavgtime</c> / <c>iopsavgtime</c> the rate
/// of each direction that moved data since the last sample (KiB/s, IOPS) goes into the job's
/// statistics and, with <c>log_avg_msec</c>, into its bw/iops log. Jobs that log bandwidth or
/// IOPS per I/O sample themselves.
/// </summary>
internal sealed class RateSampler
{
    private readonly JobWorker _job;
    private readonly long _bwInterval, _iopsInterval;
    private long _bwLast, _iopsLast;
    private readonly long[] _bwBytes = new long[3];
    private readonly long[] _iopsIos = new long[3];
    private readonly bool _bw, _iops;

    public RateSampler(JobWorker job)
    {
        _job = job;
        var o = job.Plan.Options;
        _bw = o.MeasureBw && !(job.Logs?.BwPerIo ?? false);
        _iops = o.MeasureBw && !(job.Logs?.IopsPerIo ?? false);
        _bwInterval = Math.Max(1, o.BwAverageMs) * Stopwatch.Frequency / 1000;
        _iopsInterval = Math.Max(1, o.IopsAverageMs) * Stopwatch.Frequency / 1000;
    }

    /// <summary>Takes the samples that are due at <paramref name="now"/>.</summary>
    public void Sample(long now)
    {
        long start = _job.MeasureStartTicks;
        if (start == long.MaxValue || _job.MeasureEnded) return;
        if (_bwLast < start)
        {
            _bwLast = _iopsLast = start;
            Array.Clear(_bwBytes);
            Array.Clear(_iopsIos);
        }
        var o = _job.Plan.Options;
        if (_bw && now - _bwLast >= _bwInterval)
        {
            long spentMs = (now - _bwLast) * 1000 / Stopwatch.Frequency;
            for (int d = 0; d < 3; d++)
            {
                long bytes = _job.DoneBytes(d);
                long delta = bytes - _bwBytes[d];
                _bwBytes[d] = bytes;
                if (delta == 0) continue;   // fio: no entry for an idle direction
                long kibPerSecond = spentMs > 0 ? delta * 1000 / spentMs / 1024 : 0;
                _job.Stats[d].Bandwidth.Add(kibPerSecond);
                int bs = o.BlockSizes[d].IsFixed ? o.BlockSizes[d].Min : 0;
                _job.Logs?.Bw?.Add((now - start) * 1000 / Stopwatch.Frequency, kibPerSecond, d, bs, 0);
            }
            _bwLast = now;
        }
        if (_iops && now - _iopsLast >= _iopsInterval)
        {
            long spentMs = (now - _iopsLast) * 1000 / Stopwatch.Frequency;
            for (int d = 0; d < 3; d++)
            {
                long ios = _job.DoneIos(d);
                long delta = ios - _iopsIos[d];
                _iopsIos[d] = ios;
                if (delta == 0) continue;
                long iops = spentMs > 0 ? delta * 1000 / spentMs : 0;
                _job.Stats[d].IopsSamples.Add(iops);
                int bs = o.BlockSizes[d].IsFixed ? o.BlockSizes[d].Min : 0;
                _job.Logs?.Iops?.Add((now - start) * 1000 / Stopwatch.Frequency, iops, d, bs, 0);
            }
            _iopsLast = now;
        }
    }

    /// <summary>Milliseconds until the next sample is due.</summary>
    public int MillisecondsToNext(long now)
    {
        long next = Math.Min(_bw ? _bwLast + _bwInterval : long.MaxValue, _iops ? _iopsLast + _iopsInterval : long.MaxValue);
        if (next == long.MaxValue) return int.MaxValue;
        return (int)Math.Clamp((next - now) * 1000 / Stopwatch.Frequency, 0, int.MaxValue);
    }
}
