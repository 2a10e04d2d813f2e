using System.Runtime.CompilerServices;

namespace PolledNvme.Queues;

/// <summary>
/// A fixed pool of request objects for one queue pair, created once and used by one thread:
/// a stack of free indices over a preallocated array (SPDK's per-qpair request pool). No
/// locks, no interlocked operations, no allocation. Benchmarked against
/// Microsoft.Extensions.ObjectPool in RequestPoolBenchmarks and kept because it is faster and
/// also gives each request a stable index (its command identifier).
/// </summary>
internal sealed class RequestPool<T> where T : class
{
    private readonly T[] _items;
    private readonly ushort[] _free;
    private int _freeCount;

    /// <summary>Creates <paramref name="capacity"/> items with <paramref name="factory"/>(index).</summary>
    public RequestPool(int capacity, Func<ushort, T> factory)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 65536);
        ArgumentNullException.ThrowIfNull(factory);
        _items = new T[capacity];
        _free = new ushort[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _items[i] = factory((ushort)i);
            _free[i] = (ushort)(capacity - 1 - i);  // hand out index 0 first
        }
        _freeCount = capacity;
    }

    /// <summary>Total items.</summary>
    public int Capacity => _items.Length;

    /// <summary>Items not rented.</summary>
    public int Available => _freeCount;

    /// <summary>The item with index <paramref name="index"/> (whether rented or not).</summary>
    public T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _items[index];
    }

    /// <summary>Rents a free item, or returns false when all are rented.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryRent(out int index)
    {
        if (_freeCount == 0)
        {
            index = -1;
            return false;
        }
        index = _free[--_freeCount];
        return true;
    }

    /// <summary>Returns the item with index <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Return(int index)
    {
        if (_freeCount == _free.Length)
            ThrowOverReturn(index);
        _free[_freeCount++] = (ushort)index;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowOverReturn(int index) => throw new InvalidOperationException($"Request {index} was returned to a pool that already holds all its items.");
}
