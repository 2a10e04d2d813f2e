using System.Diagnostics;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// The admin queue pair (queue 0; NVMe Base 2.0 §3.3.1.1): the one queue shared by all
/// threads, so every command runs under a lock, synchronously, polling until its completion
/// arrives, the timeout expires or the controller reports a fatal status. A data buffer must
/// be alive and from this controller's memory; it is leased until the command's completion
/// arrives, which for an abandoned command (timeout, fatal status) may be long after
/// ExecuteRaw returned, or until a reset fails it.
/// </summary>
internal sealed class AdminQueue : IDisposable
{
    private readonly object _lock = new();
    private readonly NvmeTransport _transport;
    private readonly ControllerRegisterState _state;
    private readonly DmaAllocator _memory;
    private readonly TransportQueuePair _pair;
    private readonly NvmeRequestPool<AdminRequest> _requests;
    private readonly TimeSpan _timeout;

    public AdminQueue(NvmeTransport transport, TransportQueuePair pair, ControllerRegisterState state, DmaAllocator memory, TimeSpan timeout)
    {
        _transport = transport;
        _pair = pair;
        _state = state;
        _memory = memory;
        _timeout = timeout;
        _requests = new NvmeRequestPool<AdminRequest>(pair.Id, pair.Depth, id => new AdminRequest(id));
        for (int i = 0; i < _requests.Capacity; i++)
            _requests[i].Bind(_requests);
    }

    /// <summary>The admin queue pair as the transport carries it.</summary>
    public TransportQueuePair Pair => _pair;

    /// <summary>Runs <paramref name="command"/> (its data described by <paramref name="data"/>) and returns its completion; throws <see cref="NvmeException"/> on an error status.</summary>
    public CompletionEntry Execute(SubmissionEntry command, DmaBuffer? data = null, int dataLength = 0)
    {
        CompletionEntry cqe;
        string? detail = null;
        lock (_lock) // the command id stays this command's until the detail is read
        {
            cqe = ExecuteRaw(command, data, dataLength);
            if (!new NvmeStatus(cqe.Status).IsSuccess)
                detail = _transport.DescribeFailure(0, cqe.CommandId);
        }
        var status = new NvmeStatus(cqe.Status);
        if (!status.IsSuccess)
            throw new NvmeException(status, command.Opcode, isAdmin: true, command.NamespaceId, detail: detail);
        return cqe;
    }

    /// <summary>Runs <paramref name="command"/> and returns its completion whatever the status.</summary>
    /// <exception cref="ObjectDisposedException"><paramref name="data"/> was disposed.</exception>
    /// <exception cref="ArgumentException"><paramref name="data"/> comes from another controller's memory.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dataLength"/> does not fit <paramref name="data"/>.</exception>
    public CompletionEntry ExecuteRaw(SubmissionEntry command, DmaBuffer? data = null, int dataLength = 0)
    {
        lock (_lock)
        {
            AdminRequest request = _requests.TryRent() ?? throw new NvmeControllerException(
                $"Admin queue of {_transport.Address} has {_requests.Capacity} commands that never completed; reset the controller.", _state.CstsWhilePolling, fatal: false);
            request.Command = command;
            try
            {
                if (data is not null)
                {
                    DmaBufferChecks.Lease(data, _memory, nameof(data));
                    request.Data = data;
                    request.DataOffset = 0;
                    request.DataLength = dataLength == 0 ? data.Length : dataLength;
                    DmaBufferChecks.CheckLength(data, request.DataLength, nameof(dataLength));
                }
                request.Done = false;
                _pair.Submit(request, publish: true);
            }
            catch
            {
                request.ReleaseData();
                _requests.Return(request);
                throw;
            }

            var clock = Stopwatch.StartNew();
            var spinner = new SpinWait();
            int spins = 0;
            while (!request.Done)
            {
                if (_pair.ProcessCompletions() != 0)
                    continue;
                if ((++spins & 255) == 0)
                {
                    uint csts = _state.CstsWhilePolling;
                    if ((csts & ControllerStatus.Fatal) != 0)
                    {
                        request.Abandoned = true;
                        throw _state.FatalException(csts, $"while waiting for admin command {NvmeException.OpcodeName(command.Opcode, true)}");
                    }
                    if (clock.Elapsed > _timeout)
                    {
                        request.Abandoned = true;
                        if (NvmeEventSource.Log.IsEnabled())
                            NvmeEventSource.Log.CommandTimeout(_transport.Address, 0, request.CommandId, command.Opcode, NvmeException.OpcodeName(command.Opcode, true), _timeout.TotalMilliseconds);
                        throw new NvmeControllerException(
                            $"Admin command {NvmeException.OpcodeName(command.Opcode, true)} (command id {request.CommandId}) did not complete within {_timeout.TotalSeconds:0.#} s (CSTS = 0x{csts:X8}).",
                            csts, fatal: false);
                    }
                }
                spinner.SpinOnce(sleep1Threshold: -1);
            }
            CompletionEntry cqe = request.Completion;
            _requests.Return(request);
            return cqe;
        }
    }

