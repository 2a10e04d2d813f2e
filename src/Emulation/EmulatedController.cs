using System.Diagnostics;
using PolledNvme.Driver;
using PolledNvme.Driver.Pcie;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Emulation;

/// <summary>
/// An in-process NVMe controller (NVMe Base 2.0 / NVM CS 1.0 model) reached like real hardware:
/// through a register page, doorbells and DMA mappings — its PCIe binding is
/// <see cref="Transport"/>. It either runs a device thread that polls the doorbells, or is
/// stepped inline: by <see cref="Step"/>, or by its inline binding whenever the host polls.
/// </summary>
public sealed class EmulatedController : IDisposable
{
    // Idle: spin this long after the last activity (a command, or a woken host consuming completions),
    // then sleep until the host writes a doorbell or a register (DoorbellWake), so an idle
    // controller gives its core back (a real device does not care; a shared CI machine and an
    // oversubscribed host do). After signalling a sleeping host's interrupt, spin up to WakingTicks
    // until it consumes: it wakes (which can take longer than SpinTicks on a VM) and resubmits
    // right after; a device asleep by then costs every batch two wake-ups, host and device waking
    // each other in turn. Both stop early when the thread loses its CPU (SpinWindow). While media
    // I/O or a delayed completion is pending it cannot sleep: it yields, then naps 1 ms.
    private static readonly long SpinTicks = Stopwatch.Frequency / 20_000;   // 50 µs
    private static readonly long WakingTicks = Stopwatch.Frequency / 1_000;  // 1 ms
    private static readonly long YieldTicks = Stopwatch.Frequency / 500;     // 2 ms

    private readonly ControllerCore _core;
    private readonly EmulatedTransport _transport;
    private readonly Thread? _thread;
    private readonly DoorbellWake? _wake;
    private volatile bool _stopping;
    private volatile Exception? _deviceFailure;
    private int _disposed;

    private EmulatedController(ControllerCore core, EmulatedControllerOptions options)
    {
        _core = core;
        string address = options.Address ?? DescribeAddress(options);
        if (options.Mode == EmulatedControllerMode.Threaded)
        {
            _wake = new DoorbellWake();
            core.DeviceWake = _wake;
        }
        _transport = options.Mode == EmulatedControllerMode.Inline
            ? new InlineEmulatedTransport(this, core, address)
            : new EmulatedTransport(this, core, address, _wake);
        if (options.Mode == EmulatedControllerMode.Threaded)
        {
            _thread = new Thread(DeviceLoop) { IsBackground = true, Name = $"nvme-emu {address}" };
            core.DeviceThread = _thread;
            _thread.Start(options.DeviceCpu);
        }
    }

    /// <summary>Creates and starts a controller. The options are validated and copied.</summary>
    /// <exception cref="ArgumentException">An option breaks a rule (the message names it).</exception>
    /// <exception cref="IOException">A backing file cannot be opened or created.</exception>
    public static EmulatedController Create(EmulatedControllerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var copy = options.Clone();
        return new EmulatedController(new ControllerCore(copy), copy);
    }

    /// <summary>
    /// The way the host driver reaches this controller: a <see cref="PcieTransport"/> over
    /// its register page (for an inline controller, one that steps the device whenever the host
    /// reads a property or polls a queue pair). Give it to
    /// <see cref="NvmeController.Open(NvmeTransport, NvmeControllerOptions?, bool)"/>. Disposing it disposes the controller.
    /// </summary>
    public NvmeTransport Transport => _transport;

    /// <summary>
    /// The emulated controller behind <paramref name="transport"/> (e.g. a controller opened
    /// with <c>NvmeController.Open("mem:...")</c>, whose faults a test wants to inject), or null
    /// when the transport is not an emulated controller's.
    /// </summary>
    public static EmulatedController? FromTransport(NvmeTransport transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        return (transport as EmulatedTransport)?.Controller;
    }

    /// <summary>The device (tests reach the namespaces' media and their fault seams through it).</summary>
    internal ControllerCore Core => _core;

    /// <summary>Fault injection for tests.</summary>
    public FaultInjector Faults => _core.Faults;

    /// <summary>Device or inline mode.</summary>
    public EmulatedControllerMode Mode => _thread is null ? EmulatedControllerMode.Inline : EmulatedControllerMode.Threaded;

    /// <summary>Why the last enable failed with CSTS.CFS, or null.</summary>
    public string? LastEnableError => _core.LastEnableError;

