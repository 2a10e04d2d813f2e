using System.Collections.Concurrent;
using System.Diagnostics;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation.Media;
using PolledNvme.Queues;

namespace PolledNvme.Emulation;

/// <summary>
/// The device: register state machine, queue arbitration and completion posting. Everything
/// here runs on one thread at a time (the device thread, or the caller of Step in inline mode);
/// the host reaches it only through the register page and the DMA mappings.
/// </summary>
internal sealed unsafe partial class ControllerCore : IDisposable
{
    private readonly AdminCommands _admin;
    private readonly IoCommands _io;
    private readonly EmulatedSubmissionQueue?[] _submissionQueues;
    private readonly EmulatedCompletionQueue?[] _completionQueues;
    private EmulatedSubmissionQueue[] _ioQueues = [];
    private readonly List<DeferredCompletion> _deferred = [];
    private readonly List<(ushort SqId, ushort CommandId)> _aborts = [];
    private readonly ConcurrentQueue<DeviceAction> _actions = new();
    private volatile int _actionCount;
    private bool _ready;
    private bool _fatal;
    private bool _shutdown;
    private bool _shutdownCompletePending;

    private sealed record DeviceAction(Action Work, ManualResetEventSlim Done, bool Escapes)
    {
        public Exception? Error;
    }

    private readonly record struct DeferredCompletion(long DueTimestamp, EmulatedCompletionQueue Queue, EmulatedSubmissionQueue Sq,
        ushort CommandId, NvmeStatus Status, uint Result);

    public ControllerCore(EmulatedControllerOptions options)
    {
        Options = options;
        var cap = ControllerCapabilities.Create(options.MaxQueueEntries - 1, cqr: true, to: 20, options.DoorbellStride,
            css: 1, mpsmin: 0, mpsmax: 4);
        Registers = new ControllerRegisterFile(cap, options.MaxIoQueuePairs);
        Dma = new DmaAddressSpace();
        MaxTransferBytes = 4096 << options.Mdts;
        Namespaces = new EmulatedNamespace[options.Namespaces.Count];
        try
        {
            for (int i = 0; i < Namespaces.Length; i++)
                Namespaces[i] = new EmulatedNamespace((uint)(i + 1), options.Namespaces[i]);
        }
        catch
        {
            foreach (var ns in Namespaces)
                ns?.Dispose();
            Registers.Dispose();
            throw;
        }
        Logs = new ControllerLogs();
        Features = new FeatureSettings(options.MaxIoQueuePairs);
        Faults = new FaultInjector(this);
        _submissionQueues = new EmulatedSubmissionQueue?[options.MaxIoQueuePairs + 1];
        _completionQueues = new EmulatedCompletionQueue?[options.MaxIoQueuePairs + 1];
        _admin = new AdminCommands(this);
        _io = new IoCommands(this);
        try
        {
            _media = AsyncMedia.TryCreate(this, _io);
        }
        catch
        {
            foreach (var ns in Namespaces)
                ns.Dispose();
            Registers.Dispose();
            throw;
        }
    }

    public EmulatedControllerOptions Options { get; }
    public ControllerRegisterFile Registers { get; }
    public DmaAddressSpace Dma { get; }
    public EmulatedNamespace[] Namespaces { get; }
    public ControllerLogs Logs { get; }
    public FeatureSettings Features { get; }
    public FaultInjector Faults { get; }

    /// <summary>The asynchronous media path of file namespaces (io_uring), or null when no namespace has one.</summary>
    public AsyncMedia? Media => _media;

    private readonly AsyncMedia? _media;

    /// <summary>True while media I/O is in flight (the device thread then polls for it rather than sleep).</summary>
    public bool HasMediaInFlight => _media is { HasInFlight: true };

    /// <summary>Largest data transfer (Identify MDTS) in bytes.</summary>
    public int MaxTransferBytes { get; }

    /// <summary>The thread allowed to run device work in threaded mode (null: whoever calls Step).</summary>
    public Thread? DeviceThread { get; set; }

