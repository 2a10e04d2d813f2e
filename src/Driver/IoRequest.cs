using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// A pooled I/O request (one per command id of a queue pair): completes either through a
/// callback or as the <see cref="IValueTaskSource"/> behind a <see cref="ValueTask"/>, so no
/// Task or closure is allocated per I/O. An awaited request goes back to the pool in
/// <see cref="GetResult"/>; a callback request before its callback runs. It holds leases on
/// the caller's buffers from submit until its completion arrives (or it is failed).
/// </summary>
internal sealed partial class IoRequest : NvmeRequest, IValueTaskSource
{
    private readonly IoQueuePair _queue;
    private IoCompletionCallback? _callback;
    private object? _state;
    private ManualResetValueTaskSourceCore<NvmeStatus> _core;
    public uint NamespaceId;
    public ulong StartLba;
    public int BlockCount;
    public byte Opcode;
    public bool Awaited;
    public uint Dword0;
    public string? Detail;   // what the transport says about a failure (null on success)
    public long SubmitTimestamp;   // Stopwatch time of the submit while the latency histogram is listened to, else 0

    /// <summary>
    /// True when <see cref="NvmeRequest.Data"/> and <see cref="NvmeRequest.Metadata"/> are the
    /// caller's buffers, leased by this request until completion; false for the queue pair's own
    /// DSM range slot and for the parts of a split command (their parent holds the leases).
    /// </summary>
    public bool BuffersLeased;

    /// <summary>For one part of a split or software-queued command: the command it belongs to (completion goes there).</summary>
    public IoRequest? Parent;

    /// <summary>
    /// Non-null for the requests of the queue pair's second pool: a command split into parts or
    /// waiting in the software queue (IoQueuePair.BackPressure.cs). It never goes on the wire itself.
    /// </summary>
    public readonly SplitCommand? Split;

    public IoRequest(ushort id, IoQueuePair queue, SplitCommand? split = null) : base(id)
    {
        _queue = queue;
        Split = split;
        _core.RunContinuationsAsynchronously = false;   // continuations run on the polling thread, like callbacks
    }

    /// <summary>Arms the request for a callback completion.</summary>
    public void SetCallback(IoCompletionCallback callback, object? state)
    {
        _callback = callback;
        _state = state;
        Awaited = false;
    }

    /// <summary>Arms the request for an awaited completion and returns its ValueTask.</summary>
    public ValueTask ArmAwaitable()
    {
        _callback = null;
        _state = null;
        Awaited = true;
        return new ValueTask(this, _core.Version);
    }

    /// <summary>Ends the leases on the caller's buffers: the device is done with them (or never got them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ReleaseBuffers()
    {
        if (Data is { } data)
        {
            Data = null;
            if (BuffersLeased)
                data.ReleaseLease();
        }
        if (Metadata is { } metadata)
        {
            Metadata = null;
            if (BuffersLeased)
                metadata.ReleaseLease();
        }
    }

    protected internal override void OnCompleted(in CompletionEntry completion)
    {
        ReleaseBuffers();
        EndCancellation(completion.Status);   // before the slot can be reused (IoRequest.Cancellation.cs)
        var status = new NvmeStatus(completion.Status);
        _queue.Metrics.Completed(Opcode, DataLength, status, SubmitTimestamp);
        Dword0 = completion.Result;
        // Asked now, while the command id is still this command's (off the success path). A
        // split or queued command's detail was written by the queue pair when it completed it.
        if (Split is null)
            Detail = status.IsSuccess ? null : _queue.Transport.DescribeFailure(completion.SqId, completion.CommandId);
        if (Parent is { } parent)
        {
            // One part of a split or queued command: free the slot first (the parent may issue
            // its next part into it), then count the part on the parent.
            ulong partLba = StartLba;
            int partBlocks = BlockCount;
            string? partDetail = Detail;
            Parent = null;
            _queue.ReturnRequest(this);
            _queue.OnPartCompleted(parent, status, partLba, partBlocks, partDetail);
            return;
        }
        if (Awaited)
        {
            _core.SetResult(status);
            return;
        }
        // Copy what the callback needs, free the slot (the callback may submit again), then call.
        IoCompletionCallback? callback = _callback;
        object? state = _state;
        var result = new IoResult(status, Opcode, NamespaceId, StartLba, BlockCount, completion.Result, Detail);
        _callback = null;
        _state = null;
        TakeCancelledResult(out _);   // the callback sees Command Abort Requested; its owner knows its token
        _queue.ReturnRequest(this);
        callback?.Invoke(state, in result);
    }

    public ValueTaskSourceStatus GetStatus(short token)
    {
        CheckToken(token);
        return _core.GetStatus(token);
    }

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        CheckToken(token);
        _core.OnCompleted(continuation, state, token, EventLoopContext.Inline(flags, _queue));
    }

    public void GetResult(short token)
    {
        CheckToken(token);
        _queue.CheckOwnerThread();   // returning the request touches the queue pair's pool
        if (_core.GetStatus(token) == ValueTaskSourceStatus.Pending)
            ThrowNotCompleted();
        NvmeStatus status = _core.GetResult(token);
        uint nsid = NamespaceId;
        ulong slba = StartLba;
        int blocks = BlockCount;
        byte opcode = Opcode;
        string? detail = Detail;
        _core.Reset();
        _queue.ReturnRequest(this);
        if (TakeCancelledResult(out CancellationToken cancelled))
            ThrowCancelled(cancelled);
        if (!status.IsSuccess)
            throw new NvmeException(status, opcode, isAdmin: false, nsid, slba, blocks, detail);
    }

    /// <summary>A token that is not the current version belongs to an earlier use of this slot: that ValueTask was already consumed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckToken(short token)
    {
        if (token != _core.Version)
            ThrowStale();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowStale() => throw new InvalidOperationException(
        $"This ValueTask from I/O queue pair {_queue.Id} was already awaited: its request slot (command id {CommandId}) went back to the pool and may have been reused; "
        + "a ValueTask from IoQueuePair can be awaited or waited once. Keep the result of the first await/Wait instead of awaiting it again, "
        + "or use AsTask() once if it must be awaited several times.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotCompleted() => throw new InvalidOperationException(
        $"The command (command id {CommandId} on I/O queue pair {_queue.Id}) has not completed yet, so it has no result: "
        + "use qp.Wait(task), or await it while this thread calls ProcessCompletions.");
}
