using System.Numerics;
using PolledNvme.Bench.Run;

namespace PolledNvme.Bench.Report;

/// <summary>
/// fio's latency bins (stat.h/stat.c): FIO_IO_U_PLAT_BITS = 6, 64 buckets per power of two,
/// 29 groups, 1856 buckets; values below 128 ns have a bucket each, above that a bucket spans
/// 2^(msb - 6) ns. json+ reports each non-empty bucket under <see cref="IndexToValue"/> (its
/// middle), which is what fio_jsonplus_clat2csv reads. pnvme's HdrHistogram (3 significant
/// digits) has power-of-two aligned buckets at least 16 times finer, so every one of them falls
/// inside exactly one fio bucket: the conversion is exact.
/// </summary>
public static class FioBins
{
    /// <summary>FIO_IO_U_PLAT_BITS.</summary>
    public const int PlatBits = 6;
    /// <summary>FIO_IO_U_PLAT_VAL.</summary>
    public const int PlatValue = 1 << PlatBits;
    /// <summary>FIO_IO_U_PLAT_GROUP_NR.</summary>
    public const int GroupCount = 29;
    /// <summary>FIO_IO_U_PLAT_NR: 1856 buckets.</summary>
    public const int BucketCount = GroupCount * PlatValue;

    /// <summary>fio's plat_val_to_idx: the bucket of a latency in ns.</summary>
    public static int ValueToIndex(ulong value)
    {
        int msb = value == 0 ? 0 : 63 - BitOperations.LeadingZeroCount(value);
        if (msb <= PlatBits) return (int)value;
        int errorBits = msb - PlatBits;
        int baseIndex = (errorBits + 1) << PlatBits;
        int offset = (PlatValue - 1) & (int)(value >> errorBits);
        return Math.Min(baseIndex + offset, BucketCount - 1);
    }

    /// <summary>fio's plat_idx_to_val: the value a bucket stands for (the middle of its range).</summary>
    public static ulong IndexToValue(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, BucketCount);
        if (index < (PlatValue << 1)) return (ulong)index;
        int errorBits = (index >> PlatBits) - 1;
        ulong baseValue = 1UL << (errorBits + PlatBits);
        int k = index % PlatValue;
        return baseValue + (ulong)((k + 0.5) * (1UL << errorBits));
    }

    /// <summary>The histogram as fio's buckets: (bucket index, count) of every non-empty bucket, ascending.</summary>
    public static List<(int Index, long Count)> Of(LatencyStats stats)
    {
        var counts = new SortedDictionary<int, long>();
        if (stats.Count == 0 || stats.Histogram is not { } h) return [];
        foreach (var v in h.RecordedValues())
        {
            int index = ValueToIndex((ulong)h.LowestEquivalentValue(v.ValueIteratedTo));
            counts[index] = counts.GetValueOrDefault(index) + v.CountAtValueIteratedTo;
        }
        return counts.Select(kv => (kv.Key, kv.Value)).ToList();
    }
}