    /// <summary>The namespace with <paramref name="namespaceId"/>; throws for public callers (fault injection).</summary>
    public EmulatedNamespace GetNamespace(uint namespaceId)
        => namespaceId >= 1 && namespaceId <= Namespaces.Length
            ? Namespaces[namespaceId - 1]
            : throw new ArgumentException($"namespace {namespaceId} does not exist; this controller has namespaces 1-{Namespaces.Length}.", nameof(namespaceId));

    /// <summary>
    /// Runs <paramref name="work"/> on the device: at once when no device thread runs, otherwise
    /// queued for the device thread, waiting until it ran (exceptions are rethrown here).
    /// </summary>
    public void RunOnDevice(Action work) => RunOnDevice(work, escapes: false);

    /// <summary>
    /// Test seam: makes the device itself fail with <paramref name="failure"/> — thrown out of
    /// the device loop, as a bug in the model would be (threaded: the device thread stops and
    /// sets CSTS.CFS; inline: the host's call that stepped the device throws it).
    /// </summary>
    public void FailDevice(Exception failure) => RunOnDevice(() => throw failure, escapes: true);

    private void RunOnDevice(Action work, bool escapes)
    {
        var thread = DeviceThread;
        if (thread == Thread.CurrentThread)
        {
            work();
            return;
        }
        if (thread is null)
        {
            EnterInline();
            try
            {
                work();
            }
            finally
            {
                ExitInline();
            }
            return;
        }
        if (!thread.IsAlive)
            throw new ObjectDisposedException(nameof(EmulatedController), "the emulated controller's device thread has stopped.");
        using var done = new ManualResetEventSlim();
        var action = new DeviceAction(work, done, escapes);
        _actions.Enqueue(action);
        Interlocked.Increment(ref _actionCount);
        DeviceWake?.Wake();   // a sleeping device thread runs it now
        if (!done.Wait(TimeSpan.FromSeconds(30)))
            throw new TimeoutException("the emulated controller's device thread did not run the request within 30 s (is it stopped?).");
        if (action.Error is { } error)
            throw error;
    }

    // Inline mode has no device thread: whoever steps is the device. Several host threads (one
    // per queue pair) may call Progress at once, so one pass runs at a time; the others skip,
    // since the running pass serves every queue.
    private int _inlineBusy;

    /// <summary>Inline mode: one pass, unless another thread is making one right now (then 0).</summary>
    public int TryStepInline()
    {
        if (Interlocked.CompareExchange(ref _inlineBusy, 1, 0) != 0)
            return 0;
        try
        {
            return Step();
        }
        finally
        {
            Volatile.Write(ref _inlineBusy, 0);
        }
    }

    private volatile bool _inlineClosed;

    /// <summary>Inline mode: waits until no pass runs and keeps others out (Step, fault injection).</summary>
    /// <exception cref="ObjectDisposedException">The controller was disposed.</exception>
    public void EnterInline()
    {
        var spin = new SpinWait();
        while (Interlocked.CompareExchange(ref _inlineBusy, 1, 0) != 0)
        {
            if (_inlineClosed)
                throw new ObjectDisposedException(nameof(EmulatedController), "the emulated controller was disposed.");
            spin.SpinOnce();
        }
    }

    /// <summary>Ends <see cref="EnterInline"/>.</summary>
    public void ExitInline() => Volatile.Write(ref _inlineBusy, 0);

    /// <summary>Inline mode, disposal: waits for a running pass, then keeps the gate shut for good.</summary>
    public void CloseInline()
    {
        var spin = new SpinWait();
        while (Interlocked.CompareExchange(ref _inlineBusy, 1, 0) != 0)
            spin.SpinOnce();
        _inlineClosed = true;
    }

    private volatile string? _fatalReason;

    /// <summary>Why CSTS.CFS is set (what the host's transport reports as its FatalReason); null while it is not.</summary>
    public string? FatalReason => _fatalReason;

