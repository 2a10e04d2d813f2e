using System.Globalization;
using PolledNvme.Bench.Options;

namespace PolledNvme.Bench.Engines;

/// <summary>
/// The devices of a run's jobs, resolved, checked and opened in the order that keeps every usage
/// error before any I/O: each job's device (<see cref="JobDevices"/>) parsed as a
/// <see cref="DeviceSpec"/> before anything opens; jobs naming the same device (or the same
/// <c>uring:</c> file, however spelled) sharing one target, which writes when any of them does;
/// the jobs' options checked against a probe (<see cref="DeviceSpec.Probe"/>) before an image is
/// created or re-laid; then the devices opened, and laid out (<see cref="IBenchTarget.Prepare"/>)
/// only once every plan has been checked. Disposing closes them all.
/// </summary>
internal sealed class JobTargets : IDisposable
{
    private sealed class Entry(DeviceSpec spec, string shown, bool? defaultDirect)
    {
        public DeviceSpec Spec = spec;
        public string Shown = shown;
        public readonly bool? DefaultDirect = defaultDirect;
        public readonly List<int> Jobs = [];
        public bool Writes;
        public long DefaultBytes;
        public IBenchTarget? Target;
    }

    private readonly List<Entry> _entries = [];
    private readonly IReadOnlyList<JobDefinition> _jobs;
    private readonly bool _named;

    private JobTargets(IReadOnlyList<JobDefinition> jobs, bool named)
    {
        _jobs = jobs;
        _named = named;
    }

    /// <summary>
    /// Works out every job's device string from its options (fio's <c>--parse-only</c>): looks at
    /// no file, opens nothing.
    /// </summary>
    /// <exception cref="UsageException">A job's device options contradict each other; the message names the job's option.</exception>
    public static void ResolveNames(IReadOnlyList<JobDefinition> jobs, bool named)
    {
        var targets = new JobTargets(jobs, named);
        for (int i = 0; i < jobs.Count; i++)
            targets.Checked(i, () => JobDevices.Resolve(jobs[i].Options));
    }

    /// <summary>
    /// Resolves and parses every job's device (the files they name are looked at); opens nothing.
    /// </summary>
    /// <param name="jobs">The run's jobs.</param>
    /// <param name="named">Whether messages name the job (several jobs, or a job file).</param>
    /// <exception cref="UsageException">A job's device options are malformed; the message names the job's option (file and line for a job file).</exception>
    public static JobTargets Resolve(IReadOnlyList<JobDefinition> jobs, bool named)
    {
        var targets = new JobTargets(jobs, named);
        var byKey = new Dictionary<string, Entry>(StringComparer.Ordinal);
        for (int i = 0; i < jobs.Count; i++)
        {
            var job = jobs[i];
            var o = job.Options;
            string? device = targets.Checked(i, () => JobDevices.Resolve(o));
            var spec = targets.Checked(i, () => DeviceSpec.Parse(device));
            // The default device: one temp image per direct= setting; a uring: file: one target per file, however spelled.
            string key = spec.Kind switch
            {
                DeviceKind.Default => $"default,direct={o.Direct}",
                DeviceKind.Uring => "uring:" + FileKey(spec.Uring!.Path),
                _ => spec.Text!,
            };
            if (!byKey.TryGetValue(key, out var entry))
            {
                entry = new Entry(spec, device ?? "", spec.Kind == DeviceKind.Default ? o.Direct : null);
                byKey[key] = entry;
                targets._entries.Add(entry);
            }
            else if (spec.Kind == DeviceKind.Uring && spec.Text != entry.Spec.Text)
            {
                targets.MergeUring(entry, spec, i);
            }
            entry.Jobs.Add(i);
            entry.Writes |= !o.VerifyOnly && (o.HasWrites || o.HasTrims || o.Verify);
            if (spec.Kind == DeviceKind.Default)
                entry.DefaultBytes = Math.Max(entry.DefaultBytes, targets.Checked(i, () => JobDevices.RegionEnd(o, o.SizeBytes ?? 0)));
        }
        return targets;
    }

    // One file however it is named: by identity when it exists (hard links too), else by its
    // canonical path, a dangling symlink followed to the file it will create.
    private static string FileKey(string path)
    {
        if (FileIdentity.Stat(path) is { } info)
            return string.Create(CultureInfo.InvariantCulture, $"{info.Device}:{info.Inode}");
        try
        {
            if (File.ResolveLinkTarget(path, returnFinalTarget: true) is { } target)
                path = target.FullName;
        }
        catch (IOException)
        {
            // a symlink loop: the path as it is (opening it fails with its own message)
        }
        return FileIdentity.Canonical(path);
    }

