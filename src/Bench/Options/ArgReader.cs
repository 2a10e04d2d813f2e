namespace PolledNvme.Bench.Options;

/// <summary>
/// Splits a command line into <c>--flag=value</c> / <c>--flag value</c> pairs and bare
/// switches, and checks every flag against the set a command knows. Short aliases
/// (<c>-s</c>) map to long names. Each problem becomes a <see cref="UsageException"/> that names the flag.
/// </summary>
public sealed class ArgReader
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _switches = new(StringComparer.Ordinal);

    /// <summary>Parses <paramref name="args"/> against the command's flags.</summary>
    /// <param name="args">The arguments after the sub-command name.</param>
    /// <param name="valueFlags">Long names (without dashes) of flags that take a value.</param>
    /// <param name="switchFlags">Long names of flags that take no value (they may be written <c>--flag=1</c> or <c>--flag=0</c>).</param>
    /// <param name="aliases">Short or alternative spellings mapped to long names, e.g. <c>("s", "start-block")</c>.</param>
    public ArgReader(IReadOnlyList<string> args, IReadOnlyCollection<string> valueFlags,
        IReadOnlyCollection<string> switchFlags, IReadOnlyDictionary<string, string>? aliases = null)
    {
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            string name;
            string? inline = null;
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Length > 2)
                name = arg[2..];
            else if (arg.StartsWith('-') && arg.Length > 1 && !char.IsDigit(arg[1]))
                name = arg[1..];
            else
                throw new UsageException(arg, "unexpected argument (flags are written --name=value or --name value)");

            int eq = name.IndexOf('=');
            if (eq >= 0)
            {
                inline = name[(eq + 1)..];
                name = name[..eq];
            }
            string shown = "--" + name;
            if (aliases is not null && aliases.TryGetValue(name, out var longName))
            {
                name = longName;
                shown = "--" + name;
            }

            if (valueFlags.Contains(name))
            {
                string value;
                if (inline is not null)
                    value = inline;
                else if (i + 1 < args.Count)
                    value = args[++i];
                else
                    throw new UsageException(shown, "needs a value");
                if (_values.ContainsKey(name) || _switches.Contains(name))
                    throw new UsageException(shown, "given more than once");
                _values[name] = value;
            }
            else if (switchFlags.Contains(name))
            {
                if (_values.ContainsKey(name) || _switches.Contains(name))
                    throw new UsageException(shown, "given more than once");
                bool on = inline switch
                {
                    null or "1" or "true" or "yes" => true,
                    "0" or "false" or "no" => false,
                    _ => throw new UsageException(shown, $"takes no value, or 0/1 (got '{inline}')"),
                };
                if (on) _switches.Add(name);
                else _values[name] = "0";
            }
            else
            {
                throw new UsageException(shown, "unknown flag");
            }
        }
    }

    /// <summary>Whether switch <paramref name="name"/> was given (and not as <c>=0</c>).</summary>
    public bool Has(string name) => _switches.Contains(name);

    /// <summary>Whether flag <paramref name="name"/> was given at all.</summary>
    public bool Given(string name) => _switches.Contains(name) || _values.ContainsKey(name);

    /// <summary>The value of <paramref name="name"/>, or null.</summary>
    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v : null;
}
