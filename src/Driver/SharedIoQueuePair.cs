using System.Runtime.CompilerServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// Lets any thread await commands on a queue pair that a <see cref="Poller"/> owns. The pair
/// itself stays single-thread (no locks on it): a caller fills one of a fixed set of
/// preallocated slots and hands its index to the poller through a bounded lock-free ring; the
/// poller thread submits it on the pair (argument checks, buffer leases, as usual) and reaps
/// its completion; the caller's continuation then runs off the poller thread — on the thread
/// pool, or on the caller's captured <see cref="SynchronizationContext"/>. No allocation per
/// command on either side; the cost is the hop between threads (two cache-line handoffs and a
/// thread-pool dispatch). Give this object, not the pair, to the poller: its
/// <see cref="ProcessCompletions"/> submits what was handed over, then polls the pair.
/// </summary>
public sealed class SharedIoQueuePair : IPollable
{
    private static readonly IoCompletionCallback s_completed = static (state, in result) => ((HandedOffRequest)state!).Complete(in result);

    private readonly IoQueuePair _pair;
    private readonly HandedOffRequest[] _slots;
    private readonly BoundedHandoffQueue<int> _free;
    private readonly BoundedHandoffQueue<int> _handedOff;
    private int _waiting = -1;   // poller thread: a slot taken from the ring while the pair had no free request

    /// <summary>
    /// Wraps <paramref name="pair"/> with <paramref name="slots"/> handoff slots (default and
    /// maximum: the pair's depth, so every handed-over command finds a request slot unless the
    /// poller thread submits commands of its own).
    /// </summary>
    public SharedIoQueuePair(IoQueuePair pair, int? slots = null)
    {
        ArgumentNullException.ThrowIfNull(pair);
        int count = slots ?? pair.Depth;
        if (count < 1 || count > pair.Depth)
            throw new ArgumentOutOfRangeException(nameof(slots), $"A shared queue pair takes 1..{pair.Depth} slots (the depth of I/O queue pair {pair.Id}); got {count}.");
        _pair = pair;
        _slots = new HandedOffRequest[count];
        _free = new BoundedHandoffQueue<int>(count);
        _handedOff = new BoundedHandoffQueue<int>(count);
        for (int i = 0; i < count; i++)
        {
            _slots[i] = new HandedOffRequest(this, i);
            _free.TryEnqueue(i);
        }
    }

    /// <summary>The queue pair the poller owns.</summary>
    public IoQueuePair Pair => _pair;

    /// <summary>Commands that can be handed over at once.</summary>
    public int Slots => _slots.Length;

    /// <summary>
    /// Reads, from any thread: the poller thread submits it. Completes (off the poller thread)
    /// when the command completes; throws <see cref="NvmeException"/> on an error status and the
    /// argument exceptions of <see cref="IoQueuePair.ReadAsync(Namespace, ulong, int, DmaBuffer, DmaBuffer?, in IoProtectionOptions)"/>
    /// through the await. Cancellable as
    /// <see cref="IoQueuePair.ReadAsync(Namespace, ulong, int, DmaBuffer, DmaBuffer?, in IoProtectionOptions, CancellationToken)"/>
    /// (still waiting in the handoff ring: never submitted). Await it once.
    /// </summary>
    /// <exception cref="QueueFullException">Every slot is in use.</exception>
    public ValueTask ReadAsync(Namespace ns, ulong slba, int blocks, DmaBuffer data, DmaBuffer? metadata = null, in IoProtectionOptions pi = default, CancellationToken cancellationToken = default)
        => HandOver(NvmOpcode.Read, ns, slba, blocks, data, metadata, in pi, cancellationToken);

    /// <summary>Writes, from any thread (as <see cref="ReadAsync"/>).</summary>
    /// <exception cref="QueueFullException">Every slot is in use.</exception>
    public ValueTask WriteAsync(Namespace ns, ulong slba, int blocks, DmaBuffer data, DmaBuffer? metadata = null, in IoProtectionOptions pi = default, CancellationToken cancellationToken = default)
        => HandOver(NvmOpcode.Write, ns, slba, blocks, data, metadata, in pi, cancellationToken);

    /// <summary>Flushes the namespace's volatile write cache, from any thread (as <see cref="ReadAsync"/>).</summary>
    /// <exception cref="QueueFullException">Every slot is in use.</exception>
    public ValueTask FlushAsync(Namespace ns, CancellationToken cancellationToken = default)
        => HandOver(NvmOpcode.Flush, ns, 0, 0, null, null, default, cancellationToken);

    private ValueTask HandOver(NvmOpcode opcode, Namespace ns, ulong slba, int blocks, DmaBuffer? data, DmaBuffer? metadata, in IoProtectionOptions pi, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ns);
        if (opcode != NvmOpcode.Flush)
            ArgumentNullException.ThrowIfNull(data);
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled(cancellationToken);
        if (!_free.TryDequeue(out int index))
            throw new QueueFullException(_pair.Id, _slots.Length);
        HandedOffRequest slot = _slots[index];
        ValueTask task = slot.Arm(opcode, ns, slba, blocks, data, metadata, in pi, cancellationToken);
        _handedOff.TryEnqueue(index);   // never full: it holds at most every slot once
        return task;
    }

    /// <summary>
    /// Poller thread: submits the commands handed over (in order; when the pair has no free
    /// request the rest wait for the next call; with <see cref="IoQueuePair.BatchDoorbells"/> on,
    /// one doorbell write for all of them), then reaps the pair's completions. Returns commands
    /// submitted plus completions reaped.
    /// </summary>
    public int ProcessCompletions(int max = int.MaxValue)
    {
        int work = SubmitHandedOff();
        return work + _pair.ProcessCompletions(max);
    }

    /// <summary>Binds the pair to the calling (poller) thread.</summary>
    public void BindToCurrentThread() => _pair.BindToCurrentThread();

    /// <summary>Gives up the pair's ownership (when the poller stops).</summary>
    public void ReleaseThread() => _pair.ReleaseThread();

    /// <summary>
    /// Poller thread: submits what was handed over; with <see cref="IoQueuePair.BatchDoorbells"/>
    /// on, one doorbell publishes the whole handoff batch.
    /// </summary>
    internal int SubmitHandedOff()
    {
        int submitted = TakeHandedOff();
        if (submitted != 0 && _pair.BatchDoorbells)
            _pair.RingDoorbell();
        return submitted;
    }

    private int TakeHandedOff()
    {
        int submitted = 0;
        while (true)
        {
            int index = _waiting;
            if (index >= 0)
                _waiting = -1;
            else if (!_handedOff.TryDequeue(out index))
                return submitted;
            HandedOffRequest slot = _slots[index];
            if (!slot.TryStartSubmit())
            {
                slot.CompleteCancelledBeforeSubmit();
                submitted++;
                continue;
            }
            bool accepted;
            try
            {
                accepted = slot.SubmitOn(_pair, s_completed);
            }
            catch (Exception e)
            {
                slot.CompleteWithException(e);   // a bad argument goes to the caller's await, not the poller
                submitted++;
                continue;
            }
            if (!accepted)
            {
                slot.UndoStartSubmit();
                _waiting = index;
                return submitted;
            }
            submitted++;
        }
    }

    /// <summary>A slot is free again (its result was taken by the awaiting thread).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Return(int index) => _free.TryEnqueue(index);
}
