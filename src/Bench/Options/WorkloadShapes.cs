namespace PolledNvme.Bench.Options;

/// <summary>
/// The block sizes of one direction: fixed (<c>bs</c>), a range (<c>bsrange</c>: fio picks
/// <c>min + max·u</c>, aligned down to <c>min</c>, capped at <c>max</c>) or weighted sizes
/// (<c>bssplit</c>, sorted by percentage as fio keeps them).
/// </summary>
public sealed record BlockSizeSpec(int Min, int Max, IReadOnlyList<BlockSizeWeight>? Split)
{
    /// <summary>One size for every I/O.</summary>
    public static BlockSizeSpec Fixed(int bytes) => new(bytes, bytes, null);

    /// <summary>Whether every I/O has the same size.</summary>
    public bool IsFixed => Min == Max;

    /// <summary>fio's rendering, e.g. <c>4096B-4096B</c>.</summary>
    public override string ToString() => $"{Min}B-{Max}B";
}

/// <summary>One <c>bssplit</c> entry: a block size and its share in percent.</summary>
public readonly record struct BlockSizeWeight(int Bytes, int Percent);

/// <summary>fio's <c>random_distribution</c> models.</summary>
public enum DistributionKind
{
    /// <summary>Uniform.</summary>
    Random,
    /// <summary>Zipf with theta.</summary>
    Zipf,
    /// <summary>Pareto with power h.</summary>
    Pareto,
    /// <summary>Normal (Gaussian) with a deviation in percent of the region.</summary>
    Normal,
    /// <summary>Percent of accesses to percent-sized zones.</summary>
    Zoned,
    /// <summary>Percent of accesses to absolutely sized zones.</summary>
    ZonedAbs,
}

/// <summary>A zone of a zoned distribution: share of accesses, and size in percent (zoned) or bytes (zoned_abs).</summary>
public readonly record struct DistributionZone(int AccessPercent, int SizePercent, long SizeBytes);

/// <summary>
/// <c>random_distribution</c>: the model, its parameter (zipf theta, pareto h, normal deviation in
/// percent), its optional center in [0, 1], and the zones of each direction for zoned models.
/// </summary>
public sealed record RandomDistribution(DistributionKind Kind, double Parameter = 0, double? Center = null,
    IReadOnlyList<DistributionZone>[]? Zones = null)
{
    /// <summary>fio's default: uniform.</summary>
    public static RandomDistribution Uniform { get; } = new(DistributionKind.Random);

    /// <summary>fio's FIO_DEF_ZIPF.</summary>
    public const double DefaultZipfTheta = 1.1;
    /// <summary>fio's FIO_DEF_PARETO.</summary>
    public const double DefaultParetoPower = 0.2;
}

/// <summary>How rated I/O is spaced (<c>rate_process</c>).</summary>
public enum RateProcess
{
    /// <summary>Fixed spacing: the next I/O is due when the bytes issued so far fit the rate.</summary>
    Linear,
    /// <summary>Exponentially distributed gaps with mean 1/IOPS (a Poisson arrival process).</summary>
    Poisson,
}

/// <summary>How <c>cpus_allowed</c> is shared between jobs (<c>cpus_allowed_policy</c>).</summary>
public enum CpuPolicy
{
    /// <summary>Every job may run on every listed CPU.</summary>
    Shared,
    /// <summary>Each job gets one CPU of the list, round robin.</summary>
    Split,
}

/// <summary>Which fio logs a job writes and how (<c>write_*_log</c>, <c>log_avg_msec</c>, ...).</summary>
/// <param name="LatPrefix">File name prefix of the lat/clat/slat logs (<c>write_lat_log</c>), null = none.</param>
/// <param name="BwPrefix">Prefix of the bandwidth log (<c>write_bw_log</c>).</param>
/// <param name="IopsPrefix">Prefix of the IOPS log (<c>write_iops_log</c>).</param>
/// <param name="AverageMs">Window of averaged entries (<c>log_avg_msec</c>); 0 = one entry per I/O.</param>
/// <param name="MaxValue">Log the window's maximum instead of its mean (<c>log_max_value</c>).</param>
/// <param name="Offset">Add the I/O's byte offset column (<c>log_offset</c>).</param>
/// <param name="PerJob">Put the job number in the file name (<c>per_job_logs</c>).</param>
/// <param name="UnixEpoch">Time column in Unix milliseconds rather than from the job's start (<c>log_unix_epoch</c>).</param>
public sealed record LogSettings(string? LatPrefix = null, string? BwPrefix = null, string? IopsPrefix = null,
    int AverageMs = 0, bool MaxValue = false, bool Offset = false, bool PerJob = true, bool UnixEpoch = false)
{
    /// <summary>Whether any log is written.</summary>
    public bool Any => LatPrefix is not null || BwPrefix is not null || IopsPrefix is not null;
}

/// <summary>A value for each of fio's data directions: read (0), write (1), trim (2). Compared by value.</summary>
public readonly record struct PerDirection<T>(T Read, T Write, T Trim)
{
    /// <summary>The same value for all three.</summary>
    public static PerDirection<T> All(T value) => new(value, value, value);

    /// <summary>From a three-element array (read, write, trim).</summary>
    public static PerDirection<T> From(T[] values) => new(values[0], values[1], values[2]);

    /// <summary>The value of direction <paramref name="direction"/> (0 read, 1 write, 2 trim).</summary>
    public T this[int direction] => direction switch
    {
        0 => Read,
        1 => Write,
        2 => Trim,
        _ => throw new ArgumentOutOfRangeException(nameof(direction), direction, "0 read, 1 write, 2 trim"),
    };

    /// <summary>The three values as an array (read, write, trim).</summary>
    public T[] ToArray() => [Read, Write, Trim];
}
