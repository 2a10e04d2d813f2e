using System.Globalization;
using PolledNvme.Bench.Options;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// One option of an nvme-cli-style command: long name, short letter (or '\0'), whether it takes a
/// value, the value's name in the help, and the help line.
/// </summary>
internal sealed record CliOption(string Long, char Short, string? Value, string Help)
{
    /// <summary>Whether the option takes a value (otherwise it is a flag).</summary>
    public bool TakesValue => Value is not null;

    /// <summary>A flag (no value).</summary>
    public static CliOption Flag(string name, char shortName, string help) => new(name, shortName, null, help);

    /// <summary>An option with a value, e.g. <c>--start-block=NUM</c>.</summary>
    public static CliOption Of(string name, char shortName, string value, string help) => new(name, shortName, value, help);
}

/// <summary>
/// A command line in nvme-cli's grammar (its argconfig over glibc's <c>getopt_long_only</c>):
/// <c>--name=value</c>, <c>--name value</c>, a single dash for long names too (<c>-ad</c>) and
/// unambiguous prefixes of long names (<c>--start=0</c>); short options <c>-s 0</c>, <c>-s0</c>,
/// clustered flags <c>-Hb</c>; <c>--</c> ends the options; a repeated option takes its last value.
/// Arguments that are not options are positional: the first is the device. Numbers are read as
/// C's <c>strtoul(s, 0)</c> does (<c>0x1f</c> hex, a leading <c>0</c> octal, else decimal).
/// Differences from nvme-cli, on purpose: a second positional argument, a negative number and a
/// value past the option's width are errors instead of being ignored or wrapped.
/// </summary>
internal sealed class NvmeCliArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);
    private readonly List<string> _positionals = [];

    private NvmeCliArgs() { }

    /// <summary>Arguments that are not options, in order (the device first).</summary>
    public IReadOnlyList<string> Positionals => _positionals;

    /// <summary>Whether <c>-h</c>/<c>--help</c> was given.</summary>
    public bool HelpRequested { get; private set; }

    /// <summary>Parses <paramref name="args"/> against <paramref name="options"/>.</summary>
    public static NvmeCliArgs Parse(IReadOnlyList<string> args, IReadOnlyList<CliOption> options)
    {
        var parsed = new NvmeCliArgs();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg == "--")
            {
                for (i++; i < args.Count; i++) parsed._positionals.Add(args[i]);
                break;
            }
            if (arg.Length < 2 || arg[0] != '-')
            {
                parsed._positionals.Add(arg);
                continue;
            }
            bool doubleDash = arg.StartsWith("--", StringComparison.Ordinal);
            string body = arg[(doubleDash ? 2 : 1)..];
            // getopt_long_only: "--x" is always long; "-x" (one letter that is a short option) is
            // short; "-xyz" is long when it names (or uniquely abbreviates) a long option, else short.
            if (doubleDash || body.Length > 1 || (body != "h" && FindShort(options, body[0]) is null))
            {
                CliOption? option = FindLong(options, body, arg);
                if (option is not null)
                {
                    int eq = body.IndexOf('=');
                    i = parsed.Take(option, eq >= 0 ? body[(eq + 1)..] : null, args, i);
                    continue;
                }
                if (body is "help" or "h") { parsed.HelpRequested = true; continue; }
                if (doubleDash)
                    throw new UsageException("--" + body.Split('=')[0], "unknown option");
            }
            i = parsed.TakeShortCluster(body, args, i, options);
        }
        return parsed;
    }

    private int Take(CliOption option, string? inline, IReadOnlyList<string> args, int i)
    {
        if (!option.TakesValue)
        {
            switch (inline)
            {
                case null or "1":
                    _flags.Add(option.Long);
                    _values.Remove(option.Long);
                    break;
                case "0":
                    _flags.Remove(option.Long);
                    _values[option.Long] = "0";   // given, but off
                    break;
                default:
                    throw new UsageException(Shown(option), $"takes no value (got '{inline}')");
            }
            return i;
        }
        if (inline is null)
        {
            if (i + 1 >= args.Count)
                throw new UsageException(Shown(option), $"needs a value ({option.Value})");
            inline = args[++i];
        }
        _values[option.Long] = inline;   // last one wins, as with nvme-cli
        return i;
    }

    private int TakeShortCluster(string body, IReadOnlyList<string> args, int i, IReadOnlyList<CliOption> options)
    {
        for (int k = 0; k < body.Length; k++)
        {
            char c = body[k];
            if (c == 'h') { HelpRequested = true; continue; }
            CliOption option = FindShort(options, c) ?? throw new UsageException("-" + c, $"unknown option{(body.Length > 1 ? $" (in '-{body}')" : "")}");
            if (!option.TakesValue)
            {
                _flags.Add(option.Long);
                _values.Remove(option.Long);
                continue;
            }
            // The rest of the cluster is the value (-s0), or else the next argument (-s 0).
            string rest = body[(k + 1)..];
            return Take(option, rest.Length > 0 ? rest : null, args, i);
        }
        return i;
    }

    private static CliOption? FindShort(IReadOnlyList<CliOption> options, char c)
    {
        foreach (var o in options)
            if (o.Short == c && c != '\0')
                return o;
        return null;
    }

    private static CliOption? FindLong(IReadOnlyList<CliOption> options, string body, string arg)
    {
        string name = body.Split('=', 2)[0];
        CliOption? prefixMatch = null;
        var ambiguous = new List<string>();
        foreach (var o in options)
        {
            if (o.Long == name)
                return o;
            if (name.Length > 0 && o.Long.StartsWith(name, StringComparison.Ordinal))
            {
                ambiguous.Add("--" + o.Long);
                prefixMatch = o;
            }
        }
        if (ambiguous.Count > 1)
            throw new UsageException(arg.Split('=')[0], $"is ambiguous: {string.Join(", ", ambiguous)}");
        return prefixMatch;
    }

    private static string Shown(CliOption o) => "--" + o.Long;

    /// <summary>Whether flag <paramref name="name"/> is on.</summary>
    public bool Has(string name) => _flags.Contains(name);

    /// <summary>Whether option <paramref name="name"/> was given at all (a flag given as <c>=0</c> counts).</summary>
    public bool Given(string name) => _flags.Contains(name) || _values.ContainsKey(name);

    /// <summary>The text of option <paramref name="name"/>, or null.</summary>
    public string? Get(string name) => _values.TryGetValue(name, out var v) && !_flags.Contains(name) ? v : null;

    /// <summary>An unsigned number option of at most <paramref name="max"/> (nvme-cli's BYTE/SHRT/UINT), or <paramref name="fallback"/>.</summary>
    public ulong Number(string name, ulong max, ulong fallback = 0)
        => Get(name) is { } text ? ParseNumber("--" + name, text, max) : fallback;

    /// <summary>A 64-bit option that takes nvme-cli's binary suffixes (<c>4k</c> = 4096, <c>1M</c>, <c>2Gi</c>...), or <paramref name="fallback"/>.</summary>
    public ulong Suffixed(string name, ulong fallback = 0)
        => Get(name) is { } text ? ParseSuffixed("--" + name, text) : fallback;

    /// <summary>A comma-separated list of numbers, each at most <paramref name="max"/>; empty when not given.</summary>
    public IReadOnlyList<ulong> List(string name, ulong max, int maxCount)
    {
        if (Get(name) is not { } text || text.Length == 0)
            return [];
        string[] parts = text.Split(',');
        if (parts.Length > maxCount)
            throw new UsageException("--" + name, $"has {parts.Length} values; at most {maxCount}");
        return parts.Select(p => ParseNumber("--" + name, p.Trim(), max)).ToArray();
    }

    /// <summary>Parses like C's <c>strtoul(text, &amp;end, 0)</c> with the whole text consumed, then checks the range.</summary>
    public static ulong ParseNumber(string flag, string text, ulong max)
    {
        if (!TryParseBase0(text, out ulong value, out int used) || used != text.Length)
            throw new UsageException(flag, $"'{text}' is not a number (decimal, 0x hex or 0-prefixed octal)");
        if (value > max)
            throw new UsageException(flag, $"{text} is larger than {max} (0x{max:x}), the field's width");
        return value;
    }

    /// <summary>A number followed by an optional binary suffix K/M/G/T/P (any case, optionally with <c>i</c> or <c>iB</c>).</summary>
    public static ulong ParseSuffixed(string flag, string text)
    {
        if (!TryParseBase0(text, out ulong value, out int used))
            throw new UsageException(flag, $"'{text}' is not a number (decimal, 0x hex or 0-prefixed octal, with an optional K/M/G/T/P suffix)");
        string suffix = text[used..];
        int shift = suffix.Length == 0 ? 0 : char.ToUpperInvariant(suffix[0]) switch
        {
            'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, 'P' => 50,
            _ => -1,
        };
        string tail = suffix.Length > 1 ? suffix[1..] : "";
        if (shift < 0 || tail is not ("" or "i" or "iB" or "ib" or "B" or "b"))
            throw new UsageException(flag, $"'{text}' has an unknown suffix '{suffix}' (use K, M, G, T or P: powers of 1024)");
        if (shift > 0 && value > ulong.MaxValue >> shift)
            throw new UsageException(flag, $"'{text}' does not fit 64 bits");
        return value << shift;
    }

    private static bool TryParseBase0(string text, out ulong value, out int used)
    {
        value = 0;
        used = 0;
        int radix = 10, start = 0;
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && text.Length > 2 && Uri.IsHexDigit(text[2]))
            (radix, start) = (16, 2);
        else if (text.Length > 1 && text[0] == '0' && char.IsAsciiDigit(text[1]))
            (radix, start) = (8, 1);
        int i = start;
        UInt128 acc = 0;
        for (; i < text.Length; i++)
        {
            int digit = radix == 16 && Uri.IsHexDigit(text[i]) ? Uri.FromHex(text[i])
                : char.IsAsciiDigit(text[i]) && text[i] - '0' < radix ? text[i] - '0' : -1;
            if (digit < 0)
                break;
            acc = acc * (uint)radix + (uint)digit;
            if (acc > ulong.MaxValue)
                return false;
        }
        if (i == start && !(radix == 8))   // "0" alone is radix 10 with one digit; "08" stops at 8
            return false;
        value = (ulong)acc;
        used = i;
        return true;
    }

    /// <summary>The help text of a command: usage line, description, one line per option.</summary>
    public static string Help(string usage, string description, IReadOnlyList<CliOption> options)
    {
        var w = new StringWriter(CultureInfo.InvariantCulture);
        w.WriteLine($"usage: {usage}");
        w.WriteLine();
        foreach (string line in description.Split('\n'))
            w.WriteLine(line.TrimEnd());
        w.WriteLine();
        w.WriteLine("options:");
        var left = options.Select(o => (o.Short != '\0' ? $"-{o.Short}, " : "    ") + $"--{o.Long}" + (o.TakesValue ? $"={o.Value}" : "")).ToArray();
        int width = Math.Min(40, left.Max(l => l.Length) + 2);
        for (int i = 0; i < options.Count; i++)
        {
            string l = left[i];
            w.WriteLine(l.Length >= width ? $"  {l}\n  {new string(' ', width)}{options[i].Help}" : $"  {l.PadRight(width)}{options[i].Help}");
        }
        w.WriteLine();
        w.Write("exit codes: 0 success; 1 the device or the command failed (NVMe status printed by name); 2 usage");
        return w.ToString();
    }
}
