using System.Globalization;

namespace PolledNvme.Bench.Options;

/// <summary>
/// fio's <c>random_distribution</c> syntax and checks: <c>random</c>, <c>zipf[:theta[:center]]</c>
/// (theta ≠ 1), <c>pareto[:h[:center]]</c> (0 &lt; h &lt; 1), <c>normal[:dev[:center]]</c>
/// (0 ≤ dev &lt; 100), <c>zoned:a/s:...[,...]</c> and <c>zoned_abs:a/size:...[,...]</c> (access
/// percentages add up to 100; per direction like bssplit).
/// </summary>
public static class DistributionParser
{
    /// <summary>Parses <paramref name="text"/>.</summary>
    public static RandomDistribution Parse(string flag, string text, int kbBase)
    {
        string t = text.Trim();
        int colon = t.IndexOf(':');
        string kind = colon < 0 ? t : t[..colon];
        string? rest = colon < 0 ? null : t[(colon + 1)..];
        switch (kind)
        {
            case "random":
                if (rest is not null) throw new UsageException(flag, "random takes no parameter");
                return RandomDistribution.Uniform;
            case "zipf":
            {
                var (value, center) = Parameters(flag, rest, RandomDistribution.DefaultZipfTheta);
                if (value == 1.0) throw new UsageException(flag, "zipf theta must be different from 1.0");
                if (value <= 0) throw new UsageException(flag, "zipf theta must be greater than 0");
                return new RandomDistribution(DistributionKind.Zipf, value, center);
            }
            case "pareto":
            {
                var (value, center) = Parameters(flag, rest, RandomDistribution.DefaultParetoPower);
                if (value <= 0 || value >= 1) throw new UsageException(flag, "pareto input out of range (0 < h < 1)");
                return new RandomDistribution(DistributionKind.Pareto, value, center);
            }
            case "normal":
            {
                var (value, center) = Parameters(flag, rest, 0);
                if (value < 0 || value >= 100) throw new UsageException(flag, "normal deviation out of range (0 <= dev < 100)");
                return new RandomDistribution(DistributionKind.Normal, value, center);
            }
            case "zoned":
            case "zoned_abs":
            {
                bool absolute = kind == "zoned_abs";
                if (string.IsNullOrWhiteSpace(rest)) throw new UsageException(flag, $"{kind} needs zones, e.g. {kind}:{(absolute ? "60/10g:40/90g" : "60/10:40/90")}");
                var zones = FioValueLists.ParsePerDirection<IReadOnlyList<DistributionZone>>(flag, rest, z => Zones(flag, z, absolute, kbBase), [[], [], []]);
                return new RandomDistribution(absolute ? DistributionKind.ZonedAbs : DistributionKind.Zoned, 0, null, zones);
            }
            default:
                throw new UsageException(flag, $"'{kind}' is not one of random, zipf, pareto, normal, zoned, zoned_abs");
        }
    }

    private static (double Value, double? Center) Parameters(string flag, string? rest, double defaultValue)
    {
        if (rest is null) return (defaultValue, null);
        string[] parts = rest.Split(':');
        if (parts.Length > 2) throw new UsageException(flag, $"'{rest}': at most a value and a center");
        double value = Number(flag, parts[0]);
        double? center = null;
        if (parts.Length == 2)
        {
            center = Number(flag, parts[1]);
            if (center < 0 || center > 1) throw new UsageException(flag, "the distribution center must be in [0, 1]");
        }
        return (value, center);
    }

    private static double Number(string flag, string text)
        => double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? v
            : throw new UsageException(flag, $"'{text}' is not a number");

    // "60/10:30/20:10/" — fio gives zones without a size what the others leave, in equal parts.
    private static IReadOnlyList<DistributionZone> Zones(string flag, string text, bool absolute, int kbBase)
    {
        var access = new List<int>();
        var sizes = new List<string?>();
        foreach (string raw in text.Split(':'))
        {
            string entry = raw.Trim();
            if (entry.Length == 0) continue;
            int slash = entry.IndexOf('/');
            if (slash < 0) throw new UsageException(flag, $"zone '{entry}' must be access%/size");
            access.Add((int)FioValues.ParseInteger(flag, entry[..slash], 0, 100));
            string size = entry[(slash + 1)..].Trim();
            sizes.Add(size.Length == 0 ? null : size);
        }
        if (access.Count == 0) throw new UsageException(flag, $"'{text}' has no zone");
        if (access.Count > 256) throw new UsageException(flag, $"{access.Count} zones; fio takes at most 256");
        if (access.Sum() != 100)
            throw new UsageException(flag, $"the access percentages of '{text}' add up to {access.Sum()}, not 100");
        var zones = new DistributionZone[access.Count];
        if (absolute)
        {
            for (int i = 0; i < zones.Length; i++)
            {
                long bytes = sizes[i] is { } s ? FioValues.ParseSize(flag, s, kbBase) : throw new UsageException(flag, "zoned_abs zones need a size");
                if (bytes <= 0) throw new UsageException(flag, "a zone must have a size");
                zones[i] = new DistributionZone(access[i], 0, bytes);
            }
            return zones;
        }
        var percents = sizes.Select(s => s is null ? (int?)null : (int)FioValues.ParseInteger(flag, s.TrimEnd('%'), 0, 100)).ToList();
        int given = percents.Sum(p => p ?? 0);
        int missing = percents.Count(p => p is null);
        if (given > 100) throw new UsageException(flag, $"the zone sizes of '{text}' add up to {given}%, more than 100");
        int share = missing == 0 ? 0 : (100 - given) / missing;
        for (int i = 0; i < zones.Length; i++) zones[i] = new DistributionZone(access[i], percents[i] ?? share, 0);
        return zones;
    }
}
