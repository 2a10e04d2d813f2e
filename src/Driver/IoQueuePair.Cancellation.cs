using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// Cancelling commands (NVMe Base 2.0 §5.1, Abort): a cancelled token marks its request from
/// whatever thread cancels it; the owner thread, at its next poll (before it reaps), publishes
/// a batch whose doorbell was not rung yet and sends Abort (SQID, CID) on the admin queue for
/// each marked command. The command still ends only when the controller completes it — with
/// Command Abort Requested when the Abort caught it in the SQ, with its own result when the
/// controller had already fetched it — so no buffer is handed back while the device may still
/// use it. The Abort is an admin round trip on the polling thread: cancellation is for the rare
/// stuck or unwanted command, not a per-I/O tool.
/// </summary>
public sealed partial class IoQueuePair
{
    private int _cancelPending;

    /// <summary>A token's callback marked a request of this pair (any thread): the owner acts at its next poll.</summary>
    internal void NoteCancellation() => Volatile.Write(ref _cancelPending, 1);

    /// <summary>Commands whose cancellation the owner thread acted on (sent an Abort for); for tests and diagnostics.</summary>
    public long AbortsSent { get; private set; }

    private void ProcessCancellations()
    {
        // Cleared first: a token cancelled during the scan sets it again for the next poll.
        Volatile.Write(ref _cancelPending, 0);
        bool published = !_batchDoorbells;
        for (int i = 0; i < _requests.Capacity; i++)
        {
            IoRequest r = _requests[i];
            if (!r.InFlight || !r.TakeCancelRequest())
                continue;
            if (!published)
            {
                // The controller can abort only what it can see: publish the batch (it goes out anyway).
                _wire.Flush();
                published = true;
            }
            SendAbort(r);
        }
        if (_commands is { } commands)
            for (int i = 0; i < commands.Capacity; i++)
            {
                IoRequest c = commands[i];
                if (c.Rented && c.Split!.Namespace is not null && c.TakeCancelRequest())
                    CancelSplitOrQueued(c, ref published);
            }
    }

    /// <summary>
    /// A command of the second pool (split, or waiting in the software queue): no further part
    /// goes out, the blocks never submitted are reported as aborted at our request, and the
    /// parts on the wire are aborted like any command. It completes when its last part has; it is
    /// reported as cancelled only if no part transferred anything (IoRequest.Cancellation.cs).
    /// </summary>
    private void CancelSplitOrQueued(IoRequest command, ref bool published)
    {
        SplitCommand s = command.Split!;
        if (s.Issued < command.BlockCount)
        {
            ulong lba = command.StartLba + (ulong)s.Issued;
            s.RecordFailure(NvmeStatus.AbortedByRequest, lba, command.BlockCount - s.Issued,
                $"LBAs {lba}..{command.StartLba + (ulong)command.BlockCount - 1} were never submitted: the command was cancelled");
        }
        s.Stopped = true;
        s.Cancelled = true;
        for (int i = 0; i < _requests.Capacity && s.Outstanding != 0; i++)
        {
            IoRequest part = _requests[i];
            if (part.InFlight && ReferenceEquals(part.Parent, command))
            {
                if (!published)
                {
                    _wire.Flush();
                    published = true;
                }
                SendAbort(part);
            }
        }
        // Nothing on the wire and out of the FIFO: done now; else the last part or IssueWaiting completes it.
        if (s.Outstanding == 0 && !s.Queued)
            Complete(command);
    }

    private void SendAbort(IoRequest r)
    {
        AbortsSent++;
        try
        {
            _controller.Abort(Id, r.CommandId);
        }
        catch (NvmeException)
        {
            // Abort refused (e.g. Abort Command Limit Exceeded): the command runs to its end, and the
            // caller gets its result instead of the cancellation — never a buffer the device still uses.
        }
    }

    /// <summary>
    /// Submits an armed awaitable request and registers <paramref name="cancellationToken"/> for
    /// it; a token cancelled already submits nothing.
    /// </summary>
    private ValueTask SubmitCancellable(IoRequest r, CancellationToken cancellationToken)
    {
        ValueTask task = Submit(r);
        r.ArmCancellation(cancellationToken);
        return task;
    }

    /// <summary>Callback form with a token (the poller handoff uses it): the callback sees Command Abort Requested when the Abort won.</summary>
    internal void SubmitCancellable(IoRequest r, IoCompletionCallback callback, object? state, CancellationToken cancellationToken)
    {
        Submit(r, callback, state);
        r.ArmCancellation(cancellationToken);
    }

    /// <summary>
    /// <see cref="ReadAsync(Namespace, ulong, int, DmaBuffer, DmaBuffer?, in IoProtectionOptions)"/>
    /// that <paramref name="cancellationToken"/> can cancel: a token cancelled before the call
    /// submits nothing (the task is cancelled); cancelling later sends Abort at the owner
    /// thread's next poll, and the await throws <see cref="OperationCanceledException"/> once the
    /// controller reports the command aborted. If the controller completed the command first, the
    /// await gives that result (the data was read). The buffers stay leased until the controller
    /// completes the command either way. A token that is never cancelled costs no allocation.
    /// </summary>
    public ValueTask ReadAsync(Namespace ns, ulong slba, int blocks, DmaBuffer data, DmaBuffer? metadata, in IoProtectionOptions pi, CancellationToken cancellationToken)
        => CancellableTransfer(NvmOpcode.Read, ns, slba, blocks, data, metadata, in pi, cancellationToken);