    /// <summary>Sets CSTS.CFS and stops command processing until a controller reset; <paramref name="reason"/> says why.</summary>
    public void EnterFatalState(string reason)
    {
        _fatal = true;
        _fatalReason = reason;
        Registers.UpdateStatus(ControllerStatus.Fatal, 0);
    }

    /// <summary>
    /// One pass over registers and queues; returns how much it did (commands fetched, media
    /// completions handled). The media I/O the pass prepared goes to the kernel at its end, in one
    /// system call; an inline pass with nothing else to do waits for a media completion, so every
    /// pass of the host's polling moves something.
    /// </summary>
    public int Step()
    {
        int work = StepQueues();
        if (_interruptQueues.Length != 0)
            RaiseInterrupts();
        return work;
    }

    private int StepQueues()
    {
        if (_actionCount != 0)
            RunQueuedActions();
        if (_shutdownCompletePending)
            CompleteShutdown();   // one pass after SHST 01b was shown
        var change = Registers.Observe();
        if (change != ConfigurationEvent.None)
            OnConfigurationChange(change);
        else
            Registers.RestoreReadOnly();   // CAP, VS and CSTS are read-only: undo a host write on the next pass (three loads when nothing changed)
        if (!_ready || _fatal || _shutdown)
            return 0;
        var media = _media;
        int work = media?.Poll() ?? 0;
        if (_deferred.Count != 0)
            PostDeferred();

        work += Drain(_submissionQueues[0]!, admin: true);
        var ioQueues = _ioQueues;
        for (int i = 0; i < ioQueues.Length; i++)
            work += Drain(ioQueues[i], admin: false);
        if (media is not null && _ready && !_fatal)
        {
            media.SubmitPrepared();
            work += media.Poll();   // page-cache I/O completes while it is submitted
            if (work == 0 && DeviceThread is null && media.HasInFlight)
            {
                media.WaitForCompletion();
                work += media.Poll();
            }
        }
        return work;
    }

    private int Drain(EmulatedSubmissionQueue sq, bool admin)
    {
        int processed = 0;
        var cq = sq.CompletionQueue;
        var media = _media;
        // At most one queue's worth per pass (round robin arbitration): a busy queue cannot starve the others.
        // An I/O command is fetched only when the media path could take it (no command waits for a buffer).
        while (processed < sq.Size && sq.HasWork() && !cq.IsFull && (admin || media is null || media.CanAccept))
        {
            sq.Fetch(out SubmissionEntry command);
            processed++;
            uint result = 0;
            NvmeStatus status;
            string? detail = null;
            ulong errorLba = 0;
            bool completionFault = false, faultTaken = false, drop = false;
            TimeSpan delay = default;
            // An aborted command never runs, so the abort is taken first: an injected failure waits
            // for the next command that does run, and no abort request outlives its command.
            if (_aborts.Count != 0 && TakeAbort(sq.Id, command.CommandId))
                status = NvmeStatus.AbortedByRequest;
            else if (Faults.Armed && Faults.TryTakeStatus(admin, command.Opcode, command.NamespaceId, out NvmeStatus forced))
                status = forced;
            else
            {
                // An I/O command's completion fault is taken before it runs: the media path may complete it later.
                if (!admin)
                {
                    faultTaken = true;
                    completionFault = Faults.Armed && Faults.TryTakeCompletionFault(admin, command.Opcode, command.NamespaceId, out drop, out delay);
                    if (completionFault)
                        media?.SetNextCompletionFault(drop, delay);
                }
                try
                {
                    status = admin ? _admin.Execute(ref command, out result) : _io.Execute(ref command, sq, out result);
                    errorLba = admin ? 0 : _io.LastErrorLba;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The backing file or a format record failed (disk full, I/O error...): the command
                    // fails with a status, the device lives on, and the reason goes with the failure.
                    status = MediaErrorStatus.Of(e, admin);
                    detail = e.Message;
                    errorLba = MediaErrorLba(command.NamespaceId, e);
                }
                if (status == AsyncMedia.Accepted)
                    continue;   // the media path completes it (with its completion fault)
                if (completionFault)
                    media?.ClearNextCompletionFault();
            }

            if (status == AdminCommands.HeldForEvent)
                continue;   // an Asynchronous Event Request: completes when an event occurs
            if (!status.IsSuccess)
                Logs.RecordError(sq.Id, command.CommandId, status, command.NamespaceId, errorLba, detail);
            if (!faultTaken)
                completionFault = Faults.Armed && Faults.TryTakeCompletionFault(admin, command.Opcode, command.NamespaceId, out drop, out delay);
            if (completionFault)
            {
                if (!drop)
                    DeferCompletion(delay, sq, command.CommandId, status, result);
                continue;
            }
            if (_fatal || !_ready)
                break;   // the command took the controller down (fault) or reset it
            cq.Post(result, (ushort)sq.Head, sq.Id, command.CommandId, status);
        }
        return processed;
    }

