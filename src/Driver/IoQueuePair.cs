using System.Diagnostics;
using System.Runtime.CompilerServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// An I/O queue pair on the controller (NVMe Base 2.0 §3.3.1), owned by one thread: submit and
/// poll it from that thread only (no locks on this path; the owner check is in
/// IoQueuePairThreads.cs). It owns the requests (one per command id, pooled) and sits on the
/// transport's queue pair, which carries them (PCIe: rings, doorbells, PRPs), so a submit or a
/// poll is one indirect call into the transport. The transport creates it on the controller
/// (PCIe: Create I/O CQ then SQ) and Dispose removes it (Delete I/O SQ then CQ). The block
/// commands are in NamespaceCommands.cs. Every submit checks that its buffers are alive and
/// come from this controller's memory, and leases them until the command's completion is
/// reaped (or the command is failed).
/// </summary>
public sealed partial class IoQueuePair : IPollable, IDisposable
{
    private readonly TransportQueuePair _wire;
    private readonly NvmeRequestPool<IoRequest> _requests;
    private readonly NvmeTransport _transport;
    private readonly NvmeController _controller;
    private readonly DmaAllocator _memory;
    private readonly int _maxTransferBytes;
    private readonly string? _protectionUnsupported;   // the transport carries no PI/metadata (NVMe/TCP): why
    private int _ownerThreadId;
    private bool _batchDoorbells;
    private bool _disposed;
    private readonly DmaBuffer _rangeMemory;
    private bool _createdOnController;
    private List<DmaBuffer>? _heldLeases;

    internal IoQueuePair(NvmeController controller, ushort id, IoQueuePairOptions options, PollMode pollMode)
    {
        int entries = options.Entries;
        PollMode = pollMode;
        _adaptiveSpinTicks = (long)(controller.Options.AdaptiveSpinTime.TotalSeconds * Stopwatch.Frequency);
        _controller = controller;
        _transport = controller.Transport;
        Id = id;
        _memory = controller.Memory;
        _maxTransferBytes = controller.MaxTransferBytes;
        _protectionUnsupported = _transport.ProtectionUnsupportedReason;
        _wire = _transport.CreateIoQueuePair(new QueuePairSettings(id, entries, _memory, controller.PageSize, _maxTransferBytes, pollMode != PollMode.Spin));
        try
        {
            _requests = new NvmeRequestPool<IoRequest>(id, _wire.Depth, cid => new IoRequest(cid, this));
            _rangeMemory = _memory.Allocate(_wire.Depth * DatasetRange.Size);
            (_splitLargeTransfers, _softwareQueueDepth) = (options.SplitLargeTransfers, options.SoftwareQueueDepth);
            if (_splitLargeTransfers || _softwareQueueDepth > 0)
                (_commands, _waiting) = CreateBackPressure(id);
        }
        catch
        {
            _wire.Dispose();
            throw;
        }
        RegisterMetrics(entries);
    }

    /// <summary>Queue identifier (1..n).</summary>
    public ushort Id { get; }

    /// <summary>Commands that can be outstanding at once (SQ entries - 1).</summary>
    public int Depth => _wire.Depth;

    /// <summary>The transport's half of this queue pair.</summary>
    internal TransportQueuePair Wire => _wire;

    /// <summary>
    /// MMIO doorbell writes this queue pair has made (PCIe: SQ tail and CQ head registers; 0 on
    /// NVMe over Fabrics). Under a hypervisor each is a VM exit; with shadow doorbells
    /// (<see cref="NvmeController.ShadowDoorbellsEnabled"/>) only the updates EventIdx asks for are
    /// written. A plain counter of the owning thread.
    /// </summary>
    public long MmioDoorbellWrites => _wire.MmioDoorbellWrites;

    /// <summary>Commands submitted and not yet completed.</summary>
    public int InFlight => _wire.InFlight;

    /// <summary>Request slots free now (an awaited request holds its slot until it is awaited).</summary>
    public int AvailableSlots => _requests.Available;

    /// <summary>Largest data transfer of one command in bytes (from MDTS).</summary>
    public int MaxTransferBytes => _maxTransferBytes;

    /// <summary>The controller this queue pair belongs to.</summary>
    public NvmeController Controller => _controller;

    /// <summary>
    /// When true, submissions only write the SQ entry; the controller sees them at the next
    /// <see cref="RingDoorbell"/> (one MMIO write for a batch).
    /// </summary>
    public bool BatchDoorbells
    {
        get => _batchDoorbells;
        set => _batchDoorbells = value;
    }

    /// <summary>Publishes submissions made with <see cref="BatchDoorbells"/> on (owner thread only).</summary>
    /// <exception cref="InvalidOperationException">Called from a thread that does not own the pair.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RingDoorbell()
    {
        CheckOwnerThread();
        _wire.Flush();
    }