    // Two jobs on one file with different strings (sizes, spellings): one target laid out to the
    // larger size. pnvme opens a file once per run, so direct= must agree.
    private void MergeUring(Entry entry, DeviceSpec spec, int job)
    {
        var (a, b) = (entry.Spec.Uring!, spec.Uring!);
        if (a.Direct != b.Direct)
        {
            var first = _jobs[entry.Jobs[0]].Options.Name;
            throw Located(job, new UsageException("--direct",
                $"'{b.Path}' is also job '{first}''s file with direct={(a.Direct ? 1 : 0)}; pnvme opens a file once per run, so give the jobs on it the same direct"));
        }
        long? size = a.Size is null ? b.Size : b.Size is null ? a.Size : Math.Max(a.Size.Value, b.Size.Value);
        string merged = string.Create(CultureInfo.InvariantCulture, $"{UringDeviceOptions.Scheme}{a.Path},direct={(a.Direct ? 1 : 0)}{(size is { } s ? $",size={s}" : "")}");
        entry.Spec = Checked(job, () => DeviceSpec.Parse(merged));
        entry.Shown = merged;
    }

    /// <summary>The files the jobs' devices keep their data in: no output may name one.</summary>
    public IReadOnlyList<string> DataFiles => _entries.SelectMany(e => e.Spec.DataFiles).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// Opens the devices and plans every job on its device, so that no usage error can follow a
    /// write: devices that opening leaves alone first (their jobs planned on them); then every job
    /// of a device that opening would write (an <c>emu:</c> image created or re-laid) planned on a
    /// probe of the same geometry and limits with no file behind it, and <paramref name="together"/>
    /// run over all the plans; only then those devices opened and their jobs planned again on them.
    /// Nothing is laid out yet (<see cref="Prepare"/>).
    /// </summary>
    /// <param name="plan">Plans job <c>i</c> on a target (throws <see cref="UsageException"/> when it does not fit).</param>
    /// <param name="together">Checks what the planned jobs need together.</param>
    /// <returns>The jobs' plans on the opened devices, in the jobs' order.</returns>
    public IReadOnlyList<Run.PlannedJob> OpenAndPlan(Func<int, IBenchTarget, Run.PlannedJob> plan, Action<IReadOnlyList<Run.PlannedJob>> together)
    {
        var planned = new Run.PlannedJob[_jobs.Count];
        var probes = new List<IBenchTarget>();
        try
        {
            foreach (var entry in _entries.Where(e => !e.Spec.WritesOnOpen))
            {
                entry.Target = Checked(entry.Jobs[0], () => DeviceTargets.OpenForBench(entry.Spec, entry.Writes, entry.DefaultDirect, entry.DefaultBytes));
                foreach (int job in entry.Jobs)
                    planned[job] = Checked(job, () => plan(job, entry.Target));
            }
            foreach (var entry in _entries.Where(e => e.Spec.WritesOnOpen))
            {
                var probe = DeviceTargets.OpenForBench(entry.Spec.Probe());
                probes.Add(probe);
                foreach (int job in entry.Jobs)
                    planned[job] = Checked(job, () => plan(job, probe));
            }
            together(planned);
        }
        finally
        {
            foreach (var probe in probes) probe.Dispose();
        }
        foreach (var entry in _entries.Where(e => e.Spec.WritesOnOpen))
        {
            entry.Target = Checked(entry.Jobs[0], () => DeviceTargets.OpenForBench(entry.Spec, entry.Writes, entry.DefaultDirect, entry.DefaultBytes));
            foreach (int job in entry.Jobs)
                planned[job] = Checked(job, () => plan(job, entry.Target));
        }
        return planned;
    }

    /// <summary>The device string job <paramref name="job"/> runs on (<paramref name="target"/>'s description for the default device).</summary>
    public string DeviceOf(int job, IBenchTarget target)
    {
        string shown = _entries.First(e => e.Jobs.Contains(job)).Shown;
        return shown.Length > 0 ? shown : target.Description;
    }

    /// <summary>Lays out what opening deferred (a <c>uring:</c> file to its <c>size=</c>), drawing its progress on <paramref name="progress"/>.</summary>
    public void Prepare(Run.ProgressLine? progress)
    {
        foreach (var entry in _entries)
        {
            string file = entry.Spec.Uring?.Path ?? "";
            entry.Target!.Prepare(progress is null ? null : (done, total) => progress.DrawStep($"laying out {Report.NormalReport.FormatBytes(total)} in {file}", done, total));
            progress?.Clear();
        }
    }

    /// <summary>Runs <paramref name="step"/> for job <paramref name="job"/>; a usage error is moved to where the job set the option.</summary>
    public T Checked<T>(int job, Func<T> step)
    {
        try
        {
            return step();
        }
        catch (UsageException e)
        {
            throw Located(job, e);
        }
    }

    private UsageException Located(int job, UsageException e) => _jobs[job].Locate(e, _named);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var entry in _entries)
        {
            entry.Target?.Dispose();
            entry.Target = null;
        }
    }
}
