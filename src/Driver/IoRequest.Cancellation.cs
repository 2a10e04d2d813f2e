using System.Runtime.CompilerServices;
using PolledNvme.Driver.Spec;

namespace PolledNvme.Driver;

/// <summary>
/// Cancellation of one command: the token's callback (any thread) only marks the request and
/// tells its queue pair; the owner thread sends the Abort at its next poll
/// (IoQueuePair.Cancellation.cs), so the command id is never reused under a racing Abort. The
/// request still completes only when the device completes it (trust rule: the buffers stay
/// leased until then): with Command Abort Requested it reports the cancellation, otherwise
/// its own result (it won the race).
/// </summary>
internal sealed partial class IoRequest
{
    private static readonly Action<object?> s_onCancel = static state => ((IoRequest)state!).RequestCancel();

    private CancellationToken _token;
    private CancellationTokenRegistration _registration;
    private int _cancelState;   // CancelNone, CancelRequested, CancelAbortSent (written by the token's thread and the owner)
    private bool _cancelledResult;

    private const int CancelNone = 0;
    private const int CancelRequested = 1;
    private const int CancelAbortSent = 2;

    /// <summary>
    /// Registers <paramref name="token"/> for the command now on the wire (owner thread, right
    /// after submit). A token that cannot be cancelled registers nothing (no allocation); a
    /// cancelled one marks the request at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ArmCancellation(CancellationToken token)
    {
        if (!token.CanBeCanceled)
            return;
        _token = token;
        _registration = token.UnsafeRegister(s_onCancel, this);
    }

    /// <summary>The token's callback: marks the request; the owner thread aborts it at its next poll.</summary>
    private void RequestCancel()
    {
        if (Interlocked.CompareExchange(ref _cancelState, CancelRequested, CancelNone) == CancelNone)
            _queue.NoteCancellation();
    }

    /// <summary>
    /// Owner thread: true once for a request whose cancellation was asked and not yet acted on
    /// (the caller sends the Abort).
    /// </summary>
    public bool TakeCancelRequest()
        => Volatile.Read(ref _cancelState) == CancelRequested
           && Interlocked.CompareExchange(ref _cancelState, CancelAbortSent, CancelRequested) == CancelRequested;

    /// <summary>
    /// At completion (owner thread): ends the token registration — waiting for a callback that
    /// is running right now, so none can mark the slot after it is reused — and decides whether
    /// the result is the cancellation (the device aborted it at our request).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EndCancellation(ushort status)
    {
        if (!_token.CanBeCanceled)
            return;
        EndRegisteredCancellation(status);
    }

    private void EndRegisteredCancellation(ushort status)
    {
        _registration.Dispose();
        _registration = default;
        bool asked = Volatile.Read(ref _cancelState) != CancelNone;
        _cancelState = CancelNone;
        // A split command some part of which completed did transfer data: its caller gets the
        // NvmeException (Detail names the blocks not done), not "cancelled, nothing happened".
        _cancelledResult = asked && new NvmeStatus(status).TypeAndCode == NvmeStatus.AbortedByRequest.TypeAndCode
                           && (Split is null || Split.SucceededParts == 0);
        if (!_cancelledResult)
            _token = default;
    }

    /// <summary>True (once) when the completed command was aborted because its token was cancelled; gives that token.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TakeCancelledResult(out CancellationToken token)
    {
        token = _token;
        if (!_cancelledResult)
            return false;
        _cancelledResult = false;
        _token = default;
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowCancelled(CancellationToken token) => throw new OperationCanceledException(
        $"The command (command id {CommandId} on I/O queue pair {_queue.Id}) was cancelled: the controller aborted it (Command Abort Requested) before it ran, "
        + "so it transferred nothing; its buffers are free again.", token);
}
