using System.Diagnostics;
using System.Runtime.CompilerServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// An I/O submission/completion queue pair on the controller (NVMe Base 2.0 §3.3.1), owned by
/// one thread: submit and poll it from that thread only (no locks on this path). Created with
/// Create I/O CQ then Create I/O SQ; Dispose deletes the SQ then the CQ. The block commands
/// are in NamespaceCommands.cs.
/// </summary>
public sealed partial class IoQueuePair : IPollable, IDisposable
{
    // Hot fields first.
    private readonly QueuePair<IoRequest> _pair;
    private readonly PrpBuilder _prp;
    private readonly INvmeTransport _transport;
    private readonly int _maxTransferBytes;
    private bool _batchDoorbells;
    // ---- not touched per I/O below this line ----
    private readonly NvmeController _controller;
    private readonly DmaBuffer _sqMemory;
    private readonly DmaBuffer _cqMemory;
    private readonly DmaBuffer _rangeMemory;
    private bool _createdOnController;
    private bool _disposed;

    internal IoQueuePair(NvmeController controller, ushort id, int entries)
    {
        _controller = controller;
        _transport = controller.Transport;
        Id = id;
        int dstrd = controller.Capabilities.Dstrd;
        DmaAllocator memory = controller.Memory;
        _sqMemory = memory.AllocatePageAligned(entries * SubmissionEntry.Size);
        _cqMemory = memory.AllocatePageAligned(entries * CompletionEntry.Size);
        try
        {
            var sq = new SubmissionQueue(id, _sqMemory, entries, _transport.Registers, ControllerRegisters.SqTailDoorbell(id, dstrd));
            var cq = new CompletionQueue(id, _cqMemory, entries, _transport.Registers, ControllerRegisters.CqHeadDoorbell(id, dstrd));
            var owner = new IoRequest.Owner { Transport = _transport };
            _pair = new QueuePair<IoRequest>(sq, cq, cid => new IoRequest(cid, owner));
            owner.Pair = _pair;
            _maxTransferBytes = controller.MaxTransferBytes;
            _prp = new PrpBuilder(memory, controller.PageSize, _maxTransferBytes, _pair.Depth);
            _rangeMemory = memory.Allocate(_pair.Depth * DatasetRange.Size);
        }
        catch
        {
            _sqMemory.Dispose();
            _cqMemory.Dispose();
            throw;
        }
    }

    /// <summary>Queue identifier (1..n).</summary>
    public ushort Id { get; }

    /// <summary>Commands that can be outstanding at once (SQ entries - 1).</summary>
    public int Depth => _pair.Depth;

    /// <summary>Commands submitted and not yet completed.</summary>
    public int InFlight => _pair.InFlight;

    /// <summary>Request slots free now (an awaited request holds its slot until it is awaited).</summary>
    public int AvailableSlots => _pair.AvailableRequests;

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

    /// <summary>Publishes submissions made with <see cref="BatchDoorbells"/> on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RingDoorbell() => _pair.RingDoorbell();

    /// <summary>
    /// Reaps up to <paramref name="max"/> completions on the calling (owning) thread, running
    /// their callbacks and awaiting continuations, with one CQ head doorbell write per batch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ProcessCompletions(int max = int.MaxValue)
    {
        _transport.Progress();
        return _pair.ProcessCompletions(max);
    }

    /// <summary>
    /// Polls until <paramref name="task"/> completes, then returns its result (throwing its
    /// <see cref="NvmeException"/>). Never hangs: throws <see cref="NvmeControllerException"/>
    /// when the controller reports CSTS.CFS (failing every outstanding command of this queue
    /// pair), and <see cref="TimeoutException"/> when <paramref name="timeout"/> (default 30 s)
    /// passes with nothing completing (the commands stay outstanding).
    /// </summary>
    public void Wait(ValueTask task, TimeSpan? timeout = null)
    {
        long start = Stopwatch.GetTimestamp();
        int spins = 0;
        while (!task.IsCompleted)
            PollStep(ref spins, start, timeout);
        task.GetAwaiter().GetResult();
    }

    /// <summary>Polls until no command is outstanding (same fatal/timeout rules as <see cref="Wait"/>).</summary>
    public void Drain(TimeSpan? timeout = null)
    {
        long start = Stopwatch.GetTimestamp();
        int spins = 0;
        while (_pair.InFlight != 0)
            PollStep(ref spins, start, timeout);
    }