    /// <summary>
    /// Inline mode: processes what the host has posted (register changes, doorbells) once and
    /// returns the number of commands processed.
    /// </summary>
    /// <exception cref="InvalidOperationException">The controller runs its own device thread.</exception>
    /// <exception cref="ObjectDisposedException">The controller was disposed.</exception>
    public int Step()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_thread is not null)
            throw new InvalidOperationException("Step() drives an inline controller; this one runs its own device thread (Mode = Threaded).");
        _core.EnterInline();
        try
        {
            return _core.Step();
        }
        finally
        {
            _core.ExitInline();
        }
    }

    /// <summary>The exception that stopped the device thread, or null (tests: a fuzzer checks the device never dies).</summary>
    internal Exception? DeviceFailure => _deviceFailure;

    /// <summary>
    /// Why the controller is in fatal status, as its transport reports it: the device thread
    /// failed (a bug in the model: the controller is stopped for good), CC.EN = 1 was refused
    /// (<see cref="LastEnableError"/>), or the fault was injected; null while it is healthy.
    /// </summary>
    public string? FatalReason => _deviceFailure is { } failure
        ? $"the emulated controller's device thread failed and stopped the controller ({failure.GetType().Name}: {failure.Message})"
        : _core.FatalReason;

    private void DeviceLoop(object? cpu)
    {
        if (cpu is int pinned)
            CoreAffinity.PinCurrentThread(pinned);
        // The idle time starts at the first pass that found nothing: a busy device reads no clock
        // (a pass is a few hundred nanoseconds of work; a clock read per pass cost 6 % of make run's device thread).
        long idleSince = 0;
        bool busy = true;
        var spin = new SpinWindow();
        uint hostHeads = 0;
        bool hostWasWaking = false;
        try
        {
            while (!_stopping)
            {
                if (_core.Step() != 0)
                {
                    busy = true;
                    spin.Reset();
                    continue;
                }
                long now = Stopwatch.GetTimestamp();
                if (busy)
                {
                    busy = false;
                    idleSince = now;
                }
                uint heads = _core.HostCompletionHeads(out bool hostWaking);
                if (heads != hostHeads)
                {
                    // A host we woke is consuming: it is running and submits next, give it a fresh
                    // window. (Not any host's consumption: a spinning device would then burn its
                    // share of a CPU it shares with a hog, and be the one preempted when needed.)
                    if (hostWasWaking)
                        spin.Reset();
                    hostHeads = heads;
                }
                hostWasWaking = hostWaking;
                long idle = now - idleSince;
                if (!spin.ShouldSleep(now, hostWaking ? WakingTicks : SpinTicks))
                    Thread.SpinWait(20);
                else if (_core.CanSleep)
                {
                    if (SleepUntilHostWrite())
                        busy = true;
                    spin.Reset();
                }
                else if (idle < YieldTicks || _core.HasMediaInFlight)
                    Thread.Yield();   // media I/O in flight (a slow disk): its completion is reaped on the next pass, not a sleep later
                else
                    Thread.Sleep(1);   // a delayed (fault-injected) completion is due later
            }
        }
        catch (Exception e)
        {
            // A bug in the model must not kill the process: stop the device like a fatal error.
            _deviceFailure = e;
            _core.EnterFatalState($"the device thread failed ({e.GetType().Name}: {e.Message})");
        }
        finally
        {
            _core.AbandonQueuedActions();
        }
    }

    /// <summary>
    /// Announces the sleep, re-checks every doorbell (again after any pass that moved an EventIdx:
    /// with shadow doorbells the host rings MMIO only when its update passes EventIdx, so the
    /// device re-reads the shadows after publishing a new one), and sleeps until a host write
    /// wakes it. Returns true when the re-check found work (no sleep).
    /// </summary>
    private bool SleepUntilHostWrite()
    {
        var wake = _wake!;
        wake.PrepareToSleep();
        while (true)
        {
            long eventIndexes = _core.EventIndexWrites();
            if (_core.Step() != 0 || !_core.CanSleep || _stopping)
            {
                wake.CancelSleep();
                return true;
            }
            if (_core.EventIndexWrites() == eventIndexes)
                break;
            Interlocked.MemoryBarrier();   // the new EventIdx stores before the shadow re-reads
        }
        Sleeps++;
        TimeSpan limit = _core.Options.IdleSleepLimit;
        wake.Sleep(limit == Timeout.InfiniteTimeSpan ? -1 : (int)Math.Max(1, limit.TotalMilliseconds));
        return false;
    }

    /// <summary>Times the device thread went to sleep waiting for a host write (tests, reports).</summary>
    internal long Sleeps { get; private set; }

    /// <summary>Whether the device thread sleeps now (announced and not woken): tests check an idle controller does.</summary>
    internal bool IsDeviceAsleep => _wake?.IsSleeping ?? false;

    private static string DescribeAddress(EmulatedControllerOptions options)
    {
        var ns = options.Namespaces[0];
        return ns.Backend switch
        {
            MediaBackendKind.File => $"emu:{ns.FilePath}",
            MediaBackendKind.Ram => "mem:",
            _ => "null:",
        };
    }

    /// <summary>Stops the device thread and releases the register page, media and mappings.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _stopping = true;
        _wake?.WakeAlways();
        if (_thread is not null)
            _thread.Join();
        else
            _core.CloseInline();   // no inline pass may run while the memory goes away
        _core.AbandonQueuedActions();
        _core.Dispose();
        _wake?.Dispose();
    }
}
