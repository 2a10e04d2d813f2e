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
    /// <param name="switchFlags">Long names of flags that take no separate value (<c>--flag</c>, <c>--flag=0</c>, <c>--flag=1</c>, or <c>--flag=word</c> kept in <see cref="Get"/>).</param>
    /// <param name="aliases">Short or alternative spellings mapped to long names, e.g. <c>("s", "start-block")</c>.</param>
    /// <param name="switchesTakingWords">Switches that may also be written <c>--flag=word</c> (e.g. <c>--verify=pattern</c>).</param>
    public ArgReader(IReadOnlyList<string> args, IReadOnlyCollection<string> valueFlags,
        IReadOnlyCollection<string> switchFlags, IReadOnlyDictionary<string, string>? aliases = null,
        IReadOnlyCollection<string>? switchesTakingWords = null)
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
                // A switch is on when bare or =1, off when =0; any other inline value is kept for
                // the command to judge (e.g. --verify=pattern), and the switch counts as on.
                switch (inline)
                {
                    case null or "1" or "true" or "yes":
                        _switches.Add(name);
                        break;
                    case "0" or "false" or "no":
                        _values[name] = "0";
                        break;
                    default:
                        if (switchesTakingWords is null || !switchesTakingWords.Contains(name))
                            throw new UsageException(shown, $"takes no value, or 0/1 (got '{inline}')");
                        _switches.Add(name);
                        _values[name] = inline;
                        break;
                }
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
