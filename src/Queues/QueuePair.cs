using System.Runtime.CompilerServices;

namespace PolledNvme.Queues;

/// <summary>
/// A submission queue, its completion queue and a request table indexed by command identifier
/// (NVMe Base 2.0 §3.3.1; SPDK's nvme_qpair with trackers). One thread owns it: no locks.
/// The number of requests is one less than the SQ size, so a rented request always has a
/// free SQ slot.
/// </summary>
internal sealed class QueuePair<TRequest> : IPollable where TRequest : QueueRequest
{
    // Hot fields first.
    private readonly SubmissionQueue _sq;
    private readonly CompletionQueue _cq;
    private readonly RequestPool<TRequest> _requests;
    private int _inFlight;
    // ---- not touched per I/O below this line ----

    /// <summary>
    /// Combines <paramref name="sq"/> and <paramref name="cq"/>; <paramref name="factory"/>
    /// creates the request for each command identifier 0..SQ entries - 2.
    /// </summary>
    public QueuePair(SubmissionQueue sq, CompletionQueue cq, Func<ushort, TRequest> factory)
    {
        ArgumentNullException.ThrowIfNull(sq);
        ArgumentNullException.ThrowIfNull(cq);
        if (cq.Entries < sq.Entries)
            throw new ArgumentException($"The completion queue ({cq.Entries} entries) must be at least as large as the submission queue ({sq.Entries}) so completions cannot overflow it.", nameof(cq));
        _sq = sq;
        _cq = cq;
        _requests = new RequestPool<TRequest>(sq.Entries - 1, id =>
        {
            TRequest r = factory(id);
            if (r.CommandId != id)
                throw new ArgumentException($"The factory built a request with command id {r.CommandId} for slot {id}.", nameof(factory));
            return r;
        });
    }

    /// <summary>The submission queue.</summary>
    public SubmissionQueue Submission => _sq;

    /// <summary>The completion queue.</summary>
    public CompletionQueue Completion => _cq;

    /// <summary>Maximum commands outstanding at once.</summary>
    public int Depth => _requests.Capacity;

    /// <summary>Requests that can be rented now.</summary>
    public int AvailableRequests => _requests.Available;

    /// <summary>Commands submitted and not yet completed.</summary>
    public int InFlight => _inFlight;

    /// <summary>The request that owns command identifier <paramref name="commandId"/>.</summary>
    public TRequest RequestFor(ushort commandId) => _requests[commandId];

    /// <summary>Rents a free request, or returns null when all <see cref="Depth"/> are in use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TRequest? TryRent()
    {
        if (!_requests.TryRent(out int index))
            return null;
        TRequest r = _requests[index];
        r.Rented = true;
        return r;
    }

    /// <summary>Rents a free request or throws <see cref="QueueFullException"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TRequest Rent() => TryRent() ?? throw new QueueFullException(_sq.Id, Depth);

    /// <summary>Gives a request back to the pool (after its completion was handled, or unsubmitted).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Return(TRequest request)
    {
        if (!request.Rented || request.InFlight)
            ThrowBadReturn(request);
        request.Rented = false;
        _requests.Return(request.CommandId);
    }

    /// <summary>
    /// Puts the request's <see cref="QueueRequest.Command"/> on the submission queue; with
    /// <paramref name="ringDoorbell"/> false the controller sees it only at the next
    /// <see cref="RingDoorbell"/> (doorbell batching).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Submit(TRequest request, bool ringDoorbell = true)
    {
        if (!request.Rented || request.InFlight)
            ThrowBadSubmit(request);
        request.Command.CommandId = request.CommandId;
        _sq.Enqueue(in request.Command);
        request.InFlight = true;
        _inFlight++;
        if (ringDoorbell)
            _sq.RingDoorbell();
    }

    /// <summary>Publishes all entries submitted without ringing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RingDoorbell() => _sq.RingDoorbell();

    /// <summary>
    /// Reaps up to <paramref name="max"/> completions on the calling (owning) thread and calls
    /// each request's handler; rings the CQ head doorbell once for the batch. Returns how many
    /// were reaped. Completions carrying an unknown or idle command identifier are a controller
    /// bug and throw <see cref="NvmeProtocolException"/> (after the doorbell was rung).
    /// </summary>
    public int ProcessCompletions(int max = int.MaxValue)
    {
        int reaped = 0;
        try
        {
            while (reaped < max && _cq.TryDequeue(out CompletionEntry cqe))
            {
                reaped++;
                _sq.UpdateHead(cqe.SqHead);
                ushort cid = cqe.CommandId;
                if (cid >= _requests.Capacity)
                    ThrowUnknown(cqe);
                TRequest request = _requests[cid];
                if (!request.InFlight)
                    ThrowUnknown(cqe);
                request.InFlight = false;
                _inFlight--;
                request.OnCompleted(in cqe);
            }
        }
        finally
        {
            if (reaped != 0)
                _cq.RingDoorbell();
        }
        return reaped;
    }

    /// <summary>
    /// Completes every in-flight request with a synthetic completion carrying the 15-bit
    /// <paramref name="status"/> (used when the controller was reset or failed, so nothing
    /// waits forever), then forgets the ring positions.
    /// </summary>
    public int FailInFlight(ushort status)
    {
        int failed = 0;
        for (int i = 0; i < _requests.Capacity; i++)
        {
            TRequest request = _requests[i];
            if (!request.InFlight)
                continue;
            request.InFlight = false;
            _inFlight--;
            failed++;
            var cqe = new CompletionEntry { SqId = _sq.Id, CommandId = request.CommandId, StatusAndPhase = (ushort)(status << 1) };
            request.OnCompleted(in cqe);
        }
        return failed;
    }

    /// <summary>Resets both rings to their initial state (after the queues were re-created on the controller).</summary>
    public void ResetRings()
    {
        _sq.Reset();
        _cq.Reset();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowUnknown(in CompletionEntry cqe) => throw new NvmeProtocolException(
        $"Completion queue {_cq.Id} received a completion for command id {cqe.CommandId} (SQ {cqe.SqId}), which is not outstanding.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadSubmit(TRequest r) => throw new InvalidOperationException(
        r.InFlight ? $"Request {r.CommandId} is already in flight." : $"Request {r.CommandId} was not rented from this queue pair.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadReturn(TRequest r) => throw new InvalidOperationException(
        r.InFlight ? $"Request {r.CommandId} is still in flight and cannot be returned." : $"Request {r.CommandId} is not rented.");
}
