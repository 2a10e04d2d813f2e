using System.Diagnostics;
using PolledNvme.Bench.Engines;

namespace PolledNvme.Bench.Run;

/// <summary>
/// Runs a planned benchmark: one thread per job, all released together after each opened its
/// queue pair (and laid out its <c>--verify</c> data), then joined and merged.
/// </summary>
public static class BenchRunner
{
    /// <summary>Runs <paramref name="plan"/> on <paramref name="target"/>.</summary>
    /// <param name="plan">The checked plan.</param>
    /// <param name="target">The opened device.</param>
    /// <param name="progress">Where to draw the live progress line, or null for none.</param>
    /// <param name="stop">Ends the run early when requested: jobs drain what is in flight and the result covers what ran.</param>
    /// <exception cref="BenchFailedException">A job could not open its engine or lay out its data.</exception>
    public static BenchResult Run(BenchPlan plan, IBenchTarget target, TextWriter? progress, StopRequest? stop = null)
    {
        stop ??= new StopRequest();
        var options = plan.Options;
        var startLine = new Barrier(options.NumJobs + 1);
        var workers = new JobWorker[options.NumJobs];
        var threads = new Thread[options.NumJobs];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = new JobWorker(plan, target, i, startLine, stop);
            threads[i] = new Thread(workers[i].Run) { Name = $"pnvme-job{i}", IsBackground = true };
        }
        DateTimeOffset startedAt = DateTimeOffset.UtcNow;
        foreach (var t in threads) t.Start();
        startLine.SignalAndWait();
        var clock = Stopwatch.StartNew();
        var process = Process.GetCurrentProcess();
        TimeSpan user0 = process.UserProcessorTime, system0 = process.PrivilegedProcessorTime;

        if (progress is null)
        {
            foreach (var t in threads) t.Join();
        }
        else
        {
            DrawProgress(plan, workers, threads, clock, progress);
        }

        clock.Stop();
        process.Refresh();
        var processCpu = new CpuSample(process.UserProcessorTime - user0, process.PrivilegedProcessorTime - system0, 0);
        var failed = workers.FirstOrDefault(w => w.Fault is not null);
        if (failed?.Fault is { } fault)
            throw fault as BenchFailedException ?? new BenchFailedException($"job failed: {fault.Message}", fault);

        var jobs = workers.Select((w, i) => new JobResult(i, w.Reads, w.Writes, w.Elapsed, w.Cpu, w.Pinned, w.FirstError, w.Timeline, w.AllocatedBytes)).ToArray();
        return new BenchResult(plan, target.Description, target.EngineName, jobs, Merge(jobs, plan), startedAt, processCpu, clock.Elapsed);
    }

    /// <summary>Merges per-job results into the total (histograms added, elapsed = longest job).</summary>
    public static JobResult Merge(IReadOnlyList<JobResult> jobs, BenchPlan plan)
    {
        var reads = new DirectionStats();
        var writes = new DirectionStats();
        var timeline = new IopsTimeline(plan.TimelineBucket);
        TimeSpan elapsed = TimeSpan.Zero;
        CpuSample cpu = default;
        string? firstError = null;
        foreach (var j in jobs)
        {
            reads.Add(j.Reads);
            writes.Add(j.Writes);
            timeline.Add(j.Timeline);
            if (j.Elapsed > elapsed) elapsed = j.Elapsed;
            cpu = new CpuSample(cpu.User + j.Cpu.User, cpu.System + j.Cpu.System, cpu.ContextSwitches + j.Cpu.ContextSwitches);
            firstError ??= j.FirstError;
        }
        return new JobResult(-1, reads, writes, elapsed, cpu, jobs.All(j => j.Pinned), firstError, timeline, jobs.Sum(j => j.AllocatedBytes));
    }

    private static void DrawProgress(BenchPlan plan, JobWorker[] workers, Thread[] threads, Stopwatch clock, TextWriter progress)
    {
        var options = plan.Options;
        double total = (options.RampTime + (options.Runtime ?? TimeSpan.Zero)).TotalSeconds;
        long lastIos = 0, lastBytes = 0;
        double lastTime = 0;
        bool drew = false;
        while (!threads.All(t => t.Join(0)))
        {
            threads[0].Join(1000);
            long ios = 0, bytes = 0;
            foreach (var w in workers) { ios += w.ProgressIos; bytes += w.ProgressBytes; }
            double now = clock.Elapsed.TotalSeconds;
            double dt = Math.Max(1e-3, now - lastTime);
            double iops = (ios - lastIos) / dt;
            double mibs = (bytes - lastBytes) / dt / (1024 * 1024);
            (lastIos, lastBytes, lastTime) = (ios, bytes, now);
            string eta = total > 0 ? FormatEta(Math.Max(0, total - now)) : "--";
            progress.Write($"\rJobs: {threads.Count(t => t.IsAlive)} [{RwLetter(options)}] [{mibs:F1} MiB/s] [{iops / 1000:F1}k IOPS] [eta {eta}]   ");
            progress.Flush();
            drew = true;
        }
        if (drew)
        {
            progress.Write("\r" + new string(' ', 72) + "\r");
            progress.Flush();
        }
    }

    private static string RwLetter(Options.BenchOptions o) => o.Pattern switch
    {
        Options.RwPattern.Read => "R",
        Options.RwPattern.RandRead => "r",
        Options.RwPattern.Write => "W",
        Options.RwPattern.RandWrite => "w",
        Options.RwPattern.ReadWrite => "M",
        _ => "m",
    };

    private static string FormatEta(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Ceiling(seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours:D2}h:{t.Minutes:D2}m:{t.Seconds:D2}s" : $"{t.Minutes:D2}m:{t.Seconds:D2}s";
    }
}
