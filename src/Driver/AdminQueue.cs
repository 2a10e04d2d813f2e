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
    private readonly INvmeTransport _transport;
    private readonly ControllerRegisterState _state;
    private readonly DmaAllocator _memory;
    private readonly DmaBuffer _sqMemory;
    private readonly DmaBuffer _cqMemory;
    private readonly QueuePair<AdminRequest> _pair;
    private readonly PrpBuilder _prp;
    private readonly TimeSpan _timeout;

    public AdminQueue(INvmeTransport transport, ControllerRegisterState state, DmaAllocator memory, int entries, int pageSize, int maxTransfer, TimeSpan timeout)
    {
        _transport = transport;
        _state = state;
        _memory = memory;
        _timeout = timeout;
        int dstrd = state.Capabilities.Dstrd;
        _sqMemory = memory.AllocatePageAligned(entries * SubmissionEntry.Size);
        _cqMemory = memory.AllocatePageAligned(entries * CompletionEntry.Size);
        var sq = new SubmissionQueue(0, _sqMemory, entries, transport.Registers, ControllerRegisters.SqTailDoorbell(0, dstrd));
        var cq = new CompletionQueue(0, _cqMemory, entries, transport.Registers, ControllerRegisters.CqHeadDoorbell(0, dstrd));
        _pair = new QueuePair<AdminRequest>(sq, cq, id => new AdminRequest(id));
        for (int i = 0; i < _pair.Depth; i++)
            _pair.RequestFor((ushort)i).Bind(_pair);
        _prp = new PrpBuilder(memory, pageSize, maxTransfer, _pair.Depth);
    }

    public int Entries => _pair.Submission.Entries;

    public ulong SubmissionIova => _pair.Submission.Iova;

    public ulong CompletionIova => _pair.Completion.Iova;

    /// <summary>Runs <paramref name="command"/> (PRPs built for <paramref name="data"/>) and returns its completion; throws <see cref="NvmeException"/> on an error status.</summary>
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
    public CompletionEntry ExecuteRaw(SubmissionEntry command, DmaBuffer? data = null, int dataLength = 0)
    {
        lock (_lock)
        {
            AdminRequest request = _pair.TryRent() ?? throw new NvmeControllerException(
                $"Admin queue of {_transport.Address} has {_pair.Depth} commands that never completed; reset the controller.", _state.Csts, fatal: false);
            request.Command = command;
            if (data is not null)
            {
                try
                {
                    DmaBufferChecks.Lease(data, _memory, nameof(data));
                    request.Data = data;
                    _prp.Build(request.CommandId, data, 0, dataLength == 0 ? data.Length : dataLength, ref request.Command);
                }
                catch
                {
                    request.ReleaseData();
                    _pair.Return(request);
                    throw;
                }
            }
            request.Done = false;
            _pair.Submit(request);

            var clock = Stopwatch.StartNew();
            var spinner = new SpinWait();
            int spins = 0;
            while (!request.Done)
            {
                _transport.Progress();
                if (_pair.ProcessCompletions() != 0)
                    continue;
                if ((++spins & 255) == 0)
                {
                    uint csts = _state.Csts;
                    if ((csts & ControllerStatus.Fatal) != 0)
                    {
                        request.Abandoned = true;
                        throw _state.FatalException(csts, $"while waiting for admin command {NvmeException.OpcodeName(command.Opcode, true)}");
                    }
                    if (clock.Elapsed > _timeout)
                    {
                        request.Abandoned = true;
                        throw new NvmeControllerException(
                            $"Admin command {NvmeException.OpcodeName(command.Opcode, true)} (command id {request.CommandId}) did not complete within {_timeout.TotalSeconds:0.#} s (CSTS = 0x{csts:X8}).",
                            csts, fatal: false);
                    }
                }
                spinner.SpinOnce(sleep1Threshold: -1);
            }
            CompletionEntry cqe = request.Completion;
            _pair.Return(request);
            return cqe;
        }
    }

    /// <summary>After the controller was disabled: forget in-flight commands and restart the rings.</summary>
    public void ResetAfterDisable()
    {
        lock (_lock)
        {
            _pair.FailInFlight(NvmeStatus.AbortedSqDeletion.Value);
            _pair.ResetRings();
        }
    }

    public void Dispose()
    {
        _prp.Dispose();
        _sqMemory.Dispose();
        _cqMemory.Dispose();
    }

    private sealed class AdminRequest : QueueRequest
    {
        public CompletionEntry Completion;
        public volatile bool Done;
        public bool Abandoned;
        public DmaBuffer? Data;
        private QueuePair<AdminRequest>? _owner;

        public AdminRequest(ushort id) : base(id) { }

        /// <summary>Ends the lease on the caller's buffer: the controller is done with it.</summary>
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
            if (Abandoned)
            {
                // Its caller gave up (timeout or fatal status); nobody else will return it.
                Abandoned = false;
                _owner?.Return(this);
            }
        }

        public void Bind(QueuePair<AdminRequest> owner) => _owner = owner;
    }
}