    /// <summary>
    /// Submits <paramref name="command"/> without waiting, from any thread, if the admin queue is
    /// free right now (no other thread runs an admin command) and has a request slot; false
    /// otherwise. Its completion goes to <paramref name="handler"/> on whichever thread reaps it
    /// next (<see cref="TryProcessCompletions"/>, or a synchronous command's wait). What a
    /// transport's polling thread uses for Keep Alive (NVMe/TCP KATO) without blocking the I/O path.
    /// </summary>
    public bool TrySubmitBackground(in SubmissionEntry command, IAdminBackgroundCompletion handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (!Monitor.TryEnter(_lock))
            return false;
        try
        {
            AdminRequest? request = _requests.TryRent();
            if (request is null)
                return false;
            request.Command = command;
            request.Done = false;
            request.Background = handler;
            try
            {
                _pair.Submit(request, publish: true);
            }
            catch
            {
                request.Background = null;
                _requests.Return(request);
                throw;
            }
            return true;
        }
        finally
        {
            Monitor.Exit(_lock);
        }
    }

    /// <summary>Reaps admin completions if no other thread is using the admin queue right now; false when it was busy.</summary>
    public bool TryProcessCompletions()
    {
        if (!Monitor.TryEnter(_lock))
            return false;
        try
        {
            _pair.ProcessCompletions();
            return true;
        }
        finally
        {
            Monitor.Exit(_lock);
        }
    }

    /// <summary>After the controller was disabled: fail in-flight commands and restart the queue pair.</summary>
    public void ResetAfterDisable()
    {
        lock (_lock)
        {
            _pair.FailInFlight(NvmeStatus.AbortedSqDeletion.Value);
            _pair.ResetAfterControllerReset();
        }
    }

    public void Dispose() => _pair.Dispose();

    private sealed class AdminRequest : NvmeRequest
    {
        public CompletionEntry Completion;
        public volatile bool Done;
        public bool Abandoned;
        public IAdminBackgroundCompletion? Background;
        private NvmeRequestPool<AdminRequest>? _owner;

        public AdminRequest(ushort id) : base(id) { }

        /// <summary>Ends the lease on the caller's buffer: the controller is done with it (or never got it).</summary>
        public void ReleaseData()
        {
            if (Data is { } data)
            {
                Data = null;
                data.ReleaseLease();
            }
        }

        protected internal override void OnCompleted(in CompletionEntry completion)
        {
            ReleaseData();
            Completion = completion;
            Done = true;
            if (Background is { } handler)
            {
                // Nobody waits for it: back to the pool first, then tell whoever submitted it.
                Background = null;
                _owner?.Return(this);
                handler.OnAdminCompleted(in completion);
                return;
            }
            if (Abandoned)
            {
                // Its caller gave up (timeout or fatal status); nobody else will return it.
                Abandoned = false;
                _owner?.Return(this);
            }
        }

        public void Bind(NvmeRequestPool<AdminRequest> owner) => _owner = owner;
    }
}

/// <summary>Receives the completion of a command submitted with <see cref="AdminQueue.TrySubmitBackground"/>.</summary>
internal interface IAdminBackgroundCompletion
{
    /// <summary>Called on the thread that reaped the completion, under the admin queue's lock; must not wait for the admin queue.</summary>
    void OnAdminCompleted(in CompletionEntry completion);
}
