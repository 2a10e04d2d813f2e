using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Report;
using PolledNvme.Bench.Run;

namespace PolledNvme.Bench.Commands;

/// <summary><c>pnvme bench</c>: the fio-like benchmark.</summary>
internal static class BenchCommand
{
    /// <summary>Runs the command; returns the exit code (0 ok, 1 errors found or stopped, 2 usage).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, StopRequest stop)
    {
        if (args.Contains("--help") || args.Contains("-h"))
        {
            stdout.WriteLine(Usage);
            return Cli.ExitOk;
        }
        BenchOptions options = BenchOptionParser.Parse(args);
        return Run(options, stdout, stderr, progress: options.Progress && !Console.IsErrorRedirected ? stderr : null, stop);
    }

    /// <summary>
    /// Runs a parsed benchmark. Used by the CLI and by tests. Everything the command line can get
    /// wrong is refused (<see cref="UsageException"/>) before the device is opened or any I/O:
    /// the device string, then the outputs (not the device's image), then the flags against the device.
    /// </summary>
    public static int Run(BenchOptions options, TextWriter stdout, TextWriter stderr, TextWriter? progress, StopRequest? stop = null)
    {
        stop ??= new StopRequest();
        using var watching = stop.Watch();
        var spec = DeviceSpec.Parse(options.Device);
        OutputPaths.Check([("--output", options.OutputPath), ("--plot", options.PlotPath)], spec.DataFiles);
        if (options.PlotPath is not null)
            LatencyPlot.CheckRenderer();
        if (spec.WritesOnOpen)
        {
            // Opening creates or re-lays the image: check the flags against a probe first.
            using var probe = DeviceTargets.OpenForBench(spec.Probe());
            BenchPlan.Create(options, probe);
        }
        bool writes = !options.VerifyOnly && (options.HasWrites || options.Verify);
        using var device = DeviceTargets.OpenForBench(spec, writes);
        var plan = BenchPlan.Create(options, device);
        device.Prepare();
        if (stop.IsRequested)
        {
            stderr.WriteLine($"pnvme bench: stopped by {stop.Reason} before the run started; nothing was measured");
            return Cli.ExitFailure;
        }
        return RunPlan(plan, device, stdout, stderr, progress, stop);
    }

    /// <summary>Runs a plan on an opened target and writes the report(s).</summary>
    public static int RunPlan(BenchPlan plan, IBenchTarget target, TextWriter stdout, TextWriter stderr, TextWriter? progress, StopRequest? stop = null)
    {
        stop ??= new StopRequest();
        var options = plan.Options;
        // Opened before the run, written after it: a file that cannot be opened fails here, not after the whole run.
        using var outputFile = options.OutputPath is { } path ? OutputFile.Open("--output", path) : null;
        using var plotFile = options.PlotPath is { } plot ? OutputFile.Open("--plot", plot) : null;
        using var fileWriter = outputFile is null ? null : new StreamWriter(outputFile.Begin(), leaveOpen: true);
        TextWriter report = fileWriter ?? stdout;
        if (options.Format == OutputFormat.Normal)
        {
            NormalReport.WriteHeader(plan, target.Description, target.EngineName, report);
            report.Flush();
        }
        BenchResult result = BenchRunner.Run(plan, target, progress, stop);
        if (options.Format == OutputFormat.Json)
        {
            report.Flush();
            using var buffer = new MemoryStream();
            JsonReport.Write(result, buffer);
            report.Write(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            report.WriteLine();
        }
        else
        {
            NormalReport.WriteResults(result, report);
        }
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
            stderr.WriteLine($"pnvme bench: errors found: {result.Total.PiErrors} PI, {result.Total.VerifyErrors} verify, {result.Total.OtherErrors} other; first: {result.Total.FirstError}");
            exit = Cli.ExitFailure;
        }
        return exit;
    }

    public const string Usage = """
        usage: pnvme bench [--flag=value | --flag value]...

        With no flags: 10 s of 4 KiB randrw 70/30 at QD32 on a PI type 1 namespace of the emulated
        controller on a temp file, with host PI verify.

        job (fio's names and meanings; sizes take k/m/g/t/p = powers of 1024, times d/h/m/s/ms/us):
          --name NAME            job name (default pnvme)
          --device DEV           emu:PATH[,lbads=4096,ms=8,pi=1,pil=0,pif=0,mset=0,sts=0,size=1G]
                                 mem:[...]   null:[...]   pci:0000:01:00.0   uring:PATH
          --rw MODE              read|write|randread|randwrite|rw|randrw (default randrw)
          --rwmixread PCT        reads in mixed modes (default 70); or --rwmixwrite
          --bs SIZE              bytes per I/O, a multiple of the block size (default 4k)
          --iodepth N            commands in flight per job (default 32)
          --numjobs N            jobs, each a pinned thread with its own queue pair (default 1)
          --runtime TIME         stop after TIME (default 10 s when time based)
          --time_based           run for --runtime even when --size is done (default without --size)
          --size SIZE            region per job; without --time_based a job ends after SIZE bytes
          --offset SIZE          start of the region (default 0)
          --ramp_time TIME       warm-up not counted
          --randseed N           seed of offsets and of the verify pattern
          --verify[=pattern]     write a pattern derived from LBA and seed, check every read
                                 (the region is laid out with the pattern first, not timed)
          --verify_only          only read the region back and check an earlier --verify run's pattern
          --output-format FMT    normal|json (fio-shaped JSON)
          --output FILE          write the report to FILE
          --plot FILE            latency distribution and IOPS over time, .png or .svg
          --pin=0                do not pin job threads to cores
          --progress=0           no live progress line (it is shown only when stderr is a terminal)

        protection information (PI namespaces only):
          --pract                controller inserts PI on writes / strips it on reads (PRACT=1)
          --prchk LIST           controller checks: guard,app,ref,storage or none (default guard,app,ref)
          --apptag N             application tag (default 0x1234)
          --apptag-mask N        application tag mask (default 0xffff)
          --storage-tag N        storage tag (formats with STS > 0)
          --host-pi MODE         generate|verify|both|none: PI in software by the host (default verify);
                                 writes go with PRACT=1 unless the host generates, reads with PRACT=0
                                 whenever the host verifies

        exit codes: 0 no errors; 1 I/O, PI or verify errors, the device failed, or a signal (SIGINT,
        SIGTERM, SIGHUP) stopped the run (the report covers what ran); 2 usage error or a flag that
        does not fit the device (refused before any I/O)
        """;
}
