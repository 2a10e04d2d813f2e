using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using HdrHistogram;
using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Run;

namespace PolledNvme.Bench.Micro;

/// <summary>
/// What pnvme bench records per completed I/O on the job thread: before fio's statistics, one
/// histogram value, a min/max and a timeline count (the baseline); now fio's slat, clat and lat
/// (exact sums; a histogram for clat only by default), the timeline per direction and the depth
/// counters — and with lat/slat percentiles on. Clock reads per I/O are the same in both (the
/// loop reuses the submit's or completion's), so they are left out. No allocation.
/// </summary>
[MemoryDiagnoser]
public class CompletionRecordingBenchmarks
{
    private const int Batch = 1024;
    private readonly long[] _latencies = new long[Batch];
    private LongHistogram _baseline = null!;
    private DirectionStats _fio = null!;
    private DirectionStats _fioAllPercentiles = null!;
    private RunTimeline _timeline = null!;
    private DepthStats _depth = null!;
    private long _start;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        for (int i = 0; i < Batch; i++) _latencies[i] = 5_000 + (long)(random.NextDouble() * random.NextDouble() * 2_000_000);
        _baseline = new LongHistogram(1, LatencyStats.HighestTrackableNs, 3);
        _fio = DirectionStats.For(new BenchOptions(), 0);
        _fioAllPercentiles = DirectionStats.For(new BenchOptions { SlatPercentiles = true, LatPercentiles = true }, 0);
        _timeline = new RunTimeline(TimeSpan.FromMilliseconds(50));
        _start = Stopwatch.GetTimestamp();
        _timeline.Start(_start);
        _depth = new DepthStats();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public long OneHistogram()
    {
        long max = 0;
        for (int i = 0; i < Batch; i++)
        {
            _baseline.RecordValue(_latencies[i]);
            if (_latencies[i] > max) max = _latencies[i];
            _counts[i & 63]++;
        }
        return max;
    }

    private readonly long[] _counts = new long[64];

    [Benchmark(OperationsPerInvoke = Batch)]
    public long FioStatistics() => Record(_fio);

    [Benchmark(OperationsPerInvoke = Batch)]
    public long FioStatisticsWithLatAndSlatPercentiles() => Record(_fioAllPercentiles);

    private long Record(DirectionStats stats)
    {
        long now = _start;
        for (int i = 0; i < Batch; i++)
        {
            now += 100;
            _depth.RecordDepth(i & 31);
            _depth.RecordSubmit(1);
            stats.Record(120, _latencies[i], 4096, IoResultKind.Ok);
            _timeline.Record(now, 0, 4096, _latencies[i] + 120);
        }
        return now;
    }
}
