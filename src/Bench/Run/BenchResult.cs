using PolledNvme.Bench.Options;

namespace PolledNvme.Bench.Run;

/// <summary>The device a job ran on, for reports.</summary>
/// <param name="Device">The device string as given (or the default device's).</param>
/// <param name="Description">What the device is (model, namespace format).</param>
/// <param name="EngineName">The I/O path, e.g. <c>nvme-emu</c>, <c>io_uring</c>.</param>
public sealed record TargetInfo(string Device, string Description, string EngineName);

/// <summary>What one job clone measured, or several merged (a group, the total).</summary>
/// <param name="Plan">The job's plan (the first job's when merged).</param>
/// <param name="Target">Its device.</param>
/// <param name="Clone">Clone index in the job; -1 when merged.</param>
/// <param name="ThreadNumber">fio's 1-based job number across the run; the first one's when merged.</param>
/// <param name="Stats">Read, write and trim statistics.</param>
/// <param name="Depth">Depth distributions.</param>
/// <param name="Elapsed">Measured time (the longest when merged).</param>
/// <param name="Cpu">CPU time of the job thread(s).</param>
/// <param name="Pinned">Whether every thread was pinned.</param>
/// <param name="FirstError">The first failure, described.</param>
/// <param name="Timeline">Completions over time.</param>
/// <param name="AllocatedBytes">Bytes the job thread(s) allocated in the measured phase.</param>
/// <param name="Jobs">Clones merged into this result.</param>
/// <param name="StartOffset">When its measured phase started, from the start of the run.</param>
public sealed record JobResult(BenchPlan Plan, TargetInfo Target, int CloneIndex, int ThreadNumber, IReadOnlyList<DirectionStats> Stats,
    DepthStats Depth, TimeSpan Elapsed, CpuSample Cpu, bool Pinned, string? FirstError, RunTimeline Timeline, long AllocatedBytes = 0, int Jobs = 1,
    TimeSpan StartOffset = default)
{
    /// <summary>Read statistics.</summary>
    public DirectionStats Reads => Stats[0];
    /// <summary>Write statistics.</summary>
    public DirectionStats Writes => Stats[1];
    /// <summary>Trim statistics.</summary>
    public DirectionStats Trims => Stats[2];
    /// <summary>The job's options.</summary>
    public BenchOptions Options => Plan.Options;
    /// <summary>fio's group id.</summary>
    public int GroupId => Plan.GroupId;
    /// <summary>PI errors of all directions.</summary>
    public long PiErrors => Stats.Sum(s => s.PiErrors);
    /// <summary>Failed I/Os that were not PI errors.</summary>
    public long OtherErrors => Stats.Sum(s => s.OtherErrors);
    /// <summary>Blocks that failed the <c>verify</c> pattern.</summary>
    public long VerifyErrors => Stats.Sum(s => s.VerifyErrors);
    /// <summary>Whether anything failed.</summary>
    public bool HasErrors => PiErrors + OtherErrors + VerifyErrors > 0;

    /// <summary>Merges <paramref name="jobs"/> (a reporting group, or every job): histograms added, rates summed as fio sums a group, elapsed the longest.</summary>
    public static JobResult Merge(IReadOnlyList<JobResult> jobs)
    {
        var first = jobs[0];
        var stats = new DirectionStats[3];
        for (int d = 0; d < 3; d++)
        {
            // A histogram only where every job kept one: a partial one would give wrong percentiles.
            var all = jobs.Select(j => j.Stats[d]).ToArray();
            stats[d] = new DirectionStats(all.Any(s => s.Slat is not null), all.Any(s => s.Clat is not null), all.Any(s => s.Lat is not null),
                all.All(s => s.Slat is null || s.Slat.Histogram is not null), all.All(s => s.Lat is null || s.Lat.Histogram is not null));
            foreach (var j in jobs) stats[d].Add(j.Stats[d]);
        }
        var depth = new DepthStats();
        var timeline = new RunTimeline(jobs.Select(j => TimeSpan.FromSeconds(j.Timeline.BucketSeconds)).Max());
        var start = jobs.Min(j => j.StartOffset);
        CpuSample cpu = default;
        foreach (var j in jobs)
        {
            depth.Add(j.Depth);
            // Jobs behind a stonewall started later: their buckets go where they happened.
            timeline.Add(j.Timeline, (long)((j.StartOffset - start).TotalSeconds * System.Diagnostics.Stopwatch.Frequency));
            cpu += j.Cpu;
        }
        return new JobResult(first.Plan, first.Target, -1, first.ThreadNumber, stats, depth, jobs.Max(j => j.Elapsed), cpu,
            jobs.All(j => j.Pinned), jobs.Select(j => j.FirstError).FirstOrDefault(e => e is not null), timeline,
            jobs.Sum(j => j.AllocatedBytes), jobs.Sum(j => j.Jobs), start);
    }
}

/// <summary>A finished run: every job clone, and the total merged from them.</summary>
/// <param name="Run">The run's options.</param>
/// <param name="Jobs">Every clone, in fio's order (stats=0 jobs left out).</param>
/// <param name="Total">All of them merged.</param>
/// <param name="StartedAt">When the first job started.</param>
/// <param name="ProcessCpu">CPU time of the whole process over the run (jobs, and the emulated controller's device thread when there is one).</param>
/// <param name="WallTime">Wall time of the run, from the first start to the last job's end.</param>
public sealed record BenchResult(RunOptions Run, IReadOnlyList<JobResult> Jobs, JobResult Total, DateTimeOffset StartedAt,
    CpuSample ProcessCpu = default, TimeSpan WallTime = default)
{
    /// <summary>Whether any I/O failed, any PI check failed or any block failed verify.</summary>
    public bool HasErrors => Total.HasErrors;

    /// <summary>
    /// What the report lists as jobs, as fio's __show_run_stats groups them: a clone with
    /// group_reporting joins the entry before it when that entry is of its group; any other
    /// clone starts an entry of its own.
    /// </summary>
    public IReadOnlyList<JobResult> Reported
    {
        get
        {
            var entries = new List<List<JobResult>>();
            int lastGroup = -1;
            foreach (var job in Jobs)
            {
                if (entries.Count == 0 || !job.Options.GroupReporting || job.GroupId != lastGroup) entries.Add([]);
                entries[^1].Add(job);
                lastGroup = job.GroupId;
            }
            return entries.Select(e => e.Count == 1 ? e[0] : JobResult.Merge(e)).ToArray();
        }
    }
}
