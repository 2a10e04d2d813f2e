using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Transport;

/// <summary>
/// One queue pair as a transport carries it (SPDK's nvme_qpair with its transport ops): it puts
/// commands on the wire, publishes them (PCIe: the SQ tail doorbell; NVMe/TCP: the socket) and
/// reaps completions, matching each to its request by command identifier through a tracker
/// array — no pool and no allocation here: the driver above owns the requests. Used by one
/// thread, no locks. The hot calls are <c>Submit</c> and <see cref="ProcessCompletions"/>: one
/// indirect call each per operation. <see cref="IoQueuePair"/> and the admin queue sit on it;
/// applications use those, not this.
/// </summary>
public abstract class TransportQueuePair : IDisposable
{
    // Trackers indexed by command id; a struct element so storing a request is a plain store
    // (no covariant array-store check).
    private readonly Tracker[] _trackers;
    private int _inFlight;
    private bool _disposed;

    private struct Tracker
    {
        public NvmeRequest? Request;
    }

    private protected TransportQueuePair(ushort id, int depth)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(depth);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(depth, 65535);
        Id = id;
        Depth = depth;
        _trackers = new Tracker[depth];
    }

    /// <summary>Queue identifier (0 = admin).</summary>
    public ushort Id { get; }

    /// <summary>Commands that can be outstanding at once; the driver sizes its request pool to it.</summary>
    public int Depth { get; }

    /// <summary>Commands submitted and not yet completed.</summary>
    public int InFlight => _inFlight;

    /// <summary>
    /// Describes the request's data in the transport's terms, puts the command on the wire and
    /// tracks it by command id; with <paramref name="publish"/> the controller sees it now
    /// (PCIe: doorbell; TCP: flush), otherwise at the next <see cref="Flush"/>. Throws only
    /// before anything reached the wire (the request is then not in flight).
    /// </summary>
    internal abstract void Submit(NvmeRequest request, bool publish);

    /// <summary>Publishes commands submitted without publishing (doorbell batching).</summary>
    public abstract void Flush();

    /// <summary>
    /// Reaps up to <paramref name="max"/> completions on the calling (owning) thread, calling
    /// each request's completion handler; returns how many. A completion for a command id that
    /// is not outstanding is a controller bug: <see cref="NvmeProtocolException"/>.
    /// </summary>
    public abstract int ProcessCompletions(int max = int.MaxValue);

    /// <summary>After a controller reset: forget what the wire state was (PCIe: ring positions and phase).</summary>
    internal abstract void ResetAfterControllerReset();

    /// <summary>
    /// A file descriptor that becomes readable (POLLIN) when completions may be ready: an eventfd
    /// an interrupt signals (PCIe), or the socket (NVMe/TCP); -1 when the pair can only be polled
    /// (created without interrupts). Read after the pair was connected.
    /// </summary>
    internal virtual int CompletionWaitFd => -1;

    /// <summary>
    /// Arms the wait before the caller re-checks for completions and sleeps: consumes a pending
    /// signal (PCIe: reads the eventfd), so one that arrives after this call keeps the fd readable.
    /// </summary>
    internal virtual void ArmCompletionWait()
    {
    }

    /// <summary>The caller polls again (it woke, or its re-check found completions): the device need not signal until it arms again.</summary>
    internal virtual void DisarmCompletionWait()
    {
    }

    /// <summary>True when sleeping now could stall the pair (NVMe/TCP: PDUs still waiting to be sent).</summary>
    internal virtual bool MustKeepPolling => false;

    /// <summary>MMIO doorbell writes so far (PCIe: SQ tail and CQ head registers; 0 where there are none).</summary>
    internal virtual long MmioDoorbellWrites => 0;

    /// <summary>
    /// Completes every in-flight request with a synthetic completion carrying the 15-bit
    /// <paramref name="status"/> (controller reset or failure, queue deletion), so nothing waits
    /// forever. Returns how many were failed.
    /// </summary>
    internal int FailInFlight(ushort status)
    {
        int failed = 0;
        for (int i = 0; i < _trackers.Length; i++)
        {
            NvmeRequest? request = _trackers[i].Request;
            if (request is null || !request.InFlight)
                continue;
            request.InFlight = false;
            _inFlight--;
            failed++;
            var cqe = new CompletionEntry { SqId = Id, CommandId = request.CommandId, StatusAndPhase = (ushort)(status << 1) };
            request.OnCompleted(in cqe);
        }
        return failed;
    }

    /// <summary>Marks <paramref name="request"/> in flight under its command id (the transport calls it once the command is on the wire).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected void Track(NvmeRequest request)
    {
        _trackers[request.CommandId].Request = request;
        request.InFlight = true;
        _inFlight++;
    }

    /// <summary>True when command id <paramref name="commandId"/> (below <see cref="Depth"/>) is outstanding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected bool IsTracked(ushort commandId) => _trackers[commandId].Request is { InFlight: true };

    /// <summary>Checks that a request may be submitted: not in flight, and its command id fits the trackers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected void CheckSubmit(NvmeRequest request)
    {
        if (request.InFlight || request.CommandId >= _trackers.Length)
            ThrowBadSubmit(request);
    }

    /// <summary>The in-flight request <paramref name="completion"/> completes, no longer in flight; throws for an unknown command id.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected NvmeRequest Untrack(in CompletionEntry completion)
    {
        ushort cid = completion.CommandId;
        if (cid >= _trackers.Length)
            ThrowUnknown(completion);
        NvmeRequest? request = _trackers[cid].Request;
        if (request is null || !request.InFlight)
            ThrowUnknown(completion);
        request.InFlight = false;
        _inFlight--;
        return request;
    }

    /// <summary>Frees what the queue pair holds (rings, PRP list pages, a socket). Call after the controller stopped using it.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the transport's resources of this queue pair.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowUnknown(in CompletionEntry cqe) => throw new NvmeProtocolException(
        $"Completion queue {Id} received a completion for command id {cqe.CommandId} (SQ {cqe.SqId}), which is not outstanding.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBadSubmit(NvmeRequest r) => throw new InvalidOperationException(
        r.InFlight ? $"Request {r.CommandId} is already in flight on queue {Id}." : $"Command id {r.CommandId} is outside queue {Id}'s {Depth} trackers.");
}
