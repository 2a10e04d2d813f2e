using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using PolledNvme.Driver;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Bench.Micro;

/// <summary>
/// Per-I/O cost of the "PolledNvme" meter on a <c>null:</c> queue pair loop (4 KiB callback
/// reads, the inline device stepped inside ProcessCompletions, so Mean is host plus device CPU
/// per I/O with no waiting): nobody listening (the counters are plain stores, no clock read), a
/// MeterListener on the counters only (read at collection, never per I/O: should equal Nobody),
/// and one on the latency histogram too (a clock read at submit and at completion and one Record
/// per I/O). Compare Nobody with <see cref="QueuePairBenchmarks.Read4K"/> (Inline) on the commit
/// before the meter for the cost of the counters themselves.
/// </summary>
public class MetricsOverheadBenchmarks
{
    private const int IosPerInvoke = 8192;
    private EmulatedController _device = null!;
    private NvmeController _controller = null!;
    private IoQueuePair _qp = null!;
    private DmaBuffer[] _buffers = null!;
    private Namespace _ns = null!;
    private MeterListener? _listener;
    private int _completed;
    private long _recorded;

    private static readonly IoCompletionCallback s_done = static (state, in result) => ((MetricsOverheadBenchmarks)state!)._completed++;

    /// <summary>Who listens to the meter.</summary>
    public enum Listening
    {
        /// <summary>No MeterListener.</summary>
        Nobody,
        /// <summary>A listener on the observable counters (not the histogram).</summary>
        Counters,
        /// <summary>A listener on every instrument, the latency histogram included.</summary>
        CountersAndHistogram,
    }

    [Params(Listening.Nobody, Listening.Counters, Listening.CountersAndHistogram)]
    public Listening Listener { get; set; }

    [Params(1, 32)]
    public int QueueDepth { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        if (Listener != Listening.Nobody)
        {
            _listener = new MeterListener();
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == NvmeDiagnostics.MeterName && (Listener == Listening.CountersAndHistogram || instrument is not Histogram<double>))
                    l.EnableMeasurementEvents(instrument, this);
            };
            _listener.SetMeasurementEventCallback<double>(static (_, _, _, state) => ((MetricsOverheadBenchmarks)state!)._recorded++);
            _listener.SetMeasurementEventCallback<long>(static (_, _, _, _) => { });
            _listener.Start();
        }
        (_device, _controller) = QueuePairHarness.Open(EmulatedControllerMode.Inline);
        CoreAffinity.PinCurrentThread(0);
        _ns = _controller.Namespaces[0];
        _qp = _controller.CreateIoQueuePair(Math.Min(256, _controller.MaxQueueEntries));
        _buffers = Enumerable.Range(0, 32).Select(_ => _controller.Memory.Allocate(4096)).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _qp.Dispose();
        _controller.Dispose();
        _device.Dispose();
        _listener?.Dispose();
    }

    /// <summary>4 KiB reads, callback form, keeping <see cref="QueueDepth"/> outstanding.</summary>
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
                _qp.Read(_ns, (ulong)(submitted * 7919) % blocks, 1, _buffers[submitted & 31], null, default, s_done, this);
                submitted++;
            }
            _qp.ProcessCompletions();
        }
        return _completed;
    }
}
