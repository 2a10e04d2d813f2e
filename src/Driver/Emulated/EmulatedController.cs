using System.Diagnostics;
using PolledNvme.Driver.Transport;

namespace PolledNvme.Driver.Emulated;

/// <summary>
/// An in-process NVMe controller (NVMe Base 2.0 / NVM CS 1.0 model) reached like real hardware:
/// through a register page, doorbells and DMA mappings (<see cref="Transport"/>). It either runs
/// a device thread that polls the doorbells, or is stepped inline (<see cref="Step"/>).
/// </summary>
public sealed class EmulatedController : IDisposable
{
    // Idle backoff: spin this long after the last command, then yield, then sleep, so an idle
    // controller gives its core back (a real device does not care; a shared CI machine does).
    private static readonly long SpinTicks = Stopwatch.Frequency / 20_000;   // 50 µs
    private static readonly long YieldTicks = Stopwatch.Frequency / 500;     // 2 ms

    private readonly ControllerCore _core;
    private readonly EmulatedTransport _transport;
    private readonly Thread? _thread;
    private volatile bool _stopping;
    private Exception? _deviceFailure;
    private int _disposed;

    private EmulatedController(ControllerCore core, EmulatedControllerOptions options)
    {
        _core = core;
        string address = options.Address ?? DescribeAddress(options);
        _transport = new EmulatedTransport(this, core, address);
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

    /// <summary>The way the host driver reaches this controller. Disposing it disposes the controller.</summary>
    public INvmeTransport Transport => _transport;

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

    /// <summary>Called by the transport's Progress(): steps an inline controller, surfaces a device thread failure.</summary>
    internal void Progress()
    {
        if (_thread is null)
        {
            _core.TryStepInline();   // after Dispose the gate stays shut: nothing runs
        }
        else if (_deviceFailure is { } failure)
            throw new InvalidOperationException("the emulated controller's device thread failed; the controller is stopped.", failure);
    }

    private void DeviceLoop(object? cpu)
    {
        if (cpu is int pinned)
            CpuAffinity.PinCurrentThread(pinned);
        long lastWork = Stopwatch.GetTimestamp();
        try
        {
            while (!_stopping)
            {
                if (_core.Step() != 0)
                {
                    lastWork = Stopwatch.GetTimestamp();
                    continue;
                }
                long idle = Stopwatch.GetTimestamp() - lastWork;
                if (idle < SpinTicks)
                    Thread.SpinWait(20);
                else if (idle < YieldTicks)
                    Thread.Yield();
                else
                    Thread.Sleep(1);
            }
        }
        catch (Exception e)
        {
            // A bug in the model must not kill the process: stop the device like a fatal error.
            _deviceFailure = e;
            _core.EnterFatalState();
        }
        finally
        {
            _core.AbandonQueuedActions();
        }
    }

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
        if (_thread is not null)
            _thread.Join();
        else
            _core.CloseInline();   // no inline pass may run while the memory goes away
        _core.AbandonQueuedActions();
        _core.Dispose();
    }
}
