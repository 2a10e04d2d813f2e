using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Report;
using PolledNvme.Bench.Run;

namespace PolledNvme.Bench.Commands;

/// <summary><c>pnvme bench</c>: the fio-like benchmark, with fio's job files, JSON and logs.</summary>
internal static class BenchCommand
{
    /// <summary>Runs the command; returns the exit code (0 ok, 1 errors found or stopped, 2 usage).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, StopRequest stop)
    {
        BenchSetup setup = BenchArguments.Parse(args);
        if (setup.Info is { } info)
        {
            stdout.WriteLine(info);
            return Cli.ExitOk;
        }
        bool terminal = !Console.IsErrorRedirected;
        TextWriter? progress = (setup.Run.Progress ?? terminal) && terminal ? stderr : null;
        return Run(setup, stdout, stderr, progress, stop);
    }

    /// <summary>
    /// Runs a parsed command line. Everything the command line or a job file can get wrong is
    /// refused (<see cref="UsageException"/>, naming the option, and for a job file its file and
    /// line) before any device is opened or any I/O: every job's device string, then every output
    /// (report, plot, each clone's logs: none may be a device's image), then every job's options
    /// against its device (a probe first when opening would create or re-lay an image), then what
    /// the jobs need together (queue pairs, buffer memory). Only then are <c>uring:</c> files laid out.
    /// </summary>
    public static int Run(BenchSetup setup, TextWriter stdout, TextWriter stderr, TextWriter? progress, StopRequest? stop = null)
    {
        stop ??= new StopRequest();
        using var watching = stop.Watch();
        var jobs = setup.Jobs;
        bool named = jobs.Count > 1 || jobs.Any(j => !j.FromCommandLine);
        if (setup.Run.ParseOnly)
        {
            // fio's --parse-only: check the options, touch no device and no file.
            JobTargets.ResolveNames(jobs, named);
            return Cli.ExitOk;
        }
        using var targets = JobTargets.Resolve(jobs, named);
        CheckOutputs(setup, targets);
        if (setup.Run.PlotPath is not null)
            LatencyPlot.CheckRenderer();

        var planned = targets.OpenAndPlan(
            (i, target) => new PlannedJob(BenchPlan.Create(jobs[i].Options, target, jobs[i].GroupId), target,
                new TargetInfo(targets.DeviceOf(i, target), target.Description, target.EngineName)),
            BenchRunner.CheckTogether);
        var line = progress is null ? null : new ProgressLine(progress);
        targets.Prepare(line);
        if (stop.IsRequested)
        {
            stderr.WriteLine($"pnvme bench: stopped by {stop.Reason} before the run started; nothing was measured");
            return Cli.ExitFailure;
        }
        return RunJobs(planned, setup.Run, stdout, stderr, progress, stop);
    }

    // --output, --plot and every clone's fio logs: writable, not a directory, not a device's data
    // (any job's image or format record, any emulated image, a uring: file), not each other.
    private static void CheckOutputs(BenchSetup setup, JobTargets targets)
    {
        var outputs = new List<(string Flag, string? Path)> { ("--output", setup.Run.OutputPath), ("--plot", setup.Run.PlotPath) };
        var logs = new List<(int Job, string Option, string Path)>();
        int threadNumber = 0;
        for (int i = 0; i < setup.Jobs.Count; i++)
        {
            var o = setup.Jobs[i].Options;
            for (int clone = 0; clone < o.NumJobs; clone++)
            {
                threadNumber++;
                foreach (var (option, path) in JobLogs.Files(o, threadNumber))
                {
                    // per_job_logs=0: the clones of a job share their files.
                    if (!logs.Any(l => l.Job == i && l.Path == path))
                        logs.Add((i, option, path));
                }
            }
        }
        int first = outputs.Count;
        foreach (var (job, option, path) in logs)
            outputs.Add((setup.Jobs[job].Options.Sources.GetValueOrDefault(option, "--" + option), path));
        try
        {
            OutputPaths.Check(outputs, targets.DataFiles);
        }
        catch (UsageException e) when (outputs.FindIndex(first, o => o.Flag == e.Flag) >= 0)
        {
            // Several logs come from one option (lat, slat, clat): the one the message is about, else the first (they share a directory).
            int at = outputs.FindIndex(first, o => o.Flag == e.Flag && e.Detail.Contains($"'{o.Path}'", StringComparison.Ordinal));
            var (job, _, path) = logs[(at >= 0 ? at : outputs.FindIndex(first, o => o.Flag == e.Flag)) - first];
            string detail = e.Detail.Contains(path, StringComparison.Ordinal) ? $"log file {e.Detail}" : $"{e.Detail} (log file '{path}')";
            throw setup.Jobs[job].Locate(new UsageException(e.Flag, detail, e), setup.Jobs.Count > 1 || !setup.Jobs[job].FromCommandLine);
        }
    }

