using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PolledNvme.Queues;

/// <summary>
/// A bounded multi-producer, multi-consumer FIFO over a preallocated ring (Dmitry Vyukov's
/// bounded queue: each cell carries a sequence number saying whose turn it is), for handing
/// work between threads without a lock or an allocation: commands from application threads to
/// a poller, continuations posted to an event loop. One compare-exchange per enqueue and per
/// dequeue. Capacity is rounded up to a power of two.
/// </summary>
// Producers and consumers write different counters: a cache line apart, so one side's CAS
// does not invalidate the other side's line on every operation. (Outside the generic queue:
// a generic type cannot have explicit layout.)
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedCounter
{
    [FieldOffset(64)] public long Value;
}

internal sealed class BoundedHandoffQueue<T>
{
    private struct Cell
    {
        public long Sequence;
        public T Item;
    }

    private readonly Cell[] _cells;
    private readonly int _mask;
    private PaddedCounter _enqueuePosition;
    private PaddedCounter _dequeuePosition;

    public BoundedHandoffQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)capacity);
        _cells = new Cell[size];
        _mask = size - 1;
        for (int i = 0; i < size; i++)
            _cells[i].Sequence = i;
    }

    /// <summary>Cells in the ring.</summary>
    public int Capacity => _cells.Length;

    /// <summary>True when nothing is queued (a snapshot: producers may add at any time).</summary>
    public bool IsEmpty
    {
        get
        {
            long position = Volatile.Read(ref _dequeuePosition.Value);
            return Volatile.Read(ref _cells[position & _mask].Sequence) - (position + 1) < 0;
        }
    }

    /// <summary>Adds <paramref name="item"/>; false when the ring is full.</summary>
    public bool TryEnqueue(T item)
    {
        Cell[] cells = _cells;
        long position = Volatile.Read(ref _enqueuePosition.Value);
        while (true)
        {
            ref Cell cell = ref cells[position & _mask];
            long turn = Volatile.Read(ref cell.Sequence) - position;
            if (turn == 0)
            {
                if (Interlocked.CompareExchange(ref _enqueuePosition.Value, position + 1, position) == position)
                {
                    cell.Item = item;
                    Volatile.Write(ref cell.Sequence, position + 1);   // publishes the item to consumers
                    return true;
                }
                position = Volatile.Read(ref _enqueuePosition.Value);
            }
            else if (turn < 0)
            {
                return false;   // the cell still holds an item a lap behind: full
            }
            else
            {
                position = Volatile.Read(ref _enqueuePosition.Value);
            }
        }
    }

    /// <summary>Takes the oldest item; false when the ring is empty.</summary>
    public bool TryDequeue(out T item)
    {
        Cell[] cells = _cells;
        long position = Volatile.Read(ref _dequeuePosition.Value);
        while (true)
        {
            ref Cell cell = ref cells[position & _mask];
            long turn = Volatile.Read(ref cell.Sequence) - (position + 1);
            if (turn == 0)
            {
                if (Interlocked.CompareExchange(ref _dequeuePosition.Value, position + 1, position) == position)
                {
                    item = cell.Item;
                    if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
                        cell.Item = default!;   // do not keep the item alive from the ring
                    Volatile.Write(ref cell.Sequence, position + cells.Length);   // the cell is free for the next lap
                    return true;
                }
                position = Volatile.Read(ref _dequeuePosition.Value);
            }
            else if (turn < 0)
            {
                item = default!;
                return false;
            }
            else
            {
                position = Volatile.Read(ref _dequeuePosition.Value);
            }
        }
    }
}
