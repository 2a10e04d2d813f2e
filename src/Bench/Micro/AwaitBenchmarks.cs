using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using PolledNvme.Driver;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Bench.Micro;

/// <summary>
/// QD1 4 KiB reads in the three ways a completion reaches application code (issue 14 §2):
/// the callback form on the polling thread (baseline), <c>await</c> on the queue pair's event
/// loop (<see cref="IoQueuePair.Run"/>: continuation inline on the polling thread), and
/// <c>await</c> from another thread through a <see cref="SharedIoQueuePair"/> polled by a
/// <see cref="Poller"/> (handoff ring in, thread-pool continuation out: the cross-thread hop).
/// Run with <c>--filter *AwaitBenchmarks*</c>; [MemoryDiagnoser] shows the bytes per I/O.
/// </summary>
[MemoryDiagnoser]
public class AwaitBenchmarks
{
    private const int IosPerInvoke = 4096;
    private EmulatedController _device = null!;
    private NvmeController _controller = null!;
    private IoQueuePair _qp = null!;
    private DmaBuffer _buffer = null!;
    private Namespace _ns = null!;
    private Func<IoQueuePair, ValueTask> _loopBody = null!;
    private SharedIoQueuePair? _shared;
    private Poller? _poller;
    private bool _done;

    private static readonly IoCompletionCallback s_done = static (state, in result) => ((AwaitBenchmarks)state!)._done = true;

    /// <summary>Emulated backend: null (no media work) or mem (RAM copy per I/O).</summary>
    [Params("null:lbads=4096,size=1G", "mem:lbads=4096,size=64M")]
    public string Device { get; set; } = "";

    /// <summary>Threaded: the device on its own thread (CPU 1); Inline: stepped by whoever polls (the cross-thread caller then has the other core).</summary>
    [Params(EmulatedControllerMode.Threaded, EmulatedControllerMode.Inline)]
    public EmulatedControllerMode Mode { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (_device, _controller) = QueuePairHarness.Open(Mode, Device);
        _ns = _controller.Namespaces[0];
        _qp = _controller.CreateIoQueuePair(64);
        _buffer = _controller.Memory.Allocate(4096);
        _loopBody = q => AwaitLoop(q, IosPerInvoke);
    }

    /// <summary>The cross-thread case: a poller thread on the first allowed CPU owns the pair for the whole run.</summary>
    [GlobalSetup(Target = nameof(PollerCrossThreadAwaitQd1))]
    public void SetupPoller()
    {
        Setup();
        _shared = new SharedIoQueuePair(_qp);
        _poller = new Poller(CoreAffinity.AllowedCpus()[0], new IPollable[] { _shared });
        _poller.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _poller?.Stop();
        _poller?.Dispose();
        _buffer.Dispose();
        _qp.Dispose();
        _controller.Dispose();
        _device.Dispose();
    }

    /// <summary>Callback form: submit, poll until the callback ran, repeat.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = IosPerInvoke)]
    public int CallbackQd1()
    {
        _qp.BindToCurrentThread();   // BenchmarkDotNet may run iterations on another thread than the setup
        for (int i = 0; i < IosPerInvoke; i++)
        {
            _done = false;
            _qp.Read(_ns, (ulong)(i & 1023), 1, _buffer, null, default, s_done, this);
            while (!_done)
                _qp.ProcessCompletions();
        }
        return IosPerInvoke;
    }

    /// <summary><c>await qp.ReadAsync</c> in an async loop run by the queue pair's event loop.</summary>
    [Benchmark(OperationsPerInvoke = IosPerInvoke)]
    public int EventLoopAwaitQd1()
    {
        _qp.BindToCurrentThread();
        _qp.Run(_loopBody);
        return IosPerInvoke;
    }

    /// <summary><c>await shared.ReadAsync</c> from an async loop on the calling thread (continuations on the thread pool); the poller owns the pair.</summary>
    [Benchmark(OperationsPerInvoke = IosPerInvoke)]
    public int PollerCrossThreadAwaitQd1()
    {
        SharedLoop(_shared!, IosPerInvoke).GetAwaiter().GetResult();
        return IosPerInvoke;
    }

    private async ValueTask AwaitLoop(IoQueuePair qp, int count)
    {
        for (int i = 0; i < count; i++)
            await qp.ReadAsync(_ns, (ulong)(i & 1023), 1, _buffer);
    }

    private async Task SharedLoop(SharedIoQueuePair shared, int count)
    {
        for (int i = 0; i < count; i++)
            await shared.ReadAsync(_ns, (ulong)(i & 1023), 1, _buffer);
    }
}

/// <summary>
/// Stopwatch harness for the same three forms: per-I/O QD1 latency percentiles on null: and mem:,
/// with the emulated device on its own thread (CPU 1) and stepped inline by whoever polls
/// (<c>dotnet run -c Release --project src/Bench/Micro -- await [seconds]</c>). Polling threads
/// are pinned to the first allowed CPU; the cross-thread caller runs on the thread pool, so the
/// cross-thread form needs a core of its own: with a device thread that is three cores, and the
/// row is skipped on fewer.
/// </summary>
public static class AwaitHarness
{
    private const int MaxSamples = 1 << 22;

