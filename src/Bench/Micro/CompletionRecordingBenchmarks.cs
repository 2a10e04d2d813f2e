using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using HdrHistogram;
using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Run;

namespace PolledNvme.Bench.Micro;

/// <summary>
/// What pnvme bench records per completed I/O on the job thread: before fio's statistics, one
/// clock read and one histogram value (the baseline); now the second clock read at submit and
/// fio's slat/clat/lat, the timeline and the depth counters (default options: histograms for
/// clat only), and with lat/slat percentiles on. Per I/O, no allocation.
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

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        for (int i = 0; i < Batch; i++) _latencies[i] = 5_000 + (long)(random.NextDouble() * random.NextDouble() * 2_000_000);
        _baseline = new LongHistogram(1, LatencyStats.HighestTrackableNs, 3);
        _fio = DirectionStats.For(new BenchOptions(), 0);
        _fioAllPercentiles = DirectionStats.For(new BenchOptions { SlatPercentiles = true, LatPercentiles = true }, 0);
        _timeline = new RunTimeline(TimeSpan.FromMilliseconds(50));
        _timeline.Start(Stopwatch.GetTimestamp());
        _depth = new DepthStats();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public long OneClockReadOneHistogram()
    {
        long sum = 0;
        for (int i = 0; i < Batch; i++)
        {
            long now = Stopwatch.GetTimestamp();
            _baseline.RecordValue(_latencies[i]);
            sum += now;
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public long FioStatistics() => Record(_fio);

    [Benchmark(OperationsPerInvoke = Batch)]
    public long FioStatisticsWithLatAndSlatPercentiles() => Record(_fioAllPercentiles);

    private long Record(DirectionStats stats)
    {
        long sum = 0;
        for (int i = 0; i < Batch; i++)
        {
            long issued = Stopwatch.GetTimestamp();   // the extra read after the doorbell
            long now = Stopwatch.GetTimestamp();
            _depth.RecordDepth(i & 31);
            _depth.RecordSubmit(1);
            stats.Record(120, _latencies[i], 4096, IoResultKind.Ok);
            _timeline.Record(now, 0, 4096, _latencies[i]);
            sum += issued;
        }
        return sum;
    }
}
