using System.Diagnostics;
using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;

namespace PolledNvme.Bench.Run;

/// <summary>A job ready to run: its plan and its opened device.</summary>
public sealed record PlannedJob(BenchPlan Plan, IBenchTarget Target, TargetInfo Info);

/// <summary>
/// Runs planned jobs as fio does: jobs up to the next <c>stonewall</c> run together, every
/// clone a thread with its own queue pair, released together once each has opened its queue
/// pair and laid out its verify data (that step's progress drawn meanwhile). While they run,
/// the runner takes fio's bandwidth/IOPS samples, draws the progress line, prints the report at
/// <c>--status-interval</c>; then it joins the threads and writes their logs.
/// </summary>
public static class BenchRunner
{
    /// <summary>Runs one plan on one target (tests and single-job callers).</summary>
    public static BenchResult Run(BenchPlan plan, IBenchTarget target, TextWriter? progress, StopRequest? stop = null)
        => Run([new PlannedJob(plan, target, new TargetInfo(plan.Options.Device ?? target.Description, target.Description, target.EngineName))],
            new RunOptions(), progress, null, stop);

    /// <summary>Runs <paramref name="jobs"/>.</summary>
    /// <param name="jobs">The jobs in fio's order.</param>
    /// <param name="run">The run's options.</param>
    /// <param name="progress">Where to draw the progress line (a terminal), or null for none.</param>
    /// <param name="status">Called with the figures so far at every <c>--status-interval</c>.</param>
    /// <param name="stop">Ends the run early when requested (a signal): jobs drain what is in flight, later phases do not start, and the result covers what ran.</param>
    /// <exception cref="BenchFailedException">A job could not open its engine or lay out its data.</exception>
    public static BenchResult Run(IReadOnlyList<PlannedJob> jobs, RunOptions run, TextWriter? progress, Action<BenchResult>? status, StopRequest? stop = null)
    {
        stop ??= new StopRequest();
        CheckTogether(jobs);
        var control = new RunControl(stop);
        var process = Process.GetCurrentProcess();
        TimeSpan user0 = process.UserProcessorTime, system0 = process.PrivilegedProcessorTime;
        var clock = Stopwatch.StartNew();
        long runStart = Stopwatch.GetTimestamp();
        DateTimeOffset startedAt = DateTimeOffset.UtcNow;
        var results = new List<JobResult>();
        var finished = new List<(JobWorker Worker, PlannedJob Job)>();
        int threadNumber = 0;
        foreach (var phase in Phases(jobs))
        {
            var workers = new List<(JobWorker Worker, PlannedJob Job)>();
            foreach (var job in phase)
                for (int clone = 0; clone < job.Plan.Options.NumJobs; clone++)
                    workers.Add((new JobWorker(job.Plan, job.Target, clone, ++threadNumber, control), job));
            RunPhase(workers, control, run, progress, status, finished, startedAt, clock);
            finished.AddRange(workers);
            if (stop.IsRequested || (control.StopRequested && workers.Any(w => w.Job.Plan.Options.ExitAll))) break;
        }
        foreach (var (worker, job) in finished)
        {
            if (!job.Plan.Options.Stats) continue;
            results.Add(ResultOf(worker, job, runStart));
        }
        clock.Stop();
        process.Refresh();
        var processCpu = new CpuSample(process.UserProcessorTime - user0, process.PrivilegedProcessorTime - system0, 0);
        if (results.Count == 0) results.AddRange(finished.Select(f => ResultOf(f.Worker, f.Job, runStart)));
        return new BenchResult(run, results, JobResult.Merge(results), startedAt, processCpu, clock.Elapsed);
    }

    private static JobResult ResultOf(JobWorker w, PlannedJob job, long runStart = 0)
    {
        long start = w.MeasureStartTicks;
        var offset = start == long.MaxValue || runStart == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds((double)(start - runStart) / Stopwatch.Frequency);
        return new(w.Plan, job.Info, w.Clone, w.ThreadNumber, w.Stats, w.Depth, w.Elapsed, w.Cpu, w.Pinned, w.FirstError, w.Timeline, w.AllocatedBytes,
            StartOffset: offset);
    }

    // fio: a stonewall job waits for every job before it.
    private static IEnumerable<List<PlannedJob>> Phases(IReadOnlyList<PlannedJob> jobs)
    {
        var phase = new List<PlannedJob>();
        foreach (var job in jobs)
        {
            if (job.Plan.Options.Stonewall && phase.Count > 0)
            {
                yield return phase;
                phase = [];
            }
            phase.Add(job);
        }
        if (phase.Count > 0) yield return phase;
    }

