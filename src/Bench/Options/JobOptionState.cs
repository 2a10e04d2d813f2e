namespace PolledNvme.Bench.Options;

/// <summary>
/// A job's options while they are applied one by one (command-line globals, then the job file's
/// <c>[global]</c> sections, then the job's own section; the last value of an option wins, as
/// in fio), and the rules that need all of them (<see cref="Finish"/>).
/// </summary>
internal sealed class JobOptionState
{
    private readonly List<KeyValuePair<string, string>> _typed = [];
    private readonly Dictionary<string, string> _sources = new(StringComparer.Ordinal);

    public BenchOptions O = new();
    /// <summary>fio's kb_base at this point: it applies to the size options after it.</summary>
    public int KbBase = 1024;
    public bool? TimeBased;
    public bool RuntimeGiven;
    public bool AmountGiven;           // size, io_size, number_ios or loops: the job ends by amount
    public string? VerifyValue;
    public bool VerifyGiven;
    public bool VerifyOnly;
    public bool NameGiven;
    public bool RecordTyped;

    /// <summary>Applies one option (canonical <paramref name="name"/>); <paramref name="flag"/> names it in messages.</summary>
    public void Apply(string name, string? value, string flag)
    {
        JobOptionHandlers.Apply(this, name, value, flag);
        _sources[name] = flag;
        // fio lists options with a value, under their canonical name, in the order given.
        if (RecordTyped && value is not null)
            _typed.Add(new(name, value));
    }

    /// <summary>The finished options: defaults that depend on several options, and cross-checks.</summary>
    public BenchOptions Finish()
    {
        var o = O with { Typed = _typed.ToArray(), Sources = new Dictionary<string, string>(_sources, StringComparer.Ordinal) };
        // fio: without time_based a job ends when its I/O amount is done (or at runtime). pnvme:
        // a job given no amount (size, io_size, number_ios, loops) runs time based, 10 s by default.
        bool timeBased = TimeBased ?? !AmountGiven;
        TimeSpan? runtime = o.Runtime;
        if (!RuntimeGiven) runtime = timeBased ? TimeSpan.FromSeconds(10) : null;
        o = o with { TimeBased = timeBased, Runtime = runtime };

        if (VerifyGiven) o = o with { Verify = VerifyValue == "1" };
        if (VerifyOnly)
        {
            if (VerifyGiven && !o.Verify)
                throw new UsageException("--verify_only", "checks the verify pattern; it cannot go with verify=0");
            // fio: the workload is not run; the region is read back once, in order, and checked.
            o = o with { Verify = true, VerifyOnly = true, Pattern = RwPattern.Read };
            if (TimeBased is null) o = o with { TimeBased = false, Runtime = RuntimeGiven ? o.Runtime : null };
        }
        if (o.Verify && o.HasTrims)
            throw new UsageException("--verify", $"rw={BenchOptionParser.PatternName(o.Pattern)} trims blocks, which then hold no pattern to check; verify works with reads and writes");
        if (o.Pract && o.HostPi is { } hp && (hp & HostPi.Generate) != 0)
            throw new UsageException("--pract", "the controller would overwrite the PI that --host-pi generate computes; give one of them");

        string name = o.Name;
        var logs = o.Logs;
        if (logs.LatPrefix == "" ) logs = logs with { LatPrefix = name };
        if (logs.BwPrefix == "") logs = logs with { BwPrefix = name };
        if (logs.IopsPrefix == "") logs = logs with { IopsPrefix = name };
        // fio: a bandwidth/IOPS log without its own averaging time samples at log_avg_msec (0:
        // every I/O), and an explicit bwavgtime/iopsavgtime caps the log's window.
        if (logs.BwPrefix is not null && !o.BwAverageGiven) o = o with { BwAverageMs = logs.AverageMs };
        if (logs.IopsPrefix is not null && !o.IopsAverageGiven) o = o with { IopsAverageMs = logs.AverageMs };
        return o with { Logs = logs };
    }
}
