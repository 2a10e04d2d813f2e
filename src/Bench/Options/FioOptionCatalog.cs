
namespace PolledNvme.Bench.Options;

/// <summary>What pnvme does with an option of fio's (or of its own).</summary>
public enum OptionStatus
{
    /// <summary>As fio defines it.</summary>
    Yes,
    /// <summary>Accepted, with a difference the note explains.</summary>
    Differently,
    /// <summary>Refused before anything runs; the note says why.</summary>
    No,
    /// <summary>pnvme's own option.</summary>
    Pnvme,
}

/// <summary>How an option is written.</summary>
public enum OptionKind
{
    /// <summary>A job option with a value (<c>bs=4k</c>, <c>--bs 4k</c>).</summary>
    Value,
    /// <summary>A job option that may stand alone (<c>time_based</c>) or take 0/1.</summary>
    Switch,
    /// <summary>A command-line-only option with a value (<c>--output FILE</c>).</summary>
    CliValue,
    /// <summary>A command-line-only option without a value (<c>--version</c>).</summary>
    CliSwitch,
}

/// <summary>One row of the option table.</summary>
/// <param name="Name">fio's canonical name (as fio prints it in <c>job options</c>); command-line-only options keep their dashes.</param>
/// <param name="Aliases">Other spellings fio accepts.</param>
/// <param name="Kind">How it is written.</param>
/// <param name="Status">What pnvme does with it.</param>
/// <param name="Note">How it differs, or why it is refused.</param>
public sealed record FioOption(string Name, IReadOnlyList<string> Aliases, OptionKind Kind, OptionStatus Status, string Note)
{
    /// <summary>Whether it is given on the command line only (never in a job file).</summary>
    public bool IsCommandLineOnly => Kind is OptionKind.CliValue or OptionKind.CliSwitch;
    /// <summary>Whether it takes a value after it (<c>--name value</c>).</summary>
    public bool TakesValue => Kind is OptionKind.Value or OptionKind.CliValue;
    /// <summary>Whether pnvme runs it.</summary>
    public bool IsAccepted => Status != OptionStatus.No;
}

/// <summary>
/// Every option of fio 3.33 (its HOWTO and options.c) with pnvme's status and a note, and
/// pnvme's own bench options: the one table the parser, <c>--cmdhelp</c> and docs/PNVME.md use.
/// The data is <c>FioOptions.tsv</c>, embedded in the assembly.
/// </summary>
public static class FioOptionCatalog
{
    private static readonly Lazy<(FioOption[] All, Dictionary<string, FioOption> ByName)> Table = new(Load);

    /// <summary>Every row, in the table's order.</summary>
    public static IReadOnlyList<FioOption> All => Table.Value.All;

    /// <summary>Finds an option by its name or an alias (without leading dashes for job options), or null.</summary>
    public static FioOption? Find(string name)
    {
        var byName = Table.Value.ByName;
        if (byName.TryGetValue(name, out var option)) return option;
        return byName.TryGetValue("--" + name, out option) ? option : null;
    }

    private static (FioOption[], Dictionary<string, FioOption>) Load()
    {
        using var stream = typeof(FioOptionCatalog).Assembly.GetManifestResourceStream("PolledNvme.Bench.Options.FioOptions.tsv")
            ?? throw new InvalidOperationException("FioOptions.tsv is not embedded in pnvme");
        using var reader = new StreamReader(stream);
        var rows = new List<FioOption>();
        var byName = new Dictionary<string, FioOption>(StringComparer.Ordinal);
        int number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (line.Length == 0 || line[0] == '#') continue;
            string[] f = line.Split('\t');
            if (f.Length != 5) throw new InvalidDataException($"FioOptions.tsv:{number}: {f.Length} columns, expected 5");
            var option = new FioOption(f[0], f[1].Length == 0 ? [] : f[1].Split(','), ParseKind(f[2], number), ParseStatus(f[3], number), f[4]);
            rows.Add(option);
            foreach (string n in option.Aliases.Prepend(option.Name))
                if (!byName.TryAdd(n, option))
                    throw new InvalidDataException($"FioOptions.tsv:{number}: '{n}' is listed twice");
        }
        return (rows.ToArray(), byName);
    }

    private static OptionKind ParseKind(string text, int line) => text switch
    {
        "value" => OptionKind.Value,
        "switch" => OptionKind.Switch,
        "cli-value" => OptionKind.CliValue,
        "cli-switch" => OptionKind.CliSwitch,
        _ => throw new InvalidDataException($"FioOptions.tsv:{line}: unknown kind '{text}'"),
    };

    private static OptionStatus ParseStatus(string text, int line) => text switch
    {
        "yes" => OptionStatus.Yes,
        "differently" => OptionStatus.Differently,
        "no" => OptionStatus.No,
        "pnvme" => OptionStatus.Pnvme,
        _ => throw new InvalidDataException($"FioOptions.tsv:{line}: unknown status '{text}'"),
    };

    /// <summary>The table as markdown rows (docs/PNVME.md holds a copy a test keeps equal).</summary>
    public static string MarkdownTable(bool fioOptions)
    {
        var w = new StringWriter { NewLine = "\n" };
        w.WriteLine("| option | pnvme | note |");
        w.WriteLine("|---|---|---|");
        foreach (var o in All.Where(o => (o.Status != OptionStatus.Pnvme) == fioOptions))
        {
            string names = string.Join(", ", o.Aliases.Prepend(o.Name).Select(n => $"`{n}`"));
            string status = o.Status switch
            {
                OptionStatus.Yes => "supported",
                OptionStatus.Differently => "supported differently",
                OptionStatus.No => "refused",
                _ => "pnvme",
            };
            w.WriteLine($"| {names} | {status} | {o.Note.Replace("|", "\\|")} |");
        }
        return w.ToString();
    }

    /// <summary>One option's help line (<c>--cmdhelp=NAME</c>).</summary>
    public static string Describe(FioOption o)
        => $"{o.Name}{(o.Aliases.Count > 0 ? " (" + string.Join(", ", o.Aliases) + ")" : "")}: {o.Status.ToString().ToLowerInvariant()}{(o.Note.Length > 0 ? " - " + o.Note : "")}";

}