    private void PollStep(ref int spins, long start, TimeSpan? timeout)
    {
        if (ProcessCompletions() != 0 || (++spins & 1023) != 0)
            return;
        uint csts = _controller.ReadStatus();
        if ((csts & ControllerStatus.Fatal) != 0)
        {
            NvmeControllerException fatal = _controller.FatalException(csts, $"with {_pair.InFlight} commands outstanding on queue {Id}");
            FailInFlight(NvmeStatus.AbortedSqDeletion);
            throw fatal;
        }
        TimeSpan limit = timeout ?? TimeSpan.FromSeconds(30);
        if (Stopwatch.GetElapsedTime(start) > limit)
            throw new TimeoutException($"Queue pair {Id}: nothing completed within {limit.TotalSeconds:0.###} s ({_pair.InFlight} commands outstanding, CSTS = 0x{csts:X8}). The completion may have been lost: Abort the command or reset the controller.");
        if ((spins & 0xFFFF) == 0)
            Thread.Yield();
    }

    /// <summary>
    /// Submits a caller-built command (raw path, e.g. vendor or invalid opcodes). PRPs are
    /// built for <paramref name="dataLength"/> bytes of <paramref name="data"/> when given;
    /// the command id is assigned here.
    /// </summary>
    public ValueTask SubmitRawAsync(in SubmissionEntry command, DmaBuffer? data = null, int dataLength = 0)
    {
        ThrowIfDisposed();
        IoRequest r = _pair.Rent();
        r.Command = command;
        r.Opcode = command.Opcode;
        r.NamespaceId = command.NamespaceId;
        r.StartLba = command.Cdw10 | ((ulong)command.Cdw11 << 32);
        r.BlockCount = 0;
        if (data is not null)
        {
            try
            {
                _prp.Build(r.CommandId, data, 0, dataLength == 0 ? data.Length : dataLength, ref r.Command);
            }
            catch
            {
                _pair.Return(r);
                throw;
            }
        }
        ValueTask task = r.ArmAwaitable();
        LastCommandId = r.CommandId;
        _pair.Submit(r, !_batchDoorbells);
        return task;
    }

    /// <summary>Command identifier of the most recent submission (what Abort needs).</summary>
    public ushort LastCommandId { get; private set; }

    internal void CreateOnController()
    {
        _pair.ResetRings();
        _controller.Admin.Execute(AdminCommandBuilder.CreateIoCompletionQueue(Id, _pair.Completion.Entries, _pair.Completion.Iova));
        try
        {
            _controller.Admin.Execute(AdminCommandBuilder.CreateIoSubmissionQueue(Id, _pair.Submission.Entries, _pair.Submission.Iova, Id));
        }
        catch
        {
            _controller.Admin.ExecuteRaw(AdminCommandBuilder.DeleteIoCompletionQueue(Id));
            throw;
        }
        _createdOnController = true;
    }

    /// <summary>Completes every outstanding command with <paramref name="status"/> (reset, fatal controller).</summary>
    internal int FailInFlight(NvmeStatus status) => _pair.FailInFlight(status.Value);

    internal void ForgetControllerQueues() => _createdOnController = false;

    /// <summary>Deletes the SQ then the CQ on the controller (if it is still alive) and frees the rings.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (_pair.InFlight != 0)
            FailInFlight(NvmeStatus.AbortedSqDeletion);
        if (_createdOnController && _controller.IsOperational)
        {
            try
            {
                _controller.Admin.ExecuteRaw(AdminCommandBuilder.DeleteIoSubmissionQueue(Id));
                _controller.Admin.ExecuteRaw(AdminCommandBuilder.DeleteIoCompletionQueue(Id));
            }
            catch (NvmeControllerException)
            {
                // The controller died meanwhile; its queues died with it.
            }
        }
        _createdOnController = false;
        _controller.Release(this);
        _prp.Dispose();
        _rangeMemory.Dispose();
        _sqMemory.Dispose();
        _cqMemory.Dispose();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfDisposed()
    {
        if (_disposed)
            ThrowDisposed();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowDisposed() => throw new ObjectDisposedException(nameof(IoQueuePair), $"I/O queue pair {Id} was disposed.");
}