    /// <summary>Posts a completion after <paramref name="delay"/> (an injected delay fault).</summary>
    public void DeferCompletion(TimeSpan delay, EmulatedSubmissionQueue sq, ushort commandId, NvmeStatus status, uint result)
        => _deferred.Add(new DeferredCompletion(Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency),
            sq.CompletionQueue, sq, commandId, status, result));

    /// <summary>The LBA a media failure hit, for the Error Information log (0 when it is not a block access).</summary>
    private ulong MediaErrorLba(uint namespaceId, Exception failure)
        => failure is MediaIoException { Operation: MediaOperation.Read or MediaOperation.Write or MediaOperation.Zero } media
           && namespaceId >= 1 && namespaceId <= Namespaces.Length
            ? Namespaces[namespaceId - 1].LbaAt(media.Offset)
            : 0;

    /// <summary>Text the device recorded about a failed command (a media error's errno, file and offset), or null.</summary>
    public string? DescribeFailure(ushort sqId, ushort commandId) => Logs.FindDetail(sqId, commandId);

    private void PostDeferred()
    {
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < _deferred.Count; i++)
        {
            var d = _deferred[i];
            if (d.DueTimestamp > now || d.Queue.IsFull)
                continue;
            d.Queue.Post(d.Result, (ushort)d.Sq.Head, d.Sq.Id, d.CommandId, d.Status);
            _deferred.RemoveAt(i--);
        }
    }

    private void RunQueuedActions()
    {
        while (_actions.TryDequeue(out var action))
        {
            Interlocked.Decrement(ref _actionCount);
            try
            {
                action.Work();
            }
            catch (Exception e) when (!action.Escapes)
            {
                action.Error = e;
            }
            finally
            {
                action.Done.Set();
            }
        }
    }

    /// <summary>Fails every queued device action (the device thread is stopping).</summary>
    public void AbandonQueuedActions()
    {
        while (_actions.TryDequeue(out var action))
        {
            action.Error = new ObjectDisposedException(nameof(EmulatedController), "the emulated controller was disposed before the request ran.");
            action.Done.Set();
        }
    }

    /// <summary>Marks an unfetched command for abort (Abort command); false when it is not waiting in that SQ.</summary>
    public bool RequestAbort(ushort sqId, ushort commandId)
    {
        if (sqId >= _submissionQueues.Length || _submissionQueues[sqId] is not { } sq || !sq.IsPending(commandId))
            return false;
        // One request per command: a second one would outlive it and abort the next command with its id.
        if (!_aborts.Contains((sqId, commandId)))
            _aborts.Add((sqId, commandId));
        return true;
    }

    private bool TakeAbort(ushort sqId, ushort commandId)
    {
        int i = _aborts.IndexOf((sqId, commandId));
        if (i < 0)
            return false;
        _aborts.RemoveAt(i);
        return true;
    }

    public void Dispose()
    {
        _media?.Dispose();   // first: drains the media I/O in flight before the files and buffers go
        foreach (var ns in Namespaces)
            ns.Dispose();
        Dma.Clear();
        Registers.Dispose();
        DisposeInterruptVectors();
    }
}