    /// <summary>Runs one plan on an opened target and writes the report(s) (tests and single-job callers).</summary>
    public static int RunPlan(BenchPlan plan, IBenchTarget target, TextWriter stdout, TextWriter stderr, TextWriter? progress, RunOptions? run = null, StopRequest? stop = null)
        => RunJobs([new PlannedJob(plan, target, new TargetInfo(plan.Options.Device ?? target.Description, target.Description, target.EngineName))],
            run ?? new RunOptions(), stdout, stderr, progress, stop ?? new StopRequest());

    /// <summary>Runs planned jobs and writes the report(s), the plot and the logs.</summary>
    public static int RunJobs(IReadOnlyList<PlannedJob> jobs, RunOptions run, TextWriter stdout, TextWriter stderr, TextWriter? progress, StopRequest stop)
    {
        // Opened before the run, written after it: a file that cannot be opened fails here, not after the whole run.
        using var outputFile = run.OutputPath is { } path ? OutputFile.Open("--output", path) : null;
        using var plotFile = run.PlotPath is { } plot ? OutputFile.Open("--plot", plot) : null;
        using var fileWriter = outputFile is null ? null : new StreamWriter(outputFile.Begin(), leaveOpen: true);
        TextWriter report = fileWriter ?? stdout;
        if ((run.Formats & ReportFormats.Normal) != 0)
        {
            NormalReport.WriteHeader(jobs, report);
            report.Flush();
        }
        BenchResult result = BenchRunner.Run(jobs, run, progress, snapshot =>
        {
            WriteReports(snapshot, run, report);
            report.Flush();
        }, stop);
        WriteReports(result, run, report);
        report.Flush();
        if (plotFile is not null)
        {
            LatencyPlot.Save(result, plotFile.Begin(), svg: plotFile.Path.EndsWith(".svg", StringComparison.OrdinalIgnoreCase));
            stderr.WriteLine($"pnvme bench: plot written to {plotFile.Path}");
        }
        int exit = Cli.ExitOk;
        if (stop.Reason is { } reason)
        {
            stderr.WriteLine($"pnvme bench: stopped by {reason} after {result.Total.Elapsed.TotalSeconds:0.###} s of measured run; the report covers that part");
            exit = Cli.ExitFailure;
        }
        if (result.HasErrors)
        {
            var t = result.Total;
            stderr.WriteLine($"pnvme bench: errors found: {t.PiErrors} PI, {t.VerifyErrors} verify, {t.OtherErrors} other; first: {t.FirstError}");
            exit = Cli.ExitFailure;
        }
        return exit;
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

        polling (the driver's devices: emu:, mem:, null:, pci:, tcp:):
          --poll MODE            spin|adaptive|interrupt: how each job's queue pair waits for
                                 completions (default spin; adaptive spins 50 us after the last
                                 completion, then sleeps on the completion interrupt; interrupt
                                 sleeps whenever nothing is ready); the report's CPU line gives
                                 the process CPU time and % beside the IOPS

        exit codes: 0 no errors; 1 I/O, PI or verify errors, the device failed, or a signal (SIGINT,
        SIGTERM, SIGHUP) stopped the run (the report covers what ran); 2 usage error or an option
        that does not fit the device (refused before any I/O; a job file's errors name file, line
        and option)
        """;
}
