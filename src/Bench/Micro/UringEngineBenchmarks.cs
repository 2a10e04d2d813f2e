using BenchmarkDotNet.Attributes;
using PolledNvme.Uring;

namespace PolledNvme.Bench.Micro;

/// <summary>
/// The kernel path through our io_uring: 4 KiB random reads at QD32 over a 64 MiB file, from the
/// page cache and with O_DIRECT. One operation is one completed I/O (each invocation runs 4096,
/// including ring setup, which is amortised). Compare with tools/UringCompare/compare.sh (fio).
/// </summary>
[MemoryDiagnoser]
public class UringEngineBenchmarks
{
    private const int IosPerInvoke = 4096;
    private string _path = "";
    private UringFileEngine _buffered = null!;
    private UringFileEngine _direct = null!;

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(Path.GetTempPath(), $"pnvme-uring-bench-{Environment.ProcessId}.bin");
        UringFileEngine.PrepareFile(_path, 64L << 20);
        _buffered = new UringFileEngine(new UringEngineOptions { Path = _path, QueueDepth = 32 });
        _direct = new UringFileEngine(new UringEngineOptions { Path = _path, QueueDepth = 32, Direct = true });
        _buffered.Run(1 << 16, TimeSpan.Zero); // pulls the file into the page cache
    }

    [Benchmark(OperationsPerInvoke = IosPerInvoke)]
    public long RandRead4kQd32PageCache() => _buffered.Run(IosPerInvoke, TimeSpan.Zero).Ios;

    [Benchmark(OperationsPerInvoke = IosPerInvoke)]
    public long RandRead4kQd32Direct() => _direct.Run(IosPerInvoke, TimeSpan.Zero).Ios;

    [GlobalCleanup]
    public void Cleanup()
    {
        _buffered.Dispose();
        _direct.Dispose();
        File.Delete(_path);
    }
}
