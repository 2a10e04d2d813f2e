using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using PolledNvme.Driver;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Bench.Micro;

/// <summary>
/// Host-side cost of the data path against the emulated controller's null backend (no media
/// work), 4 KiB reads keeping <see cref="QueueDepth"/> outstanding, in the callback form and
/// the awaitable form (<c>Wait</c> on each ValueTask). <see cref="Device"/> Threaded runs the
/// device thread on the other core (cross-core round trips, as with real hardware); Inline
/// steps the device inside ProcessCompletions on this core, so Mean is host plus device CPU
/// time per I/O with no waiting: the case in which a per-I/O cost on the submit or completion
/// path (argument checks, buffer leases, the owner-thread check) shows most directly.
/// </summary>
public class QueuePairBenchmarks
{
    private const int IosPerInvoke = 8192;
    private EmulatedController _device = null!;
    private NvmeController _controller = null!;
    private IoQueuePair _qp = null!;
    private DmaBuffer[] _buffers = null!;
    private ValueTask[] _tasks = null!;
    private Namespace _ns = null!;
    private int _completed;

    private static readonly IoCompletionCallback s_done = static (state, in result) => ((QueuePairBenchmarks)state!)._completed++;

    [Params(1, 128)]
    public int QueueDepth { get; set; }

    [Params(EmulatedControllerMode.Threaded, EmulatedControllerMode.Inline)]
    public EmulatedControllerMode Device { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (_device, _controller) = QueuePairHarness.Open(Device);
        CoreAffinity.PinCurrentThread(0);
        _ns = _controller.Namespaces[0];
        _qp = _controller.CreateIoQueuePair(Math.Min(1024, _controller.MaxQueueEntries));
        _buffers = Enumerable.Range(0, 128).Select(_ => _controller.Memory.Allocate(4096)).ToArray();
        _tasks = new ValueTask[128];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _qp.Dispose();
        _controller.Dispose();
        _device.Dispose();
    }

    /// <summary>4 KiB random-ish reads, callback form, keeping <see cref="QueueDepth"/> outstanding.</summary>
    [Benchmark(OperationsPerInvoke = IosPerInvoke)]
    public int Read4K()
    {
        _completed = 0;
        int submitted = 0;
        int depth = QueueDepth;
        ulong blocks = _ns.BlockCount;
        while (_completed < IosPerInvoke)
        {
            while (submitted < IosPerInvoke && submitted - _completed < depth)
            {
                _qp.Read(_ns, (ulong)(submitted * 7919) % blocks, 1, _buffers[submitted & 127], null, default, s_done, this);
                submitted++;
            }
            _qp.ProcessCompletions();
        }
        return _completed;
    }

    /// <summary>
    /// The same reads in the awaitable form: <see cref="QueueDepth"/> ValueTasks in a ring, each
    /// waited with <see cref="IoQueuePair.Wait(ValueTask, TimeSpan?)"/> in submission order and replaced by a new read.
    /// </summary>
    [Benchmark(OperationsPerInvoke = IosPerInvoke)]
    public int Read4KAwaitable()
    {
        int depth = QueueDepth;
        ulong blocks = _ns.BlockCount;
        ValueTask[] tasks = _tasks;
        for (int i = 0; i < depth; i++)
            tasks[i] = _qp.ReadAsync(_ns, (ulong)(i * 7919) % blocks, 1, _buffers[i]);
        for (int i = depth; i < IosPerInvoke + depth; i++)
        {
            int slot = i % depth;
            _qp.Wait(tasks[slot]);
            if (i < IosPerInvoke)
                tasks[slot] = _qp.ReadAsync(_ns, (ulong)(i * 7919) % blocks, 1, _buffers[i & 127]);
        }
        return IosPerInvoke;
    }
}

/// <summary>Stopwatch harness: IOPS at QD128 and QD1 latency percentiles (<c>dotnet run -c Release -- queuepair</c>).</summary>
public static class QueuePairHarness
{
    /// <summary>A threaded emulated controller (default: the null backend) with its device thread on CPU 1, and the driver on it.</summary>
    public static (EmulatedController, NvmeController) Open(EmulatedControllerMode mode = EmulatedControllerMode.Threaded, string deviceString = "null:lbads=4096,size=1G")
    {
        EmulatedControllerOptions options = EmulatedControllerOptions.Parse(deviceString);
        options.Mode = mode;
        options.DeviceCpu = mode == EmulatedControllerMode.Threaded && Environment.ProcessorCount > 1 ? 1 : null;
        options.MaxQueueEntries = Math.Max(options.MaxQueueEntries, 256);
        EmulatedController device = EmulatedController.Create(options);
        NvmeController controller = NvmeController.Open(device.Transport, new NvmeControllerOptions { AllowNonHugepageMemory = true });
        return (device, controller);
    }