    /// <summary>
    /// Checks what the jobs that run at once (up to each stonewall) need together: I/O queue pairs
    /// of each device, and buffer memory. Called before any I/O.
    /// </summary>
    /// <exception cref="UsageException">They need more than the devices grant or the machine holds.</exception>
    public static void CheckTogether(IReadOnlyList<PlannedJob> jobs)
    {
        foreach (var phase in Phases(jobs))
        {
            foreach (var byTarget in phase.GroupBy(j => j.Target))
            {
                int threads = byTarget.Sum(j => j.Plan.Options.NumJobs);
                var target = byTarget.Key;
                if (threads > target.MaxJobs)
                    throw new UsageException("--numjobs", $"{threads} job threads run at once on {byTarget.First().Info.Device}, each with its own I/O queue pair; {target.EngineName} grants {target.MaxJobs} (add a stonewall between jobs, or fewer numjobs)");
            }
            if (phase.Count < 2) continue;   // one job's buffers were checked by its plan
            long bytes = phase.Sum(j => j.Plan.BufferBytes());
            try
            {
                Queues.HostMemory.EnsureFits(bytes, $"the I/O buffers of {phase.Sum(j => j.Plan.Options.NumJobs)} job threads running at once (DMA and host copies)",
                    "lower iodepth, bs or numjobs, or put a stonewall between jobs", "jobs");
            }
            catch (ArgumentException e)
            {
                throw new UsageException("--iodepth", DeviceSpec.MessageOf(e), e);
            }
        }
    }

    private static void RunPhase(List<(JobWorker Worker, PlannedJob Job)> workers, RunControl control, RunOptions run, TextWriter? progress,
        Action<BenchResult>? status, List<(JobWorker Worker, PlannedJob Job)> earlier, DateTimeOffset startedAt, Stopwatch runClock)
    {
        using var ready = new CountdownEvent(workers.Count);
        using var go = new ManualResetEventSlim(false);
        var threads = new Thread[workers.Count];
        for (int i = 0; i < workers.Count; i++)
        {
            var worker = workers[i].Worker;
            if (run.StatusInterval is not null) worker.PrepareSnapshots();
            threads[i] = new Thread(() => worker.Run(ready, go)) { Name = $"pnvme-job{worker.ThreadNumber}", IsBackground = true };
        }
        foreach (var t in threads) t.Start();
        var line = progress is null ? null : new ProgressLine(progress);
        while (!ready.Wait(200))
            line?.DrawSetup(control);
        line?.Clear();
        control.ClearSetup();
        if (workers.FirstOrDefault(w => w.Worker.Fault is not null) is { Worker: { } failed })
        {
            control.RequestStop();
            go.Set();
            foreach (var t in threads) t.Join();
            throw failed.Fault as BenchFailedException ?? new BenchFailedException($"job {failed.Plan.Options.Name}.{failed.Clone} failed: {failed.Fault!.Message}", failed.Fault);
        }

        go.Set();
        var phaseClock = Stopwatch.StartNew();
        var samplers = workers.Select(w => new RateSampler(w.Worker)).ToArray();
        long nextStatus = run.StatusInterval is { } si ? Stopwatch.GetTimestamp() + (long)(si.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
        double total = workers.Max(w => (w.Job.Plan.Options.RampTime + (w.Job.Plan.Options.Runtime ?? TimeSpan.Zero) + w.Job.Plan.Options.StartDelay.Max).TotalSeconds);
        while (!workers.All(w => w.Worker.Finished))
        {
            long now = Stopwatch.GetTimestamp();
            foreach (var s in samplers) s.Sample(now);
            line?.DrawRun(workers.Select(w => w.Worker).ToArray(), phaseClock.Elapsed.TotalSeconds, total);
            if (now >= nextStatus)
            {
                status?.Invoke(Snapshot(workers, earlier, run, startedAt, runClock));
                nextStatus += (long)(run.StatusInterval!.Value.TotalSeconds * Stopwatch.Frequency);
            }
            int wait = Math.Min(50, samplers.Min(s => s.MillisecondsToNext(Stopwatch.GetTimestamp())));
            threads.FirstOrDefault(t => t.IsAlive)?.Join(Math.Max(1, wait));
        }
        foreach (var t in threads) t.Join();
        line?.Clear();
        foreach (var (worker, _) in workers) worker.WriteLogs();
        if (workers.FirstOrDefault(w => w.Worker.Fault is not null) is { Worker: { } fault })
            throw fault.Fault as BenchFailedException ?? new BenchFailedException($"job {fault.Plan.Options.Name}.{fault.Clone} failed: {fault.Fault!.Message}", fault.Fault);
    }

    // --status-interval: every running job copies its figures on its own thread; ended jobs are final.
    private static BenchResult Snapshot(List<(JobWorker Worker, PlannedJob Job)> running, List<(JobWorker Worker, PlannedJob Job)> earlier,
        RunOptions run, DateTimeOffset startedAt, Stopwatch clock)
    {
        foreach (var (w, _) in running) if (!w.Finished) w.RequestSnapshot();
        var results = new List<JobResult>();
        foreach (var (w, job) in earlier) if (job.Plan.Options.Stats) results.Add(ResultOf(w, job));
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        foreach (var (w, job) in running)
        {
            if (!job.Plan.Options.Stats) continue;
            JobSnapshot? s = null;
            while (!w.Finished && (s = w.TryGetSnapshot()) is null && Stopwatch.GetTimestamp() < deadline) Thread.Sleep(1);
            if (s is null)
                results.Add(ResultOf(w, job));
            else
                results.Add(new JobResult(w.Plan, job.Info, w.Clone, w.ThreadNumber, s.Stats, s.Depth, s.Elapsed, default, w.Pinned, s.FirstError, new RunTimeline(w.Plan.TimelineBucket)));
        }
        return new BenchResult(run, results, JobResult.Merge(results), startedAt, default, clock.Elapsed);
    }
}