    /// <summary><see cref="ReadAsync(Namespace, ulong, int, DmaBuffer, DmaBuffer?, in IoProtectionOptions)"/> with no metadata or PI options, cancellable as <see cref="ReadAsync(Namespace, ulong, int, DmaBuffer, DmaBuffer?, in IoProtectionOptions, CancellationToken)"/>.</summary>
    public ValueTask ReadAsync(Namespace ns, ulong slba, int blocks, DmaBuffer data, CancellationToken cancellationToken)
        => ReadAsync(ns, slba, blocks, data, null, default, cancellationToken);

    /// <summary>WriteAsync, cancellable as <see cref="ReadAsync(Namespace, ulong, int, DmaBuffer, DmaBuffer?, in IoProtectionOptions, CancellationToken)"/> (if the controller completed it first, the data was written).</summary>
    public ValueTask WriteAsync(Namespace ns, ulong slba, int blocks, DmaBuffer data, DmaBuffer? metadata, in IoProtectionOptions pi, CancellationToken cancellationToken)
        => CancellableTransfer(NvmOpcode.Write, ns, slba, blocks, data, metadata, in pi, cancellationToken);

    /// <summary>WriteAsync with no metadata or PI options, cancellable.</summary>
    public ValueTask WriteAsync(Namespace ns, ulong slba, int blocks, DmaBuffer data, CancellationToken cancellationToken)
        => WriteAsync(ns, slba, blocks, data, null, default, cancellationToken);

    /// <summary>CompareAsync, cancellable as <see cref="ReadAsync(Namespace, ulong, int, DmaBuffer, DmaBuffer?, in IoProtectionOptions, CancellationToken)"/>.</summary>
    public ValueTask CompareAsync(Namespace ns, ulong slba, int blocks, DmaBuffer data, DmaBuffer? metadata, in IoProtectionOptions pi, CancellationToken cancellationToken)
        => CancellableTransfer(NvmOpcode.Compare, ns, slba, blocks, data, metadata, in pi, cancellationToken);

    /// <summary>VerifyAsync, cancellable as <see cref="ReadAsync(Namespace, ulong, int, DmaBuffer, DmaBuffer?, in IoProtectionOptions, CancellationToken)"/>.</summary>
    public ValueTask VerifyAsync(Namespace ns, ulong slba, int blocks, in IoProtectionOptions pi, CancellationToken cancellationToken)
        => cancellationToken.IsCancellationRequested
            ? ValueTask.FromCanceled(cancellationToken)
            : SubmitCancellable(SubmitRange(NvmOpcode.Verify, ns, slba, blocks, in pi, 0)!, cancellationToken);

    /// <summary>WriteZeroesAsync, cancellable as <see cref="ReadAsync(Namespace, ulong, int, DmaBuffer, DmaBuffer?, in IoProtectionOptions, CancellationToken)"/>.</summary>
    public ValueTask WriteZeroesAsync(Namespace ns, ulong slba, int blocks, in IoProtectionOptions pi, bool deallocate, CancellationToken cancellationToken)
        => cancellationToken.IsCancellationRequested
            ? ValueTask.FromCanceled(cancellationToken)
            : SubmitCancellable(SubmitRange(NvmOpcode.WriteZeroes, ns, slba, blocks, in pi, deallocate ? CommandFields.Deallocate : 0)!, cancellationToken);

    /// <summary>FlushAsync, cancellable as <see cref="ReadAsync(Namespace, ulong, int, DmaBuffer, DmaBuffer?, in IoProtectionOptions, CancellationToken)"/>.</summary>
    public ValueTask FlushAsync(Namespace ns, CancellationToken cancellationToken)
        => cancellationToken.IsCancellationRequested
            ? ValueTask.FromCanceled(cancellationToken)
            : SubmitCancellable(SubmitFlush(ns)!, cancellationToken);

    /// <summary>DeallocateAsync (one range), cancellable as <see cref="ReadAsync(Namespace, ulong, int, DmaBuffer, DmaBuffer?, in IoProtectionOptions, CancellationToken)"/>.</summary>
    public ValueTask DeallocateAsync(Namespace ns, ulong slba, int blocks, CancellationToken cancellationToken)
        => cancellationToken.IsCancellationRequested
            ? ValueTask.FromCanceled(cancellationToken)
            : SubmitCancellable(SubmitDeallocate(ns, slba, blocks)!, cancellationToken);

    /// <summary>A data transfer that a token cancelled before the call does not submit (the task is cancelled).</summary>
    private ValueTask CancellableTransfer(NvmOpcode opcode, Namespace ns, ulong slba, int blocks, DmaBuffer data, DmaBuffer? metadata, in IoProtectionOptions pi, CancellationToken cancellationToken)
        => cancellationToken.IsCancellationRequested
            ? ValueTask.FromCanceled(cancellationToken)
            : SubmitCancellable(SubmitTransfer(opcode, ns, slba, blocks, data, metadata, in pi)!, cancellationToken);
}
