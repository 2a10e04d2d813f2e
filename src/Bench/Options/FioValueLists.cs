using System.Globalization;

namespace PolledNvme.Bench.Options;

/// <summary>
/// fio's compound value syntaxes: per-direction lists (<c>bs=8k,32k</c>), booleans, percentages
/// of the device (<c>size=10%</c>), CPU lists (<c>cpus_allowed=0,5,8-15</c>), time ranges
/// (<c>startdelay=1-5</c>), percentile lists (<c>99.5:99.9</c>) and splits (<c>bssplit=4k/10:64k/50</c>).
/// </summary>
public static class FioValueLists
{
    /// <summary>
    /// Splits a read,write,trim list as fio does: a single value applies to all three; a value
    /// not followed by a comma applies to the directions after it; an empty entry keeps the
    /// default (null). <c>8k,32k</c> → 8k, 32k, 32k; <c>8k,32k,</c> → 8k, 32k, default;
    /// <c>,8k</c> → default, 8k, 8k.
    /// </summary>
    public static string?[] SplitPerDirection(string text)
    {
        string[] parts = text.Split(',');
        if (parts.Length > 3)
            throw new FormatException($"'{text}' has {parts.Length} comma-separated values; at most 3 (read,write,trim)");
        var result = new string?[3];
        for (int d = 0; d < 3; d++)
        {
            string? part = d < parts.Length ? parts[d] : parts[^1];
            result[d] = string.IsNullOrWhiteSpace(part) ? null : part.Trim();
        }
        return result;
    }

    /// <summary>Parses a per-direction list with <paramref name="parse"/>; directions left empty keep <paramref name="defaults"/>.</summary>
    public static T[] ParsePerDirection<T>(string flag, string text, Func<string, T> parse, T[] defaults)
    {
        string?[] parts;
        try
        {
            parts = SplitPerDirection(text);
        }
        catch (FormatException e)
        {
            throw new UsageException(flag, e.Message);
        }
        var result = (T[])defaults.Clone();
        for (int d = 0; d < 3; d++)
            if (parts[d] is { } p) result[d] = parse(p);
        return result;
    }

    /// <summary>fio's booleans: 1/0, true/false, yes/no, on/off; a bare switch (null) is true.</summary>
    public static bool ParseBool(string flag, string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "1" or "true" or "yes" or "on" => true,
        "0" or "false" or "no" or "off" => false,
        _ => throw new UsageException(flag, $"'{text}' is not a boolean (1/0, true/false, yes/no, on/off)"),
    };

    /// <summary>A size that may be a percentage of the device (<c>10%</c>): returns the bytes, or the percent with bytes null.</summary>
    public static (long? Bytes, double? Percent) ParseSizeOrPercent(string flag, string text, int kbBase)
    {
        string t = text.Trim();
        if (t.EndsWith('%'))
        {
            if (!double.TryParse(t.AsSpan(0, t.Length - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double percent)
                || percent <= 0 || percent > 100)
                throw new UsageException(flag, $"'{text}': a percentage must be in (0, 100]%");
            return (null, percent);
        }
        return (FioValues.ParseSize(flag, t, kbBase), null);
    }

    /// <summary>A CPU list such as <c>0,5,8-15</c> (fio's <c>cpus_allowed</c>), sorted and de-duplicated.</summary>
    public static int[] ParseCpuList(string flag, string text)
    {
        var cpus = new SortedSet<int>();
        foreach (string raw in text.Split(','))
        {
            string part = raw.Trim();
            if (part.Length == 0) throw new UsageException(flag, $"'{text}' has an empty entry");
            string[] range = part.Split('-');
            if (range.Length > 2) throw new UsageException(flag, $"'{part}' is not a CPU or a range a-b");
            int first = ParseCpu(flag, range[0]);
            int last = range.Length == 2 ? ParseCpu(flag, range[1]) : first;
            if (last < first) throw new UsageException(flag, $"'{part}': the range ends before it starts");
            for (int c = first; c <= last; c++) cpus.Add(c);
        }
        return [.. cpus];
    }

    private static int ParseCpu(string flag, string text)
    {
        if (!int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int cpu) || cpu >= 1024)
            throw new UsageException(flag, $"'{text}' is not a CPU number (0..1023)");
        return cpu;
    }

