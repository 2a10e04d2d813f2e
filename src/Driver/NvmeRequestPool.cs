using System.Runtime.CompilerServices;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// The driver's requests of one queue pair (SPDK's per-qpair request pool): one request per
/// command id, created once and sized to the transport queue pair's depth, so a rented request
/// always has room on the wire and its pool index is its command id. Used by one thread (the
/// admin queue's under its lock); no allocation, no interlocked operations.
/// </summary>
internal sealed class NvmeRequestPool<TRequest> where TRequest : NvmeRequest
{
    private readonly RequestPool<TRequest> _pool;
    private readonly ushort _queueId;

    /// <summary>Creates <paramref name="depth"/> requests with <paramref name="factory"/>(command id).</summary>
    public NvmeRequestPool(ushort queueId, int depth, Func<ushort, TRequest> factory)
    {
        _queueId = queueId;
        _pool = new RequestPool<TRequest>(depth, id =>
        {
            TRequest r = factory(id);
            if (r.CommandId != id)
                throw new ArgumentException($"The factory built a request with command id {r.CommandId} for slot {id}.", nameof(factory));
            return r;
        });
    }

    /// <summary>Requests in the pool (the queue pair's depth).</summary>
    public int Capacity => _pool.Capacity;

    /// <summary>Requests that can be rented now.</summary>
    public int Available => _pool.Available;

    /// <summary>The request with command id <paramref name="commandId"/>, rented or not.</summary>
    public TRequest this[int commandId]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _pool[commandId];
    }

    /// <summary>Rents a free request, or returns null when all are in use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TRequest? TryRent()
    {
        if (!_pool.TryRent(out int index))
            return null;
        TRequest r = _pool[index];
        r.Rented = true;
        return r;
    }

    /// <summary>Rents a free request or throws <see cref="QueueFullException"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TRequest Rent() => TryRent() ?? throw new QueueFullException(_queueId, Capacity);

    /// <summary>Gives a request back (after its completion was handled, or when it was never submitted).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Return(TRequest request)
    {
        if (!request.Rented || request.InFlight)
            ThrowBadReturn(request);
        request.Rented = false;
        _pool.Return(request.CommandId);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadReturn(TRequest r) => throw new InvalidOperationException(
        r.InFlight ? $"Request {r.CommandId} is still in flight and cannot be returned." : $"Request {r.CommandId} is not rented.");
}