    /// <summary>Measures each form for <paramref name="seconds"/> on each device and mode and writes p50/p99 per I/O.</summary>
    public static void Run(TextWriter output, double seconds = 5)
    {
        int[] cpus = CoreAffinity.AllowedCpus();
        output.WriteLine($"QD1 4 KiB read, latency per I/O; allowed CPUs: {string.Join(",", cpus)}; polling thread on CPU {cpus[0]}");
        foreach (EmulatedControllerMode mode in new[] { EmulatedControllerMode.Threaded, EmulatedControllerMode.Inline })
        {
            foreach (string device in new[] { "null:lbads=4096,size=1G", "mem:lbads=4096,size=64M" })
            {
                if (mode == EmulatedControllerMode.Threaded && cpus.Length < 2)
                    continue;
                (EmulatedController emulated, NvmeController controller) = QueuePairHarness.Open(mode, device);
                try
                {
                    Namespace ns = controller.Namespaces[0];
                    using IoQueuePair qp = controller.CreateIoQueuePair(64);
                    using DmaBuffer buffer = controller.Memory.Allocate(4096);
                    var samples = new long[MaxSamples];
                    long budget = (long)(seconds * Stopwatch.Frequency);
                    string name = $"{device[..device.IndexOf(':')]}: {(mode == EmulatedControllerMode.Threaded ? "device thread" : "inline device")}";

                    OnPinnedThread(cpus[0], () => Report(output, name, "callback", samples, Callback(qp, ns, buffer, samples, budget)));
                    OnPinnedThread(cpus[0], () =>
                    {
                        int count = 0;
                        qp.Run(q => EventLoop(q, ns, buffer, samples, budget, n => count = n));
                        Report(output, name, "event-loop await", samples, count);
                        qp.ReleaseThread();
                    });
                    if (mode == EmulatedControllerMode.Threaded && cpus.Length < 3)
                    {
                        output.WriteLine($"{name,-22} {"poller cross-thread await",-26} skipped: needs 3 CPUs (device, poller, caller)");
                        continue;
                    }
                    var shared = new SharedIoQueuePair(qp);
                    using var poller = new Poller(cpus[0], new IPollable[] { shared });
                    poller.Start();
                    int crossCount = Task.Run(() => CrossThread(shared, ns, buffer, samples, budget)).GetAwaiter().GetResult();
                    poller.Stop();
                    Report(output, name, "poller cross-thread await", samples, crossCount);
                }
                finally
                {
                    controller.Dispose();
                    emulated.Dispose();
                }
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> on a new thread pinned to <paramref name="cpu"/> (the caller's own affinity stays as it was).</summary>
    private static void OnPinnedThread(int cpu, Action work)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                CoreAffinity.PinCurrentThread(cpu);
                work();
            }
            catch (Exception e)
            {
                failure = e;
            }
        }) { Name = "await-harness" };
        thread.Start();
        thread.Join();
        if (failure is not null)
            throw new InvalidOperationException("The measurement failed: " + failure.Message, failure);
    }

    private static int Callback(IoQueuePair qp, Namespace ns, DmaBuffer buffer, long[] samples, long budget)
    {
        var done = new bool[1];
        IoCompletionCallback callback = static (state, in result) => ((bool[])state!)[0] = true;
        long start = Stopwatch.GetTimestamp();
        int n = 0;
        while (n < samples.Length && Stopwatch.GetTimestamp() - start < budget)
        {
            long t0 = Stopwatch.GetTimestamp();
            done[0] = false;
            qp.Read(ns, (ulong)(n & 1023), 1, buffer, null, default, callback, done);
            while (!done[0])
                qp.ProcessCompletions();
            samples[n++] = Stopwatch.GetTimestamp() - t0;
        }
        qp.ReleaseThread();
        return n;
    }

    private static async ValueTask EventLoop(IoQueuePair qp, Namespace ns, DmaBuffer buffer, long[] samples, long budget, Action<int> count)
    {
        long start = Stopwatch.GetTimestamp();
        int n = 0;
        while (n < samples.Length && Stopwatch.GetTimestamp() - start < budget)
        {
            long t0 = Stopwatch.GetTimestamp();
            await qp.ReadAsync(ns, (ulong)(n & 1023), 1, buffer);
            samples[n++] = Stopwatch.GetTimestamp() - t0;
        }
        count(n);
    }

    private static async Task<int> CrossThread(SharedIoQueuePair shared, Namespace ns, DmaBuffer buffer, long[] samples, long budget)
    {
        long start = Stopwatch.GetTimestamp();
        int n = 0;
        while (n < samples.Length && Stopwatch.GetTimestamp() - start < budget)
        {
            long t0 = Stopwatch.GetTimestamp();
            await shared.ReadAsync(ns, (ulong)(n & 1023), 1, buffer);
            samples[n++] = Stopwatch.GetTimestamp() - t0;
        }
        return n;
    }

    private static void Report(TextWriter output, string device, string form, long[] samples, int count)
    {
        Array.Sort(samples, 0, count);
        double Ns(double q) => samples[(int)Math.Min(count - 1, q * count)] * 1e9 / Stopwatch.Frequency;
        output.WriteLine($"{device,-22} {form,-26} p50 {Ns(0.50),8:N0} ns  p99 {Ns(0.99),8:N0} ns  p99.9 {Ns(0.999),8:N0} ns  n = {count:N0}");
    }
}
