using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Report;
using PolledNvme.Bench.Run;

namespace PolledNvme.Bench.Commands;

/// <summary><c>pnvme bench</c>: the fio-like benchmark, with fio's job files, JSON and logs.</summary>
internal static class BenchCommand
{
    /// <summary>Runs the command; returns the exit code (0 ok, 1 errors found, 2 usage).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        BenchSetup setup;
        try
        {
            setup = BenchArguments.Parse(args);
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"pnvme bench: {e.Message}");
            stderr.WriteLine("Run 'pnvme bench --help' for the flags, 'pnvme bench --cmdhelp' for every fio option.");
            return Cli.ExitUsage;
        }
        if (setup.Info is { } info)
        {
            stdout.WriteLine(info);
            return Cli.ExitOk;
        }
        bool terminal = !Console.IsErrorRedirected;
        TextWriter? progress = (setup.Run.Progress ?? terminal) && terminal ? stderr : null;
        return Run(setup, stdout, stderr, progress);
    }

    /// <summary>Runs a parsed command line: opens each job's device, checks every job against it, runs, reports.</summary>
    public static int Run(BenchSetup setup, TextWriter stdout, TextWriter stderr, TextWriter? progress)
    {
        var targets = new Dictionary<(string?, bool?), (IBenchTarget Target, string Device)>();
        // The default device (a temp file) grows to hold the largest region a job without a device asks for.
        long defaultBytes = setup.Jobs.Select(j => j.Options).Where(o => o.Device is null && o.FileName is null && o.IoEngine is null or IoEngines.Pnvme)
            .Select(o => o.OffsetBytes + (o.NumJobs - 1) * o.OffsetIncrement + (o.SizeBytes ?? 0)).DefaultIfEmpty(0).Max();
        try
        {
            var planned = new List<PlannedJob>();
            foreach (var job in setup.Jobs)
            {
                string? device;
                try
                {
                    device = JobDevices.Resolve(job.Options);
                }
                catch (UsageException e)
                {
                    return UsageError(stderr, job, e);
                }
                if (setup.Run.ParseOnly) continue;   // fio's --parse-only: check the options, touch no device
                var key = (device, device is null ? job.Options.Direct : null);
                if (!targets.TryGetValue(key, out var opened))
                {
                    var line = progress is null ? null : new ProgressLine(progress);
                    string file = device?.Split(',')[0] ?? "";
                    var target = DeviceTargets.OpenForBench(device, stderr, out var openError, job.Options.Direct,
                        line is null ? null : (done, total) => line.DrawStep($"laying out {NormalReport.FormatBytes(total)} in {file}", done, total), defaultBytes);
                    line?.Clear();
                    if (target is null)
                    {
                        stderr.WriteLine($"pnvme bench: {(setup.Jobs.Count > 1 ? $"job '{job.Options.Name}' ({job.Source}): " : "")}{openError!.Message}");
                        return openError is UsageException ? Cli.ExitUsage : Cli.ExitFailure;
                    }
                    opened = (target, device ?? target.Description);
                    targets[key] = opened;
                }
                try
                {
                    var plan = BenchPlan.Create(job.Options, opened.Target, job.GroupId);
                    planned.Add(new PlannedJob(plan, opened.Target, new TargetInfo(opened.Device, opened.Target.Description, opened.Target.EngineName)));
                }
                catch (UsageException e)
                {
                    return UsageError(stderr, job, e, setup.Jobs.Count > 1);
                }
            }
            if (setup.Run.ParseOnly) return Cli.ExitOk;
            return RunJobs(planned, setup.Run, stdout, stderr, progress);
        }
        finally
        {
            foreach (var (target, _) in targets.Values) target.Dispose();
        }
    }

    private static int UsageError(TextWriter stderr, JobDefinition job, UsageException e, bool named = true)
    {
        stderr.WriteLine($"pnvme bench: {(named && job.Source != "command line" ? $"job '{job.Options.Name}' ({job.Source}): " : "")}{e.Message}");
        return Cli.ExitUsage;
    }

    /// <summary>Runs one plan on an opened target and writes the report(s) (tests and single-job callers).</summary>
    public static int RunPlan(BenchPlan plan, IBenchTarget target, TextWriter stdout, TextWriter stderr, TextWriter? progress, RunOptions? run = null)
        => RunJobs([new PlannedJob(plan, target, new TargetInfo(plan.Options.Device ?? target.Description, target.Description, target.EngineName))],
            run ?? new RunOptions(), stdout, stderr, progress);

    /// <summary>Runs planned jobs and writes the report(s), the plot and the logs.</summary>
    public static int RunJobs(IReadOnlyList<PlannedJob> jobs, RunOptions run, TextWriter stdout, TextWriter stderr, TextWriter? progress)
    {
        using var file = run.OutputPath is { } path ? new StreamWriter(path, append: false) : null;
        TextWriter report = file ?? stdout;
        bool normal = (run.Formats & ReportFormats.Normal) != 0;
        if (normal)
        {
            NormalReport.WriteHeader(jobs, report);
            report.Flush();
        }
        BenchResult result;
        try
        {
            result = BenchRunner.Run(jobs, run, progress, snapshot =>
            {
                WriteReports(snapshot, run, report);
                report.Flush();
            });
        }
        catch (BenchFailedException e)
        {
            stderr.WriteLine($"pnvme bench: {e.Message}");
            return Cli.ExitFailure;
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"pnvme bench: {e.Message}");
            return Cli.ExitUsage;
        }
        WriteReports(result, run, report);
        report.Flush();
        if (run.PlotPath is { } plot)
        {
            LatencyPlot.Save(result, plot);
            stderr.WriteLine($"pnvme bench: plot written to {plot}");
        }
        if (result.HasErrors)
        {
            var t = result.Total;
            stderr.WriteLine($"pnvme bench: errors found: {t.PiErrors} PI, {t.VerifyErrors} verify, {t.OtherErrors} other; first: {t.FirstError}");
            return Cli.ExitFailure;
        }
        return Cli.ExitOk;
    }

    private static void WriteReports(BenchResult result, RunOptions run, TextWriter report)
    {
        if ((run.Formats & ReportFormats.Normal) != 0) NormalReport.WriteResults(result, report);
        if (run.WritesJson)
        {
            using var buffer = new MemoryStream();
            JsonReport.Write(result, buffer, plus: (run.Formats & ReportFormats.JsonPlus) != 0);
            report.Write(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            report.WriteLine();
        }
    }

    public const string Usage = """
        usage: pnvme bench [JOBFILE.fio ...] [--option=value | --option value]...

        Runs fio jobs: job files (fio's format: [global] and [job] sections, ${ENV}, include) and/or
        jobs on the command line (--name=NAME starts one; options before it are global). With no job:
        10 s of 4 KiB randrw 70/30 at QD32 on a PI type 1 namespace of the emulated controller on a
        temp file, with host PI verify. fio's options keep fio's names and meanings; the last value of
        a repeated option wins. 'pnvme bench --cmdhelp' lists every fio option and what pnvme does with
        it; docs/PNVME.md has the same table.

        common job options (sizes take k/m/g/t/p = powers of 1024, times d/h/m/s/ms/us):
          --name NAME            job name (default pnvme)
          --device DEV           emu:PATH[,lbads=4096,ms=8,pi=1,pil=0,pif=0,mset=0,sts=0,size=1G]
                                 mem:[...]   null:[...]   pci:0000:01:00.0   uring:PATH
          --filename, --ioengine fio's: a device string or a file (uring:), ioengine=null on null:
          --rw MODE              read|write|randread|randwrite|rw|randrw|trim|randtrim|trimwrite|randtrimwrite
          --rwmixread PCT        reads in mixed modes (default 70); or --rwmixwrite
          --bs SIZE[,W[,T]]      bytes per I/O (default 4k); --bsrange, --bssplit, --ba as fio
          --iodepth N            commands in flight per job (default 32)
          --numjobs N            clones, each a pinned thread with its own queue pair (default 1)
          --runtime TIME         stop after TIME (default 10 s when time based)
          --time_based           run for --runtime even when --size is done (default without --size)
          --size SIZE|N%         region per job; without --time_based a job ends after SIZE bytes
          --offset SIZE|N%       start of the region; --offset_increment, --io_size, --number_ios, --loops
          --ramp_time TIME       warm-up not counted; --startdelay TIME[-TIME]
          --random_distribution  random|zipf:T|pareto:H|normal:D|zoned:..|zoned_abs:..; --norandommap
          --rate BPS[,W], --rate_iops N[,W]   caps per direction; --rate_process linear|poisson
          --randseed N, --randrepeat 0|1
          --verify[=pattern]     write a pattern derived from LBA and seed, check every read
          --verify_only          only read the region back and check an earlier verify run's pattern
          --direct 0|1           O_DIRECT for emu: and uring: files
          --cpus_allowed LIST    CPUs of the job threads (--cpus_allowed_policy shared|split); --pin=0
          --stonewall, --new_group, --group_reporting, --exitall, --stats 0
          --write_lat_log NAME, --write_bw_log NAME, --write_iops_log NAME, --log_avg_msec MS
          --percentile_list P:P.., --clat_percentiles, --lat_percentiles, --slat_percentiles

        run options:
          --output-format FMT    normal|json|json+ (fio's JSON; json+ adds latency bins); a comma list
          --output FILE          write the report to FILE
          --status-interval TIME print the report every TIME while running
          --plot FILE            latency percentiles and latency/IOPS/bandwidth over time, .png or .svg
          --progress 0|1         the progress line (default: when stderr is a terminal); --eta
          --parse-only, --section NAME, --readonly, --max-jobs N, --version, --cmdhelp[=OPTION]

        protection information (PI namespaces only):
          --pract                controller inserts PI on writes / strips it on reads (PRACT=1)
          --prchk LIST           controller checks: guard,app,ref,storage or none (default guard,app,ref)
          --apptag N             application tag (default 0x1234)
          --apptag-mask N        application tag mask (default 0xffff)
          --storage-tag N        storage tag (formats with STS > 0)
          --host-pi MODE         generate|verify|both|none: PI in software by the host (default verify);
                                 writes go with PRACT=1 unless the host generates, reads with PRACT=0
                                 whenever the host verifies

        exit codes: 0 no errors; 1 I/O, PI or verify errors (or the device failed); 2 usage error or
        an option that does not fit the device (refused before any I/O)
        """;
}