    /// <summary>
    /// Reaps up to <paramref name="max"/> completions on the calling (owning) thread, running
    /// their callbacks and awaiting continuations, with one CQ head doorbell write per batch.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from a thread that does not own the pair.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ProcessCompletions(int max = int.MaxValue)
    {
        CheckOwnerThread();
        if (Volatile.Read(ref _cancelPending) != 0)
            ProcessCancellations();   // before the device is polled (stepped, inline), so the Abort can still find them in the SQ
        int reaped = _wire.ProcessCompletions(max);
        if (_waitingCount != 0)
            IssueWaiting();
        return reaped;
    }

    /// <summary>
    /// Polls until <paramref name="task"/> completes, then returns its result (throwing its
    /// <see cref="NvmeException"/>). Never hangs: throws <see cref="NvmeControllerException"/>
    /// when the controller reports CSTS.CFS (failing every outstanding command of this queue
    /// pair), and <see cref="TimeoutException"/> when <paramref name="timeout"/> (default 30 s)
    /// passes with nothing completing (the commands stay outstanding). A task can be waited (or
    /// awaited) once: its request slot is reused afterwards.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// Called from a thread that does not own the pair, or <paramref name="task"/> was already
    /// waited or awaited (the message says which).
    /// </exception>
    public void Wait(ValueTask task, TimeSpan? timeout = null) => Wait(task, CancellationToken.None, timeout);

    /// <summary>
    /// <see cref="Wait(ValueTask, TimeSpan?)"/> that also stops when
    /// <paramref name="cancellationToken"/> is cancelled: <see cref="OperationCanceledException"/>,
    /// and the command stays outstanding, as after a timeout (it completes on a later poll; the
    /// task can still be waited then). Checked before polling and every 1024 empty polls.
    /// </summary>
    /// <exception cref="OperationCanceledException">The token was cancelled before the task completed.</exception>
    /// <exception cref="InvalidOperationException">Called from a thread that does not own the pair, or the task was already waited or awaited.</exception>
    public void Wait(ValueTask task, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        CheckOwnerThread();
        long start = Stopwatch.GetTimestamp();
        int spins = 0;
        while (!task.IsCompleted)
            PollStep(ref spins, start, timeout, cancellationToken);
        task.GetAwaiter().GetResult();
    }

    /// <summary>Polls until no command is outstanding or waiting in the software queue (same fatal/timeout rules as <see cref="Wait(ValueTask, TimeSpan?)"/>).</summary>
    /// <exception cref="InvalidOperationException">Called from a thread that does not own the pair.</exception>
    public void Drain(TimeSpan? timeout = null) => Drain(CancellationToken.None, timeout);

    /// <summary>
    /// <see cref="Drain(TimeSpan?)"/> that also stops when <paramref name="cancellationToken"/> is
    /// cancelled (<see cref="OperationCanceledException"/>; the commands stay outstanding).
    /// </summary>
    /// <exception cref="OperationCanceledException">The token was cancelled while commands were outstanding.</exception>
    /// <exception cref="InvalidOperationException">Called from a thread that does not own the pair.</exception>
    public void Drain(CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        CheckOwnerThread();
        long start = Stopwatch.GetTimestamp();
        int spins = 0;
        while (_wire.InFlight != 0 || _waitingCount != 0)
            PollStep(ref spins, start, timeout, cancellationToken);
    }

    private void PollStep(ref int spins, long start, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        // The first step checks the token before polling, then every 1024 empty polls with CSTS.
        if (spins == 0 && cancellationToken.IsCancellationRequested)
            ThrowCancelled(cancellationToken);
        // A sleeping pair checks after every sleep (at most SleepSliceMs); a spinning one every 1024 empty polls.
        if (PollOrSleep() != 0 || (!TakeSlept() && (++spins & 1023) != 0))
            return;
        uint csts = ThrowIfControllerFatal();
        if (cancellationToken.IsCancellationRequested)
            ThrowCancelled(cancellationToken);
        TimeSpan limit = timeout ?? TimeSpan.FromSeconds(30);
        if (Stopwatch.GetElapsedTime(start) > limit)
        {
            ReportTimeout(limit);
            throw new TimeoutException($"Queue pair {Id}: nothing completed within {limit.TotalSeconds:0.###} s ({_wire.InFlight} commands outstanding, CSTS = 0x{csts:X8}). The completion may have been lost: Abort the command or reset the controller.");
        }
        if ((spins & 0xFFFF) == 0 && PollMode == PollMode.Spin)
            Thread.Yield();
    }

