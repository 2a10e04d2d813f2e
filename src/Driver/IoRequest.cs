using System.Threading.Tasks.Sources;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// A pooled I/O request (one per command id of a queue pair): completes either through a
/// callback or as the <see cref="IValueTaskSource"/> behind a <see cref="ValueTask"/>, so no
/// Task or closure is allocated per I/O. An awaited request goes back to the pool in
/// <see cref="GetResult"/>; a callback request before its callback runs.
/// </summary>
internal sealed class IoRequest : QueueRequest, IValueTaskSource
{
    // Hot fields first.
    private readonly Owner _owner;
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

    public IoRequest(ushort id, Owner owner) : base(id)
    {
        _owner = owner;
        _core.RunContinuationsAsynchronously = false;   // continuations run on the polling thread, like callbacks
    }

    private QueuePair<IoRequest> Pair => _owner.Pair;

    /// <summary>The queue pair the requests belong to (set once it exists; the requests are built by its constructor).</summary>
    internal sealed class Owner
    {
        public QueuePair<IoRequest> Pair = null!;
        public Transport.INvmeTransport Transport = null!;
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

    protected internal override void OnCompleted(in CompletionEntry completion)
    {
        var status = new NvmeStatus(completion.Status);
        Dword0 = completion.Result;
        // Asked now, while the command id is still this command's (off the success path).
        Detail = status.IsSuccess ? null : _owner.Transport.DescribeFailure(completion.SqId, completion.CommandId);
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
        Pair.Return(this);
        callback?.Invoke(state, in result);
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);

    public void GetResult(short token)
    {
        NvmeStatus status = _core.GetResult(token);
        uint nsid = NamespaceId;
        ulong slba = StartLba;
        int blocks = BlockCount;
        byte opcode = Opcode;
        string? detail = Detail;
        _core.Reset();
        Pair.Return(this);
        if (!status.IsSuccess)
            throw new NvmeException(status, opcode, isAdmin: false, nsid, slba, blocks, detail);
    }
}
