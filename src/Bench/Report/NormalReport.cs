using System.Globalization;
using HdrHistogram;
using PolledNvme.Bench.Run;

namespace PolledNvme.Bench.Report;

/// <summary>
/// fio's text report: a header with the job line, the device and the run's PI settings, then
/// per job (and, with several jobs, the total) the IOPS/bandwidth line, clat min/max/avg/stdev,
/// the percentiles of <c>spdk_nvme_perf -L</c>, CPU use and PI errors; then the group summary.
/// </summary>
public static class NormalReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Writes the header (before the run starts).</summary>
    public static void WriteHeader(BenchPlan plan, string device, string engine, TextWriter w)
    {
        var o = plan.Options;
        var g = plan.Geometry;
        w.WriteLine($"{o.Name}: (g=0): rw={ReportFacts.RwName(o.Pattern)}, bs=(R) {o.BlockSizeBytes}B-{o.BlockSizeBytes}B, (W) {o.BlockSizeBytes}B-{o.BlockSizeBytes}B, ioengine={engine}, iodepth={o.IoDepth}");
        w.WriteLine($"device: {device}");
        string layout = g.MetadataSize == 0 ? "no metadata" : $"+{g.MetadataSize}B metadata, {(g.ExtendedLba ? "extended LBA" : "separate buffer")}";
        string pi = g.HasPi ? $"PI type {g.PiType} ({g.GuardName} guard, PI {(g.PiFirst ? "first" : "last")}{(g.StorageTagBits > 0 ? $", {g.StorageTagBits}-bit storage tag" : "")})" : "no PI";
        w.WriteLine($"namespace: {g.BlockCount} blocks of {g.BlockSize}B {layout}, {pi}");
        var s = plan.Settings;
        if (g.HasPi)
            w.WriteLine($"pi: pract=write:{(s.WritePract ? 1 : 0)},read:{(s.ReadPract ? 1 : 0)} prchk={ReportFacts.ChecksName(plan.Checks)} apptag=0x{s.AppTag:x4} apptag_mask=0x{s.AppTagMask:x4}{(s.StorageTag != 0 ? $" storage_tag=0x{s.StorageTag:x}" : "")} host-pi={ReportFacts.HostPiName(plan.HostPi)}");
        string size = o.TimeBased ? $"runtime={o.Runtime!.Value.TotalSeconds.ToString(Inv)}s time_based" : $"size={FormatBytes(plan.RegionIos * o.BlockSizeBytes)}{(o.Runtime is { } rt ? $" runtime={rt.TotalSeconds.ToString(Inv)}s" : "")}";
        w.WriteLine($"region: offset={o.OffsetBytes} {size}{(o.RampTime > TimeSpan.Zero ? $" ramp_time={o.RampTime.TotalSeconds.ToString(Inv)}s" : "")}{(o.HasReads && o.HasWrites ? $" rwmixread={o.ReadMixPercent}" : "")}{(o.Verify ? " verify=pattern" : "")}");
        w.WriteLine($"Starting {o.NumJobs} thread{(o.NumJobs == 1 ? "" : "s")}");
    }

    /// <summary>Writes the results.</summary>
    public static void WriteResults(BenchResult result, TextWriter w)
    {
        var o = result.Plan.Options;
        foreach (var job in result.Jobs)
            WriteJob(w, $"{o.Name}: (groupid=0, jobs=1): job={job.Index}", job, o.HasReads, o.HasWrites);
        if (result.Jobs.Count > 1)
            WriteJob(w, $"{o.Name}: (groupid=0, jobs={result.Jobs.Count}): all jobs", result.Total, o.HasReads, o.HasWrites);

        w.WriteLine();
        w.WriteLine("Run status group 0 (all jobs):");
        var t = result.Total;
        if (o.HasReads) WriteGroupLine(w, "   READ", t.Reads, t.Elapsed);
        if (o.HasWrites) WriteGroupLine(w, "  WRITE", t.Writes, t.Elapsed);
        double wall = Math.Max(1e-9, result.WallTime.TotalSeconds);
        long ios = t.Reads.Ios + t.Writes.Ios;
        w.WriteLine($"    CPU: process usr={(100 * result.ProcessCpu.User.TotalSeconds / wall).ToString("F1", Inv)}%, sys={(100 * result.ProcessCpu.System.TotalSeconds / wall).ToString("F1", Inv)}% over {result.WallTime.TotalSeconds.ToString("F2", Inv)}s{(ios > 0 ? $", {((result.ProcessCpu.User + result.ProcessCpu.System).TotalNanoseconds / ios).ToString("F0", Inv)} ns CPU per I/O" : "")}");
        w.WriteLine();
        w.WriteLine(result.HasErrors
            ? $"errors: {t.PiErrors} PI, {t.VerifyErrors} verify, {t.OtherErrors} other; first: {t.FirstError}"
            : "errors: none");
    }

    private static void WriteJob(TextWriter w, string title, JobResult job, bool reads, bool writes)
    {
        int err = job.OtherErrors + job.PiErrors + job.VerifyErrors > 0 ? 1 : 0;
        w.WriteLine($"{title}: err={err,2}: pid={Environment.ProcessId}");
        if (reads) WriteDirection(w, "read", job.Reads, job.Elapsed);
        if (writes) WriteDirection(w, "write", job.Writes, job.Elapsed);
        double usr = ReportFacts.CpuPercent(job.Cpu.User, job.Elapsed);
        double sys = ReportFacts.CpuPercent(job.Cpu.System, job.Elapsed);
        w.WriteLine($"  cpu          : usr={usr.ToString("F2", Inv)}%, sys={sys.ToString("F2", Inv)}%, ctx={job.Cpu.ContextSwitches}{(job.Pinned ? ", pinned" : "")}");
        w.WriteLine($"  pi errors    : guard={Sum(job, Engines.IoResultKind.GuardError)}, app={Sum(job, Engines.IoResultKind.AppTagError)}, ref={Sum(job, Engines.IoResultKind.RefTagError)}, storage={Sum(job, Engines.IoResultKind.StorageTagError)}; verify errors={job.VerifyErrors}; other errors={job.OtherErrors}");
        if (job.FirstError is { } first) w.WriteLine($"  first error  : {first}");
    }

    private static long Sum(JobResult j, Engines.IoResultKind k) => j.Reads.ErrorsByKind[(int)k] + j.Writes.ErrorsByKind[(int)k];

    private static void WriteDirection(TextWriter w, string name, DirectionStats s, TimeSpan elapsed)
    {
        double iops = ReportFacts.Iops(s, elapsed);
        double bps = ReportFacts.BytesPerSecond(s, elapsed);
        w.WriteLine($"  {name}: IOPS={FormatCount(iops)}, BW={FormatRate(bps)} ({FormatDecimalRate(bps)})({FormatBytes(s.Bytes)}/{(long)elapsed.TotalMilliseconds}msec)");
        if (s.Ios == 0) return;
        double mean = s.Latency.GetMean();
        (string unit, double div) = mean >= 10_000 ? ("usec", 1000.0) : ("nsec", 1.0);
        w.WriteLine($"    clat ({unit}): min={Fmt(s.MinNs / div)}, max={Fmt(s.MaxNs / div)}, avg={(mean / div).ToString("F2", Inv)}, stdev={(s.Latency.GetStdDeviation() / div).ToString("F2", Inv)}");
        w.WriteLine($"     clat percentiles ({unit}):");
        var cells = new List<string>();
        foreach (double p in ReportFacts.Percentiles)
            cells.Add($"{p.ToString("0.00#", Inv).PadLeft(6)}th=[{Fmt(s.Latency.GetValueAtPercentile(p) / div).PadLeft(6)}]");
        for (int i = 0; i < cells.Count; i += 4)
            w.WriteLine($"     | {string.Join(", ", cells.Skip(i).Take(4))}{(i + 4 < cells.Count ? "," : "")}");
    }

    private static void WriteGroupLine(TextWriter w, string name, DirectionStats s, TimeSpan elapsed)
    {
        double bps = ReportFacts.BytesPerSecond(s, elapsed);
        w.WriteLine($"{name}: bw={FormatRate(bps)} ({FormatDecimalRate(bps)}), io={FormatBytes(s.Bytes)}, run={(long)elapsed.TotalMilliseconds}msec");
    }

    private static string Fmt(double v) => v >= 100 ? ((long)Math.Round(v)).ToString(Inv) : v.ToString("0.##", Inv);

    /// <summary>fio-style count: 950, 12.3k, 1.05M.</summary>
    public static string FormatCount(double v) => v switch
    {
        >= 1e6 => (v / 1e6).ToString("0.##", Inv) + "M",
        >= 1e3 => (v / 1e3).ToString("0.#", Inv) + "k",
        _ => v.ToString("0", Inv),
    };

    /// <summary>Binary units: 480MiB/s.</summary>
    public static string FormatRate(double bytesPerSecond) => FormatBytes(bytesPerSecond) + "/s";

    private static string FormatDecimalRate(double bytesPerSecond) => bytesPerSecond switch
    {
        >= 1e9 => (bytesPerSecond / 1e9).ToString("0.##", Inv) + "GB/s",
        >= 1e6 => (bytesPerSecond / 1e6).ToString("0.#", Inv) + "MB/s",
        >= 1e3 => (bytesPerSecond / 1e3).ToString("0.#", Inv) + "kB/s",
        _ => bytesPerSecond.ToString("0", Inv) + "B/s",
    };

    /// <summary>Binary units: 4096 → 4096B, 4 MiB → 4096KiB, large → MiB/GiB.</summary>
    public static string FormatBytes(double bytes) => bytes switch
    {
        >= 10.0 * (1L << 30) => (bytes / (1L << 30)).ToString("0.##", Inv) + "GiB",
        >= 10.0 * (1 << 20) => (bytes / (1 << 20)).ToString("0.#", Inv) + "MiB",
        >= 10.0 * 1024 => (bytes / 1024).ToString("0.#", Inv) + "KiB",
        _ => bytes.ToString("0", Inv) + "B",
    };
}