    /// <summary>Reads CSTS; on fatal status fails this pair's outstanding commands and throws. Returns CSTS.</summary>
    private uint ThrowIfControllerFatal()
    {
        uint csts = _controller.ReadStatusWhilePolling();
        if ((csts & ControllerStatus.Fatal) != 0)
        {
            NvmeControllerException fatal = _controller.FatalException(csts, $"with {_wire.InFlight} commands outstanding on queue {Id}");
            FailInFlight(NvmeStatus.AbortedSqDeletion, controllerStopped: false);
            throw fatal;
        }
        return csts;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ThrowCancelled(CancellationToken cancellationToken) => throw new OperationCanceledException(
        $"Queue pair {Id}: the wait was cancelled with {_wire.InFlight} commands outstanding; they stay outstanding and complete on a later poll (Abort them or reset the controller to end them).",
        cancellationToken);

    /// <summary>
    /// Submits a caller-built command (raw path, e.g. vendor or invalid opcodes). PRPs are
    /// built for <paramref name="dataLength"/> bytes of <paramref name="data"/> when given
    /// (checked and leased like any data buffer); the command id is assigned here. The
    /// command's own pointers (PRPs when no <paramref name="data"/> is given, MPTR) go to the
    /// controller as they are: that is what the raw path is for (e.g. testing how a controller
    /// handles addresses it was not given).
    /// </summary>
    /// <exception cref="ObjectDisposedException"><paramref name="data"/> was disposed.</exception>
    /// <exception cref="ArgumentException"><paramref name="data"/> comes from another controller's memory.</exception>
    /// <exception cref="InvalidOperationException">Called from a thread that does not own the pair.</exception>
    public ValueTask SubmitRawAsync(in SubmissionEntry command, DmaBuffer? data = null, int dataLength = 0)
        => RentRaw(in command, data, dataLength).ArmAwaitableAndSubmit(this);

    /// <summary>
    /// Callback form of <see cref="SubmitRawAsync"/>: the callback's <see cref="IoResult"/> carries
    /// the status and CQE DW0 (what a passthru tool reports). Returns the command identifier it
    /// was submitted with (what <see cref="NvmeController.Abort"/> needs).
    /// </summary>
    public ushort SubmitRaw(in SubmissionEntry command, DmaBuffer? data, int dataLength, IoCompletionCallback callback, object? state)
    {
        IoRequest r = RentRaw(in command, data, dataLength);
        ushort commandId = r.CommandId;
        r.SubmitWithCallback(this, callback, state);
        return commandId;
    }

    private IoRequest RentRaw(in SubmissionEntry command, DmaBuffer? data, int dataLength)
    {
        Enter();
        IoRequest r = _requests.TryRent() ?? RefuseFull(tryOnly: false)!;
        r.Command = command;
        r.Opcode = command.Opcode;
        r.NamespaceId = command.NamespaceId;
        r.StartLba = command.Cdw10 | ((ulong)command.Cdw11 << 32);
        r.BlockCount = 0;
        r.DataLength = 0;
        if (data is not null)
        {
            try
            {
                LeaseData(r, data, nameof(data));
                r.DataLength = dataLength == 0 ? data.Length : dataLength;
                DmaBufferChecks.CheckLength(data, r.DataLength, nameof(dataLength));
                if (r.DataLength > _maxTransferBytes)
                    ThrowBeyondMdts(r.DataLength);
            }
            catch
            {
                ReturnUnsubmitted(r);
                throw;
            }
        }
        return r;
    }

    /// <summary>
    /// Command identifier of the most recent submission, for tests (one store per submit). Not
    /// public: with callbacks and awaits it names whichever command went last; callers that
    /// need an identifier get it from the submission (<see cref="SubmitRaw"/>).
    /// </summary>
    internal ushort LastCommandId { get; private set; }

    internal void CreateOnController()
    {
        _transport.ConnectIoQueuePair(_wire, _controller.Admin);
        _createdOnController = true;
    }

    /// <summary>
    /// Completes every outstanding command with <paramref name="status"/> (reset, fatal
    /// controller, disposal). With <paramref name="controllerStopped"/> false the controller
    /// may still be working on them (fatal status, a controller that would not stop), so their
    /// buffer leases are held back (a disposed buffer stays out of the pool) until
    /// <see cref="ReleaseHeldLeases"/> after the controller was disabled, or for good.
    /// </summary>
    internal int FailInFlight(NvmeStatus status, bool controllerStopped)
    {
        if (!controllerStopped)
            HoldLeasesOfInFlight();
        int failed = _wire.FailInFlight(status.Value);
        return failed + FailWaiting(status);
    }

    private void HoldLeasesOfInFlight()
    {
        for (int i = 0; i < _requests.Capacity; i++)
        {
            IoRequest r = _requests[i];
            if (!r.InFlight)
                continue;
            // A part of a split command leases nothing itself: its parent holds the leases.
            IoRequest owner = r.Parent ?? r;
            if (owner.BuffersLeased)
            {
                if (owner.Data is { } data)
                    (_heldLeases ??= []).Add(data);
                if (owner.Metadata is { } metadata)
                    (_heldLeases ??= []).Add(metadata);
                owner.Data = null;
                owner.Metadata = null;
            }
            r.Data = null;
            r.Metadata = null;
        }
    }

    /// <summary>The controller was disabled: the leases held back by a failure without a stop end now.</summary>
    internal void ReleaseHeldLeases()
    {
        if (_heldLeases is not { } held)
            return;
        _heldLeases = null;
        foreach (DmaBuffer buffer in held)
            buffer.ReleaseLease();
    }

    internal void ForgetControllerQueues() => _createdOnController = false;

    /// <summary>
    /// Deletes the SQ then the CQ on the controller (if it is still alive), then fails what is
    /// still outstanding with AbortedSqDeletion (callbacks and continuations run on the calling
    /// thread) and frees the rings. The controller deletes a queue only after it stopped using
    /// that queue's commands, so their buffers go back (when disposed) only once the device is
    /// done with them. Not bound to the owner thread (the controller disposes its queue pairs),
    /// but call it only while no other thread uses the pair.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        // Stopped: the queues were deleted (or never existed on the controller), or the controller is disabled.
        bool stopped = !_createdOnController || (_controller.ReadStatus() & (ControllerStatus.Ready | ControllerStatus.Fatal)) == 0;
        if (_createdOnController && _controller.IsOperational)
        {
            try
            {
                _transport.DisconnectIoQueuePair(_wire, _controller.Admin);
                stopped = true;
            }
            catch (NvmeControllerException)
            {
                // The controller died meanwhile; whether it still works on the queue's commands is unknown.
            }
        }
        _createdOnController = false;
        int failed = _wire.InFlight != 0 || _waitingCount != 0 ? FailInFlight(NvmeStatus.AbortedSqDeletion, stopped) : 0;
        if (stopped)
            ReleaseHeldLeases();
        UnregisterMetrics(failed);
        _controller.Release(this);
        _rangeMemory.Dispose();
        _wire.Dispose();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfDisposed()
    {
        if (_disposed)
            ThrowDisposed();
    }

    /// <summary>The checks every submit starts with: not disposed, called on the owner thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Enter()
    {
        // The loop's token is read here, not only between polls: several continuations can run
        // inside one ProcessCompletions, and none may submit once the token was cancelled.
        if (_disposed | _loopStopping | _loopToken.IsCancellationRequested)
            ThrowClosed();   // IoQueuePair.EventLoop.cs
        CheckOwnerThread();
    }

    /// <summary><see cref="Enter()"/>, and <paramref name="ns"/> is a namespace of this queue pair's controller.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Enter(Namespace ns)
    {
        Enter();
        if (ns?.Controller != _controller)
            ThrowForeignNamespace(ns);
    }

    /// <summary>Checks <paramref name="buffer"/> and leases it as the request's data buffer (released when the command completes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void LeaseData(IoRequest r, DmaBuffer buffer, string paramName)
    {
        DmaBufferChecks.Lease(buffer, _memory, paramName);
        r.Data = buffer;
        r.DataOffset = 0;
        r.BuffersLeased = true;
    }

    /// <summary>Ends the leases of a request that never reached the wire and gives it back.</summary>
    private void ReturnUnsubmitted(IoRequest r)
    {
        r.ReleaseBuffers();
        ReturnRequest(r);
    }

    /// <summary>Gives a completed request back to its pool (called by the request itself).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void ReturnRequest(IoRequest r)
    {
        if (r.Split is null)
            _requests.Return(r);
        else
            _commands!.Return(r);
    }

    /// <summary>The transport, for a request asking what it knows about a failed command.</summary>
    internal NvmeTransport Transport => _transport;

    /// <summary>The transport's queue pair under this one (tests check which binding carries it).</summary>
    internal TransportQueuePair TransportPair => _wire;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowForeignNamespace(Namespace? ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        throw new ArgumentException(
            $"Namespace {ns.Id} belongs to controller {ns.Controller.Address}, not to {_controller.Address}, which owns I/O queue pair {Id}: "
            + "its format and size say nothing about this controller's namespaces. Use a namespace from this controller's Namespaces.", nameof(ns));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBeyondMdts(int bytes) => throw new ArgumentOutOfRangeException("dataLength",
        $"A single command on I/O queue pair {Id} can transfer 1..{_maxTransferBytes} bytes (MDTS); {bytes} bytes asked. Split the I/O.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowDisposed() => throw new ObjectDisposedException(nameof(IoQueuePair), $"I/O queue pair {Id} was disposed.");
}
