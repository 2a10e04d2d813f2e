using PolledNvme.Bench.Options;

namespace PolledNvme.Bench.Run;

/// <summary>
/// Where a job's next I/O goes, as fio picks it: sequential (one position per direction,
/// wrapping at the end of the region) or random in units of the alignment — uniform through
/// the random map unless <c>norandommap</c>, or zipf, pareto, normal, zoned, zoned_abs with
/// fio's formulas (lib/zipf.c, lib/gauss.c, io_u.c). Offsets are in logical blocks from the
/// start of the region; nothing here allocates after construction.
/// </summary>
internal sealed class OffsetPicker
{
    private const ulong GoldenRatio64 = 0x61C8864680B583EB;   // fio's __hash_u64
    private const int GaussIterations = 12;                   // fio's GAUSS_ITERS
    private const long ZipfMaxGenerate = 10_000_000;          // fio's ZIPF_MAX_GEN

    private readonly long _regionBlocks;
    private readonly long[] _next = new long[3];
    private readonly long[] _unitBlocks;     // random alignment of each direction, in blocks
    private readonly RandomMap? _map;
    private readonly long _mapUnitBlocks;
    private readonly RandomDistribution _distribution;
    private readonly long _ranges;           // zipf/pareto/normal: ranges of the smallest block size
    private readonly long _rangeBlocks;
    private readonly long _randomOffset;
    private readonly double _zetan, _zeta2, _paretoPower;
    private readonly long _gaussDev;
    private readonly (int StartPercent, int EndPercent, long StartBlock, long EndBlock)[][]? _zoneOfPercent;
    private JobRandom _random;

    public OffsetPicker(long regionBlocks, PerDirection<long> alignBlocks, long minBlocks, bool randomMap, RandomDistribution distribution,
        int blockSize, JobRandom random)
    {
        _regionBlocks = regionBlocks;
        _unitBlocks = alignBlocks.ToArray();
        _distribution = distribution;
        _random = random;
        if (randomMap && distribution.Kind == DistributionKind.Random)
        {
            _mapUnitBlocks = minBlocks;
            _map = new RandomMap(Math.Max(1, regionBlocks / minBlocks));
        }
        switch (distribution.Kind)
        {
            case DistributionKind.Zipf:
            case DistributionKind.Pareto:
            case DistributionKind.Normal:
                _rangeBlocks = minBlocks;
                _ranges = Math.Max(1, (regionBlocks + minBlocks - 1) / minBlocks);
                // fio: a random rotation unless a center is given (normal's is relative to the middle).
                _randomOffset = distribution.Center is { } c
                    ? (long)(_ranges * (distribution.Kind == DistributionKind.Normal ? c - 0.5 : c))
                    : distribution.Kind == DistributionKind.Normal ? 0 : _random.Next32();
                if (distribution.Kind == DistributionKind.Zipf)
                {
                    _zeta2 = Math.Pow(1.0, distribution.Parameter) + Math.Pow(0.5, distribution.Parameter);
                    long generate = Math.Min(_ranges, ZipfMaxGenerate);
                    for (long i = 0; i < generate; i++) _zetan += Math.Pow(1.0 / (i + 1), distribution.Parameter);
                }
                else if (distribution.Kind == DistributionKind.Pareto)
                {
                    _paretoPower = Math.Log(distribution.Parameter) / Math.Log(1.0 - distribution.Parameter);
                }
                else if (distribution.Parameter != 0)
                {
                    _gaussDev = (long)Math.Ceiling(_ranges * distribution.Parameter / 100.0);
                    if (_gaussDev > _ranges / 2) _gaussDev = _ranges / 2;
                }
                break;
            case DistributionKind.Zoned:
            case DistributionKind.ZonedAbs:
                _zoneOfPercent = new (int, int, long, long)[3][];
                // fio: a direction without zones (e.g. "zoned:,50/10:50/90" for reads) is uniform over the region.
                for (int d = 0; d < 3; d++)
                    _zoneOfPercent[d] = ZoneTable(distribution.Zones![d].Count > 0 ? distribution.Zones[d] : [new DistributionZone(100, 100, 0)],
                        distribution.Kind == DistributionKind.ZonedAbs && distribution.Zones[d].Count > 0, regionBlocks, blockSize);
                break;
        }
    }

    /// <summary>Whether the random map has covered every unit (size-based jobs then start a new pass).</summary>
    public bool MapFull => _map?.IsFull ?? false;

    /// <summary>Starts a new pass: sequential positions back to the start, the random map cleared.</summary>
    public void NewPass()
    {
        Array.Clear(_next);
        _map?.Clear();
    }