    /// <summary>A time or a range of times (<c>startdelay=2</c>, <c>startdelay=1-5s</c>): each job picks a value in the range.</summary>
    public static (TimeSpan Min, TimeSpan Max) ParseTimeRange(string flag, string text)
    {
        string[] parts = text.Split('-');
        if (parts.Length > 2) throw new UsageException(flag, $"'{text}' is not a time or a range a-b");
        TimeSpan min = FioValues.ParseTime(flag, parts[0]);
        TimeSpan max = parts.Length == 2 ? FioValues.ParseTime(flag, parts[1]) : min;
        if (max < min) throw new UsageException(flag, $"'{text}': the range ends before it starts");
        return (min, max);
    }

    /// <summary>fio's <c>percentile_list</c>: up to 20 values in (0, 100] separated by <c>:</c>, kept sorted as fio sorts them.</summary>
    public static double[] ParsePercentileList(string flag, string text)
    {
        string[] parts = text.Split(':');
        if (parts.Length > MaxPercentiles)
            throw new UsageException(flag, $"{parts.Length} percentiles; fio takes at most {MaxPercentiles}");
        var list = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!double.TryParse(parts[i].Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double p) || p <= 0 || p > 100)
                throw new UsageException(flag, $"'{parts[i]}' is not a percentile in (0, 100]");
            list[i] = p;
        }
        Array.Sort(list);
        return list;
    }

    /// <summary>fio's FIO_IO_U_LIST_MAX_LEN.</summary>
    public const int MaxPercentiles = 20;

    /// <summary>
    /// One direction of <c>bssplit</c>: <c>4k/10:64k/50:32k/</c>. Entries without a percentage
    /// share what the others leave (integer division, as fio does); more than 100 % is refused.
    /// </summary>
    public static BlockSizeSpec ParseBlockSizeSplit(string flag, string text, int kbBase)
    {
        var sizes = new List<int>();
        var percents = new List<int?>();
        foreach (string raw in text.Split(':'))
        {
            string entry = raw.Trim();
            if (entry.Length == 0) continue;
            int slash = entry.IndexOf('/');
            string size = slash < 0 ? entry : entry[..slash];
            string? percent = slash < 0 ? null : entry[(slash + 1)..].Trim();
            sizes.Add(BlockSize(flag, size, kbBase));
            percents.Add(string.IsNullOrEmpty(percent) ? null : (int)FioValues.ParseInteger(flag, percent, 0, 100));
        }
        if (sizes.Count == 0) throw new UsageException(flag, $"'{text}' has no block size");
        if (sizes.Count > 64) throw new UsageException(flag, $"{sizes.Count} block sizes; fio takes at most 64 per direction");
        int given = percents.Sum(p => p ?? 0);
        int missing = percents.Count(p => p is null);
        if (given > 100)
            throw new UsageException(flag, $"'{text}': the percentages add up to {given}, more than 100");
        int share = missing == 0 ? 0 : (100 - given) / missing;
        var split = new BlockSizeWeight[sizes.Count];
        for (int i = 0; i < split.Length; i++) split[i] = new BlockSizeWeight(sizes[i], percents[i] ?? share);
        // fio sorts by percentage, lowest first, and walks the cumulative sum.
        var ordered = split.OrderBy(s => s.Percent).ToArray();
        return new BlockSizeSpec(sizes.Min(), sizes.Max(), ordered);
    }

    /// <summary>One direction of <c>bsrange</c>: <c>4k-16k</c> (or one size).</summary>
    public static BlockSizeSpec ParseBlockSizeRange(string flag, string text, int kbBase)
    {
        string[] parts = text.Split('-');
        if (parts.Length > 2) throw new UsageException(flag, $"'{text}' is not a range min-max");
        int min = BlockSize(flag, parts[0], kbBase);
        int max = parts.Length == 2 ? BlockSize(flag, parts[1], kbBase) : min;
        if (max < min) (min, max) = (max, min);   // fio swaps a reversed range
        return new BlockSizeSpec(min, max, null);
    }

    /// <summary>A block size in [512, 16m].</summary>
    public static int BlockSize(string flag, string text, int kbBase)
    {
        long bytes = FioValues.ParseSize(flag, text, kbBase);
        if (bytes < 512 || bytes > MaxBlockSize)
            throw new UsageException(flag, $"{bytes} bytes is out of range [512, 16m]");
        return (int)bytes;
    }

    /// <summary>Largest I/O size pnvme accepts (16 MiB).</summary>
    public const int MaxBlockSize = 16 * 1024 * 1024;
}
