namespace PolledNvme.Bench.Options;

/// <summary>Report formats (<c>--output-format</c>, a comma list as in fio).</summary>
[Flags]
public enum ReportFormats
{
    /// <summary>fio-like text.</summary>
    Normal = 1,
    /// <summary>fio-shaped JSON.</summary>
    Json = 2,
    /// <summary>fio's json+ (JSON with latency bins; replaces json).</summary>
    JsonPlus = 4,
}

/// <summary>What a whole <c>pnvme bench</c> run does besides its jobs: the command-line-only options.</summary>
public sealed record RunOptions
{
    /// <summary>Report formats.</summary>
    public ReportFormats Formats { get; init; } = ReportFormats.Normal;
    /// <summary>Report file (<c>--output</c>); null = stdout.</summary>
    public string? OutputPath { get; init; }
    /// <summary>Plot file (<c>--plot</c>, .png or .svg); null = none.</summary>
    public string? PlotPath { get; init; }
    /// <summary>Progress line: true always, false never, null when stderr is a terminal (<c>--progress</c>, <c>--eta</c>).</summary>
    public bool? Progress { get; init; }
    /// <summary>Print the report every interval while running (<c>--status-interval</c>).</summary>
    public TimeSpan? StatusInterval { get; init; }
    /// <summary>Check everything, run nothing (<c>--parse-only</c>).</summary>
    public bool ParseOnly { get; init; }
    /// <summary>Refuse jobs that write or trim (<c>--readonly</c>).</summary>
    public bool ReadOnly { get; init; }
    /// <summary>Most job threads of the run (<c>--max-jobs</c>).</summary>
    public int? MaxJobs { get; init; }
    /// <summary>Only these job sections run (<c>--section</c>); empty = all.</summary>
    public IReadOnlyList<string> Sections { get; init; } = [];
    /// <summary>Options of the command line before the first job and of the job files' [global] sections, as typed (fio's <c>global options</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> GlobalTyped { get; init; } = [];

    /// <summary>Whether JSON (or json+) is written.</summary>
    public bool WritesJson => (Formats & (ReportFormats.Json | ReportFormats.JsonPlus)) != 0;
}

/// <summary>One job of a run: its options and reporting group.</summary>
/// <param name="Options">The finished options.</param>
/// <param name="GroupId">fio's group id: a new group starts at every <c>stonewall</c> or <c>new_group</c>.</param>
/// <param name="Source">Where it was defined (<c>FILE:LINE</c> of the section, or <c>command line</c>).</param>
public sealed record JobDefinition(BenchOptions Options, int GroupId, string Source)
{
    /// <summary>Whether the job comes from the command line (not a job file).</summary>
    public bool FromCommandLine => Source == BenchArguments.CommandLine;

    // A device comes from device=, else filename= (with directory=), else ioengine= (JobDevices).
    private static readonly string[] DeviceOptions = ["device", "filename", "directory", "ioengine"];

    /// <summary>
    /// <paramref name="e"/>, raised by a check against the job's device (<c>--bs</c>, <c>--device</c>...),
    /// moved to where the job set that option (a job file's <c>FILE:LINE: bs</c>), with the job's
    /// name and section in front when <paramref name="named"/> (several jobs, or a job file).
    /// </summary>
    public UsageException Locate(UsageException e, bool named)
    {
        string flag = e.Flag;
        string name = flag.TrimStart('-');
        string[] candidates = name == "device" ? DeviceOptions : [FioOptionCatalog.Find(name)?.Name ?? name];
        foreach (string option in candidates)
        {
            if (Options.Sources.TryGetValue(option, out var source))
            {
                flag = source;
                break;
            }
        }
        string prefix = named ? $"job '{Options.Name}' ({Source}): " : "";
        return prefix.Length == 0 && flag == e.Flag ? e : new UsageException(prefix + flag, e.Detail, e);
    }
}

/// <summary>A parsed <c>pnvme bench</c> command line: the run's options and its jobs in order.</summary>
/// <param name="Run">Run options.</param>
/// <param name="Jobs">Jobs in fio's order: command-line jobs, then each job file's.</param>
/// <param name="Info">Text to print instead of running (<c>--version</c>, <c>--help</c>, <c>--cmdhelp</c>), or null.</param>
public sealed record BenchSetup(RunOptions Run, IReadOnlyList<JobDefinition> Jobs, string? Info = null);