    /// <summary>The next sequential block of <paramref name="blocks"/> for <paramref name="direction"/>, wrapping at the end of the region.</summary>
    public long NextSequential(int direction, long blocks)
    {
        long at = _next[direction];
        if (at + blocks > _regionBlocks) at = 0;
        _next[direction] = at + blocks;
        return at;
    }

    /// <summary>The next random block for an I/O of <paramref name="blocks"/>; -1 when the random map is full.</summary>
    public long NextRandom(int direction, long blocks)
    {
        long block;
        switch (_distribution.Kind)
        {
            case DistributionKind.Random:
            {
                long unit = _map is null ? _unitBlocks[direction] : _mapUnitBlocks;
                long units = Math.Max(1, _regionBlocks / unit);
                long index = _random.Below(units);
                if (_map is not null)
                {
                    if (_map.IsSet(index)) index = _map.NextFree(index);
                    if (index < 0) return -1;
                    _map.Mark(index, (blocks + unit - 1) / unit);
                }
                block = index * unit;
                break;
            }
            case DistributionKind.Zipf:
                block = Zipf() * _rangeBlocks;
                break;
            case DistributionKind.Pareto:
                block = Pareto() * _rangeBlocks;
                break;
            case DistributionKind.Normal:
                block = Gauss() * _rangeBlocks;
                break;
            default:
                block = Zoned(direction);
                break;
        }
        return Fit(block, blocks, _unitBlocks[direction]);
    }

    // An I/O that would cross the end of the region moves back to the last aligned start that fits.
    private long Fit(long block, long blocks, long unit)
    {
        if (block + blocks <= _regionBlocks) return block;
        long last = Math.Max(0, _regionBlocks - blocks);
        return last / unit * unit;
    }

    private long Zipf()
    {
        long n = _ranges;
        double theta = _distribution.Parameter;
        double alpha = 1.0 / (1.0 - theta);
        double eta = (1.0 - Math.Pow(2.0 / n, 1.0 - theta)) / (1.0 - _zeta2 / _zetan);
        double uniform = (double)_random.Next32() / uint.MaxValue;
        double z = uniform * _zetan;
        ulong value = z < 1.0 ? 1 : z < 1.0 + Math.Pow(0.5, theta) ? 2 : 1 + (ulong)(n * Math.Pow(eta * uniform - eta + 1.0, alpha));
        value--;
        return (long)((value * GoldenRatio64 + (ulong)_randomOffset) % (ulong)n);
    }

    private long Pareto()
    {
        double uniform = (double)_random.Next32() / uint.MaxValue;
        ulong value = (ulong)((_ranges - 1) * Math.Pow(uniform, _paretoPower));
        return (long)((value * GoldenRatio64 + (ulong)_randomOffset) % (ulong)_ranges);
    }

    private long Gauss()
    {
        ulong sum = 0;
        for (int i = 0; i < GaussIterations; i++) sum += _random.Next32() % (ulong)(_ranges + 1);
        sum = (sum + GaussIterations - 1) / GaussIterations;
        if (_gaussDev != 0)
        {
            long dev = (long)(_gaussDev * (_random.Next32() / (uint.MaxValue + 1.0))) - _gaussDev / 2;
            while ((long)sum + dev >= _ranges) dev /= 2;
            sum = (ulong)((long)sum + dev);
        }
        return (long)(((sum * GoldenRatio64) + (ulong)_randomOffset) % (ulong)_ranges);
    }

    // fio: a value v in 1..100 picks the zone whose cumulative access share covers it; the offset is uniform inside that zone.
    private long Zoned(int direction)
    {
        var zone = _zoneOfPercent![direction][_random.Below(100)];
        long span = Math.Max(1, zone.EndBlock - zone.StartBlock);
        long unit = _unitBlocks[direction];
        long units = Math.Max(1, span / unit);
        return zone.StartBlock + _random.Below(units) * unit;
    }

    private static (int, int, long, long)[] ZoneTable(IReadOnlyList<DistributionZone> zones, bool absolute, long regionBlocks, int blockSize)
    {
        var table = new (int, int, long, long)[100];
        int access = 0;
        long startBlock = 0;
        int startPercent = 0;
        foreach (var z in zones)
        {
            long endBlock = absolute
                ? startBlock + z.SizeBytes / blockSize
                : regionBlocks * (startPercent + z.SizePercent) / 100;
            if (absolute && endBlock > regionBlocks)
                throw new UsageException("random_distribution", $"zoned_abs zones end at {endBlock * (long)blockSize} bytes, beyond the {regionBlocks * (long)blockSize}-byte region (fio: sizes exceed file size)");
            for (int v = access; v < access + z.AccessPercent && v < 100; v++)
                table[v] = (startPercent, startPercent + z.SizePercent, startBlock, endBlock);
            access += z.AccessPercent;
            startPercent += z.SizePercent;
            startBlock = endBlock;
        }
        return table;
    }
}
