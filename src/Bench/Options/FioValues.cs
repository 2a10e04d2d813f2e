using System.Globalization;

namespace PolledNvme.Bench.Options;

/// <summary>
/// fio's number syntax. Sizes follow fio's default <c>kb_base=1024</c>: <c>k</c>/<c>kb</c>,
/// <c>m</c>/<c>mb</c>, <c>g</c>, <c>t</c>, <c>p</c> are powers of 1024 (so <c>4k</c> = 4096), while
/// the IEC-looking <c>ki</c>/<c>kib</c>, <c>mi</c>/<c>mib</c>, ... are powers of 1000 — fio keeps
/// that inversion for old job files and so do we. Times default to seconds and take
/// <c>d</c>, <c>h</c>, <c>m</c>, <c>s</c>, <c>ms</c>/<c>msec</c>, <c>us</c>/<c>usec</c>.
/// Numbers may be hex (<c>0x1234</c>).
/// </summary>
public static class FioValues
{
    /// <summary>Parses a byte count such as <c>4k</c>, <c>1m</c>, <c>2g</c>, <c>1000ki</c>, <c>512</c>.</summary>
    /// <param name="flag">The flag, for messages.</param>
    /// <param name="text">The value as typed.</param>
    /// <param name="kbBase">fio's <c>kb_base</c>: 1024 (default: <c>k</c> = 1024, <c>ki</c> = 1000) or 1000 (<c>k</c> = 1000, <c>ki</c> = 1024).</param>
    public static long ParseSize(string flag, string text, int kbBase = 1024)
    {
        string t = text.Trim().ToLowerInvariant();
        if (t.Length == 0) throw new UsageException(flag, "needs a size, e.g. 4k or 1g");
        int digits = 0;
        while (digits < t.Length && (char.IsDigit(t[digits]) || t[digits] == '.')) digits++;
        if (digits == 0)
            throw new UsageException(flag, $"'{text}' is not a size (a number with an optional k/m/g/t/p suffix)");
        string suffix = t[digits..];
        if (suffix.EndsWith('b')) suffix = suffix[..^1];   // "kb", "kib", "b"
        bool iec = suffix.EndsWith('i');                   // fio: "ki" = 1000 under kb_base=1024, 1024 under kb_base=1000
        if (iec) suffix = suffix[..^1];
        int power = suffix switch
        {
            "" => 0,
            "k" => 1,
            "m" => 2,
            "g" => 3,
            "t" => 4,
            "p" => 5,
            _ => throw new UsageException(flag, $"'{text}' has an unknown suffix '{t[digits..]}' (use k, m, g, t or p)"),
        };
        if (iec && power == 0)
            throw new UsageException(flag, $"'{text}' has an unknown suffix '{t[digits..]}'");
        if (!decimal.TryParse(t.AsSpan(0, digits), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal number))
            throw new UsageException(flag, $"'{text}' is not a number, or is too large");
        decimal unit = 1;
        int step = iec == (kbBase == 1024) ? 1000 : 1024;
        for (int i = 0; i < power; i++) unit *= step;
        // Compared before multiplying: the product of two large decimals overflows (OverflowException).
        if (number > long.MaxValue / unit)
            throw new UsageException(flag, $"'{text}' is too large (at most {long.MaxValue} bytes, 8191p)");
        decimal bytes = number * unit;
        if (bytes != decimal.Truncate(bytes))
            throw new UsageException(flag, $"'{text}' is not a whole number of bytes");
        return (long)bytes;
    }

    /// <summary>Parses a duration such as <c>10</c> (seconds), <c>500ms</c>, <c>2m</c>, <c>1h</c>.</summary>
    public static TimeSpan ParseTime(string flag, string text)
    {
        string t = text.Trim().ToLowerInvariant();
        int digits = 0;
        while (digits < t.Length && (char.IsDigit(t[digits]) || t[digits] == '.')) digits++;
        if (digits == 0)
            throw new UsageException(flag, $"'{text}' is not a time (a number with an optional d/h/m/s/ms/us suffix)");
        if (!double.TryParse(t.AsSpan(0, digits), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number))
            throw new UsageException(flag, $"'{text}' is not a number");
        double seconds = t[digits..] switch
        {
            "" or "s" or "sec" => number,
            "ms" or "msec" => number / 1e3,
            "us" or "usec" => number / 1e6,
            "m" or "min" => number * 60,
            "h" => number * 3600,
            "d" => number * 86400,
            _ => throw new UsageException(flag, $"'{text}' has an unknown time suffix '{t[digits..]}' (use d, h, m, s, ms or us)"),
        };
        if (seconds > TimeSpan.MaxValue.TotalSeconds / 2)
            throw new UsageException(flag, $"'{text}' is too long");
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>Parses a whole number (decimal or <c>0x</c> hex) within [min, max].</summary>
    public static long ParseInteger(string flag, string text, long min, long max)
    {
        string t = text.Trim();
        bool ok = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.TryParse(t.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long value)
            : long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
        if (!ok) throw new UsageException(flag, $"'{text}' is not a whole number");
        if (value < min || value > max)
            throw new UsageException(flag, $"{value} is out of range [{min}, {max}]");
        return value;
    }

    /// <summary>Parses an unsigned 64-bit number (decimal or <c>0x</c> hex).</summary>
    public static ulong ParseUnsigned(string flag, string text, ulong max = ulong.MaxValue)
    {
        string t = text.Trim();
        bool ok = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(t.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value)
            : ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok) throw new UsageException(flag, $"'{text}' is not an unsigned number");
        if (value > max) throw new UsageException(flag, $"{value} is larger than {max}");
        return value;
    }
}
