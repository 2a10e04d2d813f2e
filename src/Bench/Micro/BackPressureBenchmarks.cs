using BenchmarkDotNet.Attributes;
using PolledNvme.Driver;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Bench.Micro;

/// <summary>
/// Host-side cost of the opt-in back-pressure paths (IoQueuePairOptions) against the inline
/// emulated controller's null backend, callback form, per command:
/// <list type="bullet">
/// <item><c>Plain</c>: 64 KiB reads on a default queue pair (the baseline: one command each).</item>
/// <item><c>OptionsUnused</c>: the same reads on a pair with SplitLargeTransfers and a software
/// queue that never engage (the per-command cost of having them on).</item>
/// <item><c>SplitInFour</c>: the same reads on a namespace with NOIOB = 4 blocks (16 KiB), so each
/// command goes out as four parts with one completion.</item>
/// <item><c>Queued</c>: 4 KiB reads submitted 4x faster than the 31-deep pair takes them, so most
/// wait in the software queue before they go out.</item>
/// </list>
/// </summary>
public class BackPressureBenchmarks
{
    private const int CommandsPerInvoke = 4096;
    private EmulatedController _device = null!;
    private NvmeController _controller = null!;
    private IoQueuePair _qp = null!;
    private DmaBuffer _buffer = null!;
    private Namespace _ns = null!;
    private int _completed;
    private int _blocks;

    private static readonly IoCompletionCallback s_done = static (state, in result) => ((BackPressureBenchmarks)state!)._completed++;

    /// <summary>Which path is measured.</summary>
    public enum Scenario
    {
        /// <summary>A default queue pair.</summary>
        Plain,
        /// <summary>Options on, never engaged.</summary>
        OptionsUnused,
        /// <summary>Each command split in four at NOIOB.</summary>
        SplitInFour,
        /// <summary>Commands wait in the software queue.</summary>
        Queued,
    }

    /// <summary>The path measured.</summary>
    [Params(Scenario.Plain, Scenario.OptionsUnused, Scenario.SplitInFour, Scenario.Queued)]
    public Scenario Mode { get; set; }

    /// <summary>Opens the controller (NOIOB only for SplitInFour) and the queue pair.</summary>
    [GlobalSetup]
    public void Setup()
    {
        EmulatedControllerOptions options = EmulatedControllerOptions.Parse($"null:lbads=4096,size=1G{(Mode == Scenario.SplitInFour ? ",noiob=4" : "")}");
        options.Mode = EmulatedControllerMode.Inline;
        _device = EmulatedController.Create(options);
        _controller = NvmeController.Open(_device.Transport, new NvmeControllerOptions { AllowNonHugepageMemory = true });
        CoreAffinity.PinCurrentThread(0);
        _ns = _controller.Namespaces[0];
        _qp = Mode == Scenario.Plain
            ? _controller.CreateIoQueuePair(32)
            : _controller.CreateIoQueuePair(new IoQueuePairOptions { Entries = 32, SplitLargeTransfers = true, SoftwareQueueDepth = 128 });
        _blocks = Mode == Scenario.Queued ? 1 : 16;
        _buffer = _controller.Memory.Allocate(_blocks * 4096);
    }

    /// <summary>Frees the queue pair and the controller.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _qp.Dispose();
        _buffer.Dispose();
        _controller.Dispose();
        _device.Dispose();
    }

    /// <summary>Reads keeping the pair full (and, for Queued, the software queue busy), aligned to 16 blocks.</summary>
    [Benchmark(OperationsPerInvoke = CommandsPerInvoke)]
    public int Read()
    {
        _completed = 0;
        int submitted = 0;
        int inFlightTarget = Mode == Scenario.Queued ? 124 : 7;   // Queued: 31 on the wire, ~93 waiting; SplitInFour: 28 parts
        while (_completed < CommandsPerInvoke)
        {
            while (submitted < CommandsPerInvoke && submitted - _completed < inFlightTarget)
            {
                _qp.Read(_ns, (ulong)(submitted & 4095) * 16, _blocks, _buffer, null, default, s_done, this);
                submitted++;
            }
            _qp.ProcessCompletions();
        }
        return _completed;
    }
}
