using System.Threading.Tasks.Sources;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// One preallocated slot of a <see cref="SharedIoQueuePair"/>: the command a thread handed over
/// (filled by that thread before the handoff ring publishes its index), and the
/// <see cref="IValueTaskSource"/> it awaits. Its continuation runs asynchronously (thread pool or
/// the captured context), never on the poller thread.
/// </summary>
internal sealed class HandedOffRequest : IValueTaskSource
{
    private const int Queued = 0, Submitting = 1, Cancelled = 2;

    private static readonly Action<object?> s_onCancel = static state => ((HandedOffRequest)state!).CancelWhileQueued();

    private readonly SharedIoQueuePair _owner;
    private readonly int _index;
    private ManualResetValueTaskSourceCore<bool> _core;
    private NvmOpcode _opcode;
    private Namespace? _ns;
    private ulong _slba;
    private int _blocks;
    private DmaBuffer? _data;
    private DmaBuffer? _metadata;
    private IoProtectionOptions _pi;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;
    private int _state;

    public HandedOffRequest(SharedIoQueuePair owner, int index)
    {
        _owner = owner;
        _index = index;
        _core.RunContinuationsAsynchronously = true;   // off the poller thread
    }

    /// <summary>Caller thread: fills the slot and returns its task (before the index is handed over).</summary>
    public ValueTask Arm(NvmOpcode opcode, Namespace ns, ulong slba, int blocks, DmaBuffer? data, DmaBuffer? metadata, in IoProtectionOptions pi, CancellationToken token)
    {
        _opcode = opcode;
        _ns = ns;
        _slba = slba;
        _blocks = blocks;
        _data = data;
        _metadata = metadata;
        _pi = pi;
        _token = token;
        _state = Queued;
        if (token.CanBeCanceled)
            _registration = token.UnsafeRegister(s_onCancel, this);
        return new ValueTask(this, _core.Version);
    }

    /// <summary>The token's callback: a command still in the ring is never submitted (the poller completes it as cancelled).</summary>
    private void CancelWhileQueued() => Interlocked.CompareExchange(ref _state, Cancelled, Queued);

    /// <summary>Poller thread: claims the slot for submission; false when it was cancelled while queued.</summary>
    public bool TryStartSubmit()
        => !_token.IsCancellationRequested && Interlocked.CompareExchange(ref _state, Submitting, Queued) == Queued;

    /// <summary>Poller thread: the pair had no free request; the slot waits (and may be cancelled) again.</summary>
    public void UndoStartSubmit() => Volatile.Write(ref _state, Queued);

    /// <summary>Poller thread: submits on the pair, which registers the token itself (Abort once submitted).</summary>
    public bool SubmitOn(IoQueuePair pair, IoCompletionCallback completed)
        => pair.TrySubmitHandedOff(_opcode, _ns!, _slba, _blocks, _data, _metadata, in _pi, completed, this, _token);

    /// <summary>Poller thread: the command completed.</summary>
    public void Complete(in IoResult result)
    {
        EndRegistration();
        if (result.IsSuccess)
            _core.SetResult(true);
        else if (result.Status.TypeAndCode == NvmeStatus.AbortedByRequest.TypeAndCode && _token.IsCancellationRequested)
            _core.SetException(new OperationCanceledException(
                $"The command handed to I/O queue pair {_owner.Pair.Id} was cancelled: the controller aborted it (Command Abort Requested) before it ran, so it transferred nothing.", _token));
        else
            _core.SetException(result.ToException());
    }

    /// <summary>Poller thread: cancelled while still in the ring, never submitted.</summary>
    public void CompleteCancelledBeforeSubmit()
    {
        EndRegistration();
        _core.SetException(new OperationCanceledException($"The command handed to I/O queue pair {_owner.Pair.Id} was cancelled before it was submitted.", _token));
    }

    /// <summary>Poller thread: the pair refused the command (a bad argument); the caller's await throws it.</summary>
    public void CompleteWithException(Exception e)
    {
        EndRegistration();
        _core.SetException(e);
    }

    private void EndRegistration()
    {
        _registration.Dispose();
        _registration = default;
        _data = null;
        _metadata = null;
        _ns = null;
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);

    public void GetResult(short token)
    {
        // A stale or early GetResult must not recycle the slot (it belongs to a later command, or is still in flight).
        if (token != _core.Version)
            throw new InvalidOperationException($"This ValueTask from the shared I/O queue pair {_owner.Pair.Id} was already awaited: its slot was reused. Await it once.");
        if (_core.GetStatus(token) == ValueTaskSourceStatus.Pending)
            throw new InvalidOperationException($"The command handed to I/O queue pair {_owner.Pair.Id} has not completed yet: await it (the poller completes it).");
        try
        {
            _core.GetResult(token);
        }
        finally
        {
            _core.Reset();
            _token = default;
            _owner.Return(_index);
        }
    }
}
