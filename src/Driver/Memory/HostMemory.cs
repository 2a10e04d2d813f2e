using System.Globalization;

namespace PolledNvme.Queues;

/// <summary>
/// How much memory this machine can still give a process, from <c>/proc/meminfo</c>: what a RAM
/// namespace (<c>mem:</c>) or a benchmark's I/O buffers may take before the allocation fails or
/// the OOM killer ends the process. Checked before allocating, so such sizes are refused with a
/// message instead of a crash.
/// </summary>
public static class HostMemory
{
    /// <summary>
    /// Bytes that can still be allocated and touched: MemAvailable + SwapFree; under strict
    /// overcommit (<c>vm.overcommit_memory = 2</c>) no more than CommitLimit - Committed_AS.
    /// Null when <c>/proc/meminfo</c> cannot be read (then nothing is refused).
    /// </summary>
    public static long? Available()
    {
        Dictionary<string, long> info;
        try
        {
            info = ReadMeminfo("/proc/meminfo");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        if (!info.TryGetValue("MemAvailable", out long available))
            return null;
        long total = available + info.GetValueOrDefault("SwapFree");
        if (StrictOvercommit() && info.TryGetValue("CommitLimit", out long limit) && info.TryGetValue("Committed_AS", out long committed))
            total = Math.Min(total, Math.Max(0, limit - committed));
        return total;
    }

    /// <summary>What <see cref="Available"/> counts, for messages.</summary>
    public static string AvailableWhat => StrictOvercommit() ? "MemAvailable + SwapFree, within CommitLimit" : "MemAvailable + SwapFree";

    /// <summary>A byte count for messages, e.g. <c>1 TiB</c>, <c>21.4 GiB</c>, <c>512 KiB</c>.</summary>
    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return value.ToString(unit == 0 ? "0" : "0.#", CultureInfo.InvariantCulture) + " " + units[unit];
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming <paramref name="what"/> when <paramref name="bytes"/> exceed <see cref="Available"/>.</summary>
    /// <param name="bytes">Bytes the caller is about to allocate.</param>
    /// <param name="what">What they are for, the start of the message (e.g. <c>size: 1 TiB of RAM media</c>).</param>
    /// <param name="remedy">What to do instead.</param>
    /// <param name="paramName">The parameter or key the exception names.</param>
    public static void EnsureFits(long bytes, string what, string remedy, string paramName)
    {
        if (Available() is { } available && bytes > available)
            throw new ArgumentException($"{what} needs {Format(bytes)}, more than the {Format(available)} this machine has available ({AvailableWhat}); {remedy}.", paramName);
    }

    private static bool StrictOvercommit()
    {
        try
        {
            return File.ReadAllText("/proc/sys/vm/overcommit_memory").Trim() == "2";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    // Lines look like "MemAvailable:   22474112 kB".
    private static Dictionary<string, long> ReadMeminfo(string path)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines(path))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0)
                continue;
            string[] fields = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0 || !long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out long value))
                continue;
            values[line[..colon]] = fields.Length > 1 && fields[1] == "kB" ? value * 1024 : value;
        }
        return values;
    }
}