    /// <summary>Runs both measurements for <paramref name="seconds"/> each and writes the results.</summary>
    public static void Run(TextWriter output, double seconds = 5)
    {
        (EmulatedController device, NvmeController controller) = Open();
        try
        {
            CoreAffinity.PinCurrentThread(0);
            Namespace ns = controller.Namespaces[0];
            using IoQueuePair qp = controller.CreateIoQueuePair(256);
            DmaBuffer[] buffers = Enumerable.Range(0, 128).Select(_ => controller.Memory.Allocate(4096)).ToArray();
            output.WriteLine($"memory: {controller.Memory.MemoryKind}; controller device thread on CPU 1, host thread on CPU 0");

            // QD128 throughput, one doorbell per submission and one per refill batch.
            foreach (bool batch in new[] { false, true })
            {
                qp.BatchDoorbells = batch;
                (int ios, TimeSpan elapsed) = RunQd128(qp, ns, buffers, seconds);
                qp.BatchDoorbells = false;
                output.WriteLine($"QD128 4 KiB read (null backend, {(batch ? "batched doorbells" : "doorbell per command")}): {ios / elapsed.TotalSeconds:N0} IOPS ({ios:N0} I/Os in {elapsed.TotalSeconds:0.00} s)");
            }

            // QD1 round trip.
            var samples = new List<double>(1 << 20);
            long qd1Deadline = (long)(seconds * Stopwatch.Frequency);
            long qd1Start = Stopwatch.GetTimestamp();
            while (Stopwatch.GetTimestamp() - qd1Start < qd1Deadline)
            {
                long t0 = Stopwatch.GetTimestamp();
                ValueTask read = qp.ReadAsync(ns, (ulong)(samples.Count % 1024), 1, buffers[0]);
                while (!read.IsCompleted)
                    qp.ProcessCompletions();
                read.GetAwaiter().GetResult();
                samples.Add((Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency);
            }
            samples.Sort();
            double P(double q) => samples[(int)Math.Min(samples.Count - 1, q * samples.Count)];
            output.WriteLine($"QD1 4 KiB read round trip (null backend): p50 {P(0.50):0.00} us, p99 {P(0.99):0.00} us, p99.9 {P(0.999):0.00} us, min {samples[0]:0.00} us, n = {samples.Count:N0}");
            foreach (DmaBuffer b in buffers)
                b.Dispose();
        }
        finally
        {
            controller.Dispose();
            device.Dispose();
        }
        RunInline(output, seconds);
    }

    /// <summary>Keeps 128 single-block reads in flight for <paramref name="seconds"/>, refilling after each reap.</summary>
    private static (int Ios, TimeSpan Elapsed) RunQd128(IoQueuePair qp, Namespace ns, DmaBuffer[] buffers, double seconds)
    {
        var state = new int[1];
        IoCompletionCallback done = static (s, in r) => ((int[])s!)[0]++;
        long submitted = 0;
        long deadline = (long)(seconds * Stopwatch.Frequency);
        var clock = Stopwatch.StartNew();
        long startTicks = Stopwatch.GetTimestamp();
        while (Stopwatch.GetTimestamp() - startTicks < deadline)
        {
            while (qp.InFlight < 128)
            {
                qp.Read(ns, (ulong)(submitted * 7919 % (long)ns.BlockCount), 1, buffers[submitted & 127], null, default, done, state);
                submitted++;
            }
            qp.RingDoorbell();
            qp.ProcessCompletions();
        }
        qp.Drain();
        clock.Stop();
        return (state[0], clock.Elapsed);
    }

    /// <summary>QD128 with the emulated device stepped inline on the same core: host and device cost per I/O together, no cross-core traffic.</summary>
    private static void RunInline(TextWriter output, double seconds)
    {
        (EmulatedController device, NvmeController controller) = Open(EmulatedControllerMode.Inline);
        try
        {
            CoreAffinity.PinCurrentThread(0);
            Namespace ns = controller.Namespaces[0];
            using IoQueuePair qp = controller.CreateIoQueuePair(256);
            qp.BatchDoorbells = true;
            DmaBuffer[] buffers = Enumerable.Range(0, 128).Select(_ => controller.Memory.Allocate(4096)).ToArray();
            (int ios, TimeSpan elapsed) = RunQd128(qp, ns, buffers, seconds);   // ProcessCompletions steps the inline device
            output.WriteLine($"QD128 4 KiB read, host + inline emulated device on one core (null backend): {ios / elapsed.TotalSeconds:N0} IOPS");
            foreach (DmaBuffer b in buffers)
                b.Dispose();
        }
        finally
        {
            controller.Dispose();
            device.Dispose();
        }
    }
}

/// <summary>
/// What the buffer lease costs on its own: the compare-and-swap a submit takes on each buffer
/// and the decrement its completion makes (uncontended, one thread), against the plain
/// reference compare of the ownership check alone.
/// </summary>
public class DmaBufferLeaseBenchmarks
{
    private const int Operations = 1024;
    private DmaAllocator _memory = null!;
    private DmaBuffer _buffer = null!;

    [GlobalSetup]
    public void Setup()
    {
        _memory = new DmaAllocator(new NullMapper(), new DmaAllocatorOptions { AllowNonHugepageFallback = true });
        _buffer = _memory.Allocate(4096);
    }

    [GlobalCleanup]
    public void Cleanup() => _memory.Dispose();

    /// <summary>Ownership compare only (what the check costs without a lease).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    public int OwnerCompare()
    {
        int owned = 0;
        for (int i = 0; i < Operations; i++)
            owned += _buffer.Allocator == _memory ? 1 : 0;
        return owned;
    }

    /// <summary>Ownership compare, lease taken and released: one submit and one completion of one buffer.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    public int LeaseAndRelease()
    {
        int leased = 0;
        for (int i = 0; i < Operations; i++)
        {
            if (_buffer.Allocator == _memory && _buffer.TryAcquireLease())
            {
                leased++;
                _buffer.ReleaseLease();
            }
        }
        return leased;
    }

    /// <summary>Identity mapping: the memory is never reached by a device here.</summary>
    private sealed class NullMapper : IDmaMapper
    {
        public ulong Map(nint address, nuint length) => (ulong)address;

        public void Unmap(ulong iova, nuint length)
        {
        }
    }
}
