using HdrHistogram;
using PolledNvme.Uring;

namespace PolledNvme.Tools.UringCompare;

/// <summary>
/// uring-compare PATH SIZE_MIB buffered|direct SECONDS [QD] [BATCH] [fixed|plain]:
/// prepares PATH, warms up for one second, then runs 4 KiB random reads and prints one line
/// of results (IOPS, CPU per I/O, latency percentiles, syscalls per I/O).
/// </summary>
internal static class Program
{
    private const long HighestNanoseconds = 60_000_000_000; // 60 s: a loaded machine can stall an I/O for seconds

    private sealed class HistogramSink(LongHistogram histogram) : IUringLatencySink
    {
        public void Record(bool isWrite, long nanoseconds) => histogram.RecordValue(Math.Clamp(nanoseconds, 1, HighestNanoseconds));
    }

    private static int Main(string[] args)
    {
        if (args.Length < 4)
        {
            Console.Error.WriteLine("usage: uring-compare PATH SIZE_MIB buffered|direct SECONDS [QD=32] [BATCH=0(=QD)] [fixed|plain]");
            return 2;
        }
        string path = args[0];
        long size = long.Parse(args[1]) << 20;
        bool direct = args[2] switch
        {
            "direct" => true,
            "buffered" => false,
            _ => throw new ArgumentException($"mode must be 'buffered' or 'direct', not '{args[2]}'"),
        };
        int seconds = int.Parse(args[3]);
        int depth = args.Length > 4 ? int.Parse(args[4]) : 32;
        int batch = args.Length > 5 ? int.Parse(args[5]) : 0;
        bool registered = args.Length <= 6 || args[6] == "fixed";

        UringFileEngine.PrepareFile(path, size);
        var options = new UringEngineOptions
        {
            Path = path, Direct = direct, Size = size, QueueDepth = depth, BatchSize = batch,
            RegisterBuffers = registered, RegisterFile = registered,
        };
        using var engine = new UringFileEngine(options);
        var histogram = new LongHistogram(HighestNanoseconds, 3);
        var sink = new HistogramSink(histogram);
        engine.Run(0, TimeSpan.FromSeconds(1), sink); // warm-up: JIT tiers, page cache
        histogram.Reset();
        UringRunResult r = engine.Run(0, TimeSpan.FromSeconds(seconds), sink);
        Console.WriteLine(
            $"pnvme-uring {(direct ? "direct" : "buffered")} qd={depth} batch={(batch == 0 ? depth : batch)} {(registered ? "fixed" : "plain")}: " +
            $"IOPS={r.Iops:F0} MiB/s={r.BytesRead / r.Elapsed.TotalSeconds / (1 << 20):F1} " +
            $"usr={r.UserCpu.TotalSeconds:F2}s sys={r.SystemCpu.TotalSeconds:F2}s cpu/io={r.CpuNanosecondsPerIo:F0}ns " +
            $"lat(us) p50={histogram.GetValueAtPercentile(50) / 1000.0:F1} p99={histogram.GetValueAtPercentile(99) / 1000.0:F1} " +
            $"p99.9={histogram.GetValueAtPercentile(99.9) / 1000.0:F1} enters/io={(double)r.EnterCalls / r.Ios:F3} flags={r.RingFlags}");
        return 0;
    }
}
