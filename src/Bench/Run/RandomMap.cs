using System.Numerics;

namespace PolledNvme.Bench.Run;

/// <summary>
/// fio's random map (its axmap): one bit per unit of the region, set when a random I/O covers
/// it, so uniform random I/O touches every unit once per pass. A summary level keeps one bit
/// per full word, so finding the next free unit skips covered stretches 4096 units at a time.
/// Allocated once per job; marking and searching never allocate.
/// </summary>
public sealed class RandomMap
{
    private readonly ulong[] _bits;
    private readonly ulong[] _full;   // bit w set: _bits[w] is all ones (or past the end)
    private readonly long _units;

    /// <summary>Creates an empty map of <paramref name="units"/> units.</summary>
    public RandomMap(long units)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(units, 1);
        _units = units;
        _bits = new ulong[(units + 63) / 64];
        _full = new ulong[(_bits.Length + 63) / 64];
        Clear();
    }

    /// <summary>Units in the map.</summary>
    public long Units => _units;
    /// <summary>Units marked so far.</summary>
    public long Marked { get; private set; }
    /// <summary>Whether every unit is marked.</summary>
    public bool IsFull => Marked == _units;

    /// <summary>Whether unit <paramref name="unit"/> is marked.</summary>
    public bool IsSet(long unit) => (_bits[unit >> 6] >> (int)(unit & 63) & 1) != 0;

    /// <summary>Marks [<paramref name="unit"/>, unit + <paramref name="count"/>) (clipped to the map).</summary>
    public void Mark(long unit, long count)
    {
        long end = Math.Min(_units, unit + count);
        for (long u = unit; u < end; u++)
        {
            int w = (int)(u >> 6);
            ulong bit = 1UL << (int)(u & 63);
            if ((_bits[w] & bit) != 0) continue;
            _bits[w] |= bit;
            Marked++;
            if (_bits[w] == ulong.MaxValue) _full[w >> 6] |= 1UL << (w & 63);
        }
    }

    /// <summary>The first free unit at or after <paramref name="unit"/>, wrapping to the start; -1 when the map is full.</summary>
    public long NextFree(long unit)
    {
        if (IsFull) return -1;
        long found = Search(unit, _units);
        return found >= 0 ? found : Search(0, unit);
    }

    private long Search(long from, long to)
    {
        long u = from;
        while (u < to)
        {
            int w = (int)(u >> 6);
            // A whole summary word full: skip its 64 words.
            if ((w & 63) == 0 && _full[w >> 6] == ulong.MaxValue)
            {
                u = (long)(w + 64) << 6;
                continue;
            }
            if ((_full[w >> 6] >> (w & 63) & 1) != 0)
            {
                u = (long)(w + 1) << 6;
                continue;
            }
            ulong free = ~_bits[w] & (ulong.MaxValue << (int)(u & 63));
            if (free != 0)
            {
                long candidate = ((long)w << 6) + BitOperations.TrailingZeroCount(free);
                return candidate < to ? candidate : -1;
            }
            u = (long)(w + 1) << 6;
        }
        return -1;
    }

    /// <summary>Unmarks everything (a new pass).</summary>
    public void Clear()
    {
        Array.Clear(_bits);
        Array.Clear(_full);
        Marked = 0;
        // Bits past the last unit count as taken, so the last word can become full.
        int tail = (int)(_units & 63);
        if (tail != 0)
        {
            int last = _bits.Length - 1;
            _bits[last] = ulong.MaxValue << tail;
        }
    }
}
