namespace PolledNvme.Bench.Options;

/// <summary>
/// The <c>pnvme bench</c> command line, read as fio reads its own: <c>--option=value</c> or
/// <c>--option value</c> (switches only with <c>=</c>), <c>--name=X</c> starting a command-line
/// job (options before the first one are global), positional job files. The last value of a
/// repeated option wins. Defaults apply in fio's order: the command line's globals, then a job
/// file's <c>[global]</c> sections above the job, then the job's own section. One difference
/// from fio: the command line's globals apply to every job file (fio resets them after the
/// first file). Jobs of a second job file start behind a stonewall, as in fio.
/// </summary>
public static class BenchArguments
{
    /// <summary>The <see cref="JobDefinition.Source"/> of jobs given by flags.</summary>
    public const string CommandLine = "command line";

    private sealed class Section(string name, bool isGlobal, string location)
    {
        public readonly string Name = name;
        public readonly bool IsGlobal = isGlobal;
        public readonly string Location = location;
        public readonly List<(string Name, string? Value, string Flag)> Options = [];
    }

    /// <summary>Parses <paramref name="args"/> (after <c>bench</c>) and reads the job files it names.</summary>
    /// <exception cref="UsageException">A bad option, value or job file; the message names it.</exception>
    public static BenchSetup Parse(IReadOnlyList<string> args, Func<string, string?>? environment = null, TextReader? stdin = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var run = new RunOptions();
        var globals = new Section("global", true, CommandLine);
        var cmdJobs = new List<Section>();
        var files = new List<string>();
        var sections = new List<string>();
        Section current = globals;
        string? info = null;

        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith('-') || arg.Length == 1 || char.IsDigit(arg[1]))
            {
                if (arg.Length == 0) throw new UsageException("''", "an empty argument is not a job file");
                files.Add(arg);   // "-" is a job file on stdin, as in fio
                continue;
            }
            string name = arg.TrimStart('-');
            string? inline = null;
            int eq = name.IndexOf('=');
            if (eq >= 0)
            {
                inline = name[(eq + 1)..];
                name = name[..eq];
            }
            string flag = "--" + name;
            if (name is "h") name = "help";
            var option = FioOptionCatalog.Find(name)
                ?? throw new UsageException(flag, "unknown flag (pnvme bench --cmdhelp lists every fio option and what pnvme does with it)");
            if (!option.IsAccepted)
                throw new UsageException(flag, $"not supported: {option.Note}");
            string? value = inline;
            if (value is null && option.TakesValue)
            {
                if (i + 1 >= args.Count) throw new UsageException(flag, "needs a value");
                value = args[++i];
            }
            if (option.IsCommandLineOnly)
            {
                (run, string? text) = ApplyRunOption(run, option.Name, value, flag, sections);
                info ??= text;
                continue;
            }
            value = value is null ? null : JobFile.ExpandKeywords(value, flag);
            if (option.Name == "name")
            {
                if (string.IsNullOrWhiteSpace(value)) throw new UsageException(flag, "needs a name");
                // fio: --name=global continues the global section; any other name starts a job.
                if (value.Trim() == "global")
                {
                    current = globals;
                    continue;
                }
                current = new Section(value.Trim(), false, CommandLine);
                cmdJobs.Add(current);
            }
            current.Options.Add((option.Name, value, flag));
        }
        if (info is not null) return new BenchSetup(run, [], info);
        run = run with { Sections = sections };

        var jobs = new List<(Section Section, Section[] Globals, bool FileStonewall)>();
        var globalTyped = new List<KeyValuePair<string, string>>();
        if (files.Count == 0 && cmdJobs.Count == 0)
        {
            // pnvme bench --rw=... with no job and no file: the command line is the job.
            var only = new Section(BenchOptions.DefaultName, false, CommandLine);
            only.Options.AddRange(globals.Options);
            jobs.Add((only, [], false));
        }
        else
        {
            AddTyped(globalTyped, globals);
            foreach (var job in cmdJobs) jobs.Add((job, [globals], false));
            for (int f = 0; f < files.Count; f++)
            {
                var fileGlobals = new List<Section> { globals };
                bool first = true;
                foreach (var s in JobFile.Parse(files[f], environment, stdin))
                {
                    var section = new Section(s.Name, s.IsGlobal, s.Location);
                    foreach (var o in s.Options) section.Options.Add(ResolveFileOption(o));
                    if (section.IsGlobal)
                    {
                        fileGlobals.Add(section);
                        AddTyped(globalTyped, section);
                        continue;
                    }
                    if (sections.Count > 0 && !sections.Contains(section.Name)) continue;
                    jobs.Add((section, fileGlobals.ToArray(), f > 0 && first));
                    first = false;
                }
            }
        }
        run = run with { GlobalTyped = globalTyped };

        var definitions = new List<JobDefinition>();
        int group = 0, inGroup = 0;
        foreach (var (section, sectionGlobals, fileStonewall) in jobs)
        {
            var options = BuildJob(section, sectionGlobals);
            if (fileStonewall) options = options with { Stonewall = true };
            if ((options.Stonewall || options.NewGroup) && inGroup > 0)
            {
                group++;
                inGroup = 0;
            }
            inGroup += options.NumJobs;
            definitions.Add(new JobDefinition(options, group, section.Location));
        }
        if (definitions.Count == 0)
            throw new UsageException(files.Count > 0 ? files[0] : "--section", "no job to run (every section is [global] or left out by --section)");
        int threads = definitions.Sum(d => d.Options.NumJobs);
        if (run.MaxJobs is { } max && threads > max)
            throw new UsageException("--max-jobs", $"the jobs need {threads} threads, more than --max-jobs={max}");
        if (run.ReadOnly && definitions.FirstOrDefault(d => d.Options.HasWrites || d.Options.HasTrims) is { } writer)
            throw new UsageException("--readonly", $"job '{writer.Options.Name}' ({writer.Source}) writes or trims (rw={BenchOptionParser.PatternName(writer.Options.Pattern)})");
        return new BenchSetup(run, definitions);
    }

    private static (string, string?, string) ResolveFileOption(JobFileOption o)
    {
        string flag = $"{o.Location}: {o.Name}";
        var option = FioOptionCatalog.Find(o.Name)
            ?? throw new UsageException(flag, "unknown option (pnvme bench --cmdhelp lists every fio option and what pnvme does with it)");
        if (option.IsCommandLineOnly)
            throw new UsageException(flag, "is a command-line option; give it on the command line");
        if (!option.IsAccepted)
            throw new UsageException(flag, $"not supported: {option.Note}");
        return (option.Name, o.Value, flag);
    }

    private static BenchOptions BuildJob(Section section, Section[] globals)
    {
        var state = new JobOptionState();
        foreach (var g in globals)
            foreach (var (name, value, flag) in g.Options)
                state.Apply(name, value, flag);
        state.RecordTyped = true;
        foreach (var (name, value, flag) in section.Options)
            state.Apply(name, value, flag);
        if (!state.NameGiven) state.O = state.O with { Name = section.Name };
        try
        {
            return state.Finish();
        }
        catch (UsageException e) when (section.Location != CommandLine)
        {
            throw new UsageException($"{section.Location}: [{section.Name}] {e.Flag}", e.Detail, e);
        }
    }

    private static void AddTyped(List<KeyValuePair<string, string>> typed, Section section)
    {
        foreach (var (name, value, _) in section.Options)
            if (value is not null) typed.Add(new(name, value));
    }

    private static (RunOptions, string?) ApplyRunOption(RunOptions run, string name, string? value, string flag, List<string> sections)
    {
        switch (name)
        {
            case "--output":
                if (string.IsNullOrWhiteSpace(value)) throw new UsageException(flag, "needs a file name");
                return (run with { OutputPath = value }, null);
            case "--output-format":
                return (run with { Formats = ParseFormats(flag, value!) }, null);
            case "--plot":
                if (!value!.EndsWith(".png", StringComparison.OrdinalIgnoreCase) && !value.EndsWith(".svg", StringComparison.OrdinalIgnoreCase))
                    throw new UsageException(flag, $"'{value}' must end in .png or .svg");
                return (run with { PlotPath = value }, null);
            case "--progress":
                return (run with { Progress = FioValueLists.ParseBool(flag, value) }, null);
            case "--eta":
                return (run with
                {
                    Progress = value switch
                    {
                        "always" => true,
                        "never" => false,
                        "auto" => null,
                        _ => throw new UsageException(flag, $"'{value}' is not one of always, never, auto"),
                    },
                }, null);
            case "--status-interval":
            {
                var t = FioValues.ParseTime(flag, value!);
                if (t < TimeSpan.FromSeconds(1)) throw new UsageException(flag, "must be at least 1s (as in fio)");
                return (run with { StatusInterval = t }, null);
            }
            case "--parse-only":
                return (run with { ParseOnly = FioValueLists.ParseBool(flag, value) }, null);
            case "--readonly":
                return (run with { ReadOnly = FioValueLists.ParseBool(flag, value) }, null);
            case "--max-jobs":
                return (run with { MaxJobs = (int)FioValues.ParseInteger(flag, value!, 1, 65536) }, null);
            case "--section":
                if (string.IsNullOrWhiteSpace(value)) throw new UsageException(flag, "needs a section name");
                sections.Add(value.Trim());
                return (run, null);
            case "--version":
                return (run, Report.ReportFacts.Version);
            case "--help":
                return (run, Commands.BenchCommand.Usage);
            case "--cmdhelp":
                return (run, CommandHelp(flag, value));
            default:
                throw new InvalidOperationException($"command-line option {name} is accepted in FioOptions.tsv but not handled");
        }
    }

    private static string CommandHelp(string flag, string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || value == "all")
            return string.Join(Environment.NewLine, FioOptionCatalog.All.Select(FioOptionCatalog.Describe));
        var option = FioOptionCatalog.Find(value.Trim()) ?? throw new UsageException(flag, $"'{value}' is not a fio or pnvme option");
        return FioOptionCatalog.Describe(option);
    }

    /// <summary>Parses <c>--output-format</c>: normal, json, json+ (a comma list writes several).</summary>
    public static ReportFormats ParseFormats(string flag, string text)
    {
        ReportFormats formats = 0;
        foreach (string part in text.Split(','))
        {
            formats |= part.Trim() switch
            {
                "normal" => ReportFormats.Normal,
                "json" => ReportFormats.Json,
                "json+" => ReportFormats.JsonPlus,
                "terse" => throw new UsageException(flag, "terse is not produced; use json or json+"),
                _ => throw new UsageException(flag, $"'{part}' is not one of normal, json, json+"),
            };
        }
        if ((formats & ReportFormats.JsonPlus) != 0) formats &= ~ReportFormats.Json;   // json+ is json with bins
        return formats;
    }
}
