using System.Globalization;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Run;

namespace PolledNvme.Bench.Report;

/// <summary>
/// fio's text report: a header line per job (plus the device, namespace and PI settings it
/// runs with), then per job (or per group with group_reporting) the IOPS/bandwidth line, slat,
/// clat and lat, percentiles, bandwidth and IOPS samples, latency buckets, CPU, IO depths and
/// pnvme's PI error counts; then each group's summary.
/// </summary>
public static class NormalReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Writes the header (before the run starts).</summary>
    public static void WriteHeader(IReadOnlyList<PlannedJob> jobs, TextWriter w)
    {
        string? lastDevice = null;
        foreach (var job in jobs)
        {
            var o = job.Plan.Options;
            var g = job.Plan.Geometry;
            string sizes = $"(R) {o.BlockSizes.Read}, (W) {o.BlockSizes.Write}, (T) {o.BlockSizes.Trim}";
            w.WriteLine($"{o.Name}: (g={job.Plan.GroupId}): rw={BenchOptionParser.PatternName(o.Pattern)}, bs={sizes}, ioengine={job.Info.EngineName}, iodepth={o.IoDepth}");
            if (o.NumJobs > 1) w.WriteLine("...");
            if (job.Info.Device != lastDevice)
            {
                w.WriteLine($"device: {job.Info.Description}");
                string layout = g.MetadataSize == 0 ? "no metadata" : $"+{g.MetadataSize}B metadata, {(g.ExtendedLba ? "extended LBA" : "separate buffer")}";
                string pi = g.HasPi ? $"PI type {g.PiType} ({g.GuardName} guard, PI {(g.PiFirst ? "first" : "last")}{(g.StorageTagBits > 0 ? $", {g.StorageTagBits}-bit storage tag" : "")})" : "no PI";
                w.WriteLine($"namespace: {g.BlockCount} blocks of {g.BlockSize}B {layout}, {pi}");
                lastDevice = job.Info.Device;
            }
            var s = job.Plan.Settings;
            if (g.HasPi && job.Target.SupportsPi)
                w.WriteLine($"pi: pract=write:{(s.WritePract ? 1 : 0)},read:{(s.ReadPract ? 1 : 0)} prchk={ReportFacts.ChecksName(job.Plan.Checks)} apptag=0x{s.AppTag:x4} apptag_mask=0x{s.AppTagMask:x4}{(s.StorageTag != 0 ? $" storage_tag=0x{s.StorageTag:x}" : "")} host-pi={ReportFacts.HostPiName(job.Plan.HostPi)}");
            string amount = o.TimeBased
                ? $"runtime={o.Runtime!.Value.TotalSeconds.ToString(Inv)}s time_based"
                : $"size={FormatBytes(job.Plan.RegionBytes)}{(o.Loops > 1 ? $" loops={o.Loops}" : "")}{(o.Runtime is { } rt ? $" runtime={rt.TotalSeconds.ToString(Inv)}s" : "")}";
            w.WriteLine($"region: offset={job.Plan.RegionFirstLba * g.BlockSize} {amount}{(o.RampTime > TimeSpan.Zero ? $" ramp_time={o.RampTime.TotalSeconds.ToString(Inv)}s" : "")}{(o.IsMixed ? $" rwmixread={o.ReadMixPercent}" : "")}{(o.Verify ? " verify=pattern" : "")}");
        }
        w.WriteLine(ReportFacts.Version);
        int threads = jobs.Sum(j => j.Plan.Options.NumJobs);
        w.WriteLine($"Starting {threads} thread{(threads == 1 ? "" : "s")}");
    }

    /// <summary>Writes the results.</summary>
    public static void WriteResults(BenchResult result, TextWriter w)
    {
        var groups = result.Jobs.GroupBy(j => j.GroupId).ToDictionary(g => g.Key, g => (IReadOnlyList<JobResult>)g.ToArray());
        var reported = result.Reported;
        foreach (var job in reported)
            WriteJob(w, job, groups[job.GroupId]);
        // fio's group lines are over its reported entries (a group_reporting group is one), each direction over the entries that ran it.
        foreach (var group in reported.GroupBy(j => j.GroupId))
        {
            w.WriteLine();
            w.WriteLine($"Run status group {group.Key} (all jobs):");
            for (int d = 0; d < 3; d++)
            {
                var ran = group.Where(j => ReportFacts.RuntimeMs(j, d) > 0 && (j.Stats[d].Ios > 0 || j.Options.Issues(d))).ToArray();
                if (ran.Length > 0) WriteGroupLine(w, d, ran);
            }
        }
        var t = result.Total;
        double wall = Math.Max(1e-9, result.WallTime.TotalSeconds);
        long ios = t.Stats.Sum(s => s.Ios);
        double cpuPercent = 100 * (result.ProcessCpu.User + result.ProcessCpu.System).TotalSeconds / wall;
        w.WriteLine($"    CPU: process usr={(100 * result.ProcessCpu.User.TotalSeconds / wall).ToString("F1", Inv)}%, sys={(100 * result.ProcessCpu.System.TotalSeconds / wall).ToString("F1", Inv)}%, total={cpuPercent.ToString("F1", Inv)}% ({(result.ProcessCpu.User + result.ProcessCpu.System).TotalSeconds.ToString("F2", Inv)}s CPU) over {result.WallTime.TotalSeconds.ToString("F2", Inv)}s"
            + $"{(ios > 0 ? $", {((result.ProcessCpu.User + result.ProcessCpu.System).TotalNanoseconds / ios).ToString("F0", Inv)} ns CPU per I/O" : "")}, {(ios / wall).ToString("F0", Inv)} IOPS, poll={ReportFacts.PollModes(result)}");
        w.WriteLine();
        w.WriteLine(result.HasErrors
            ? $"errors: {t.PiErrors} PI, {t.VerifyErrors} verify, {t.OtherErrors} other; first: {t.FirstError}"
            : "errors: none");
    }

    private static void WriteJob(TextWriter w, JobResult job, IReadOnlyList<JobResult> group)
    {
        var o = job.Options;
        string which = job.CloneIndex >= 0 && o.NumJobs > 1 ? $" (clone {job.CloneIndex})" : "";
        w.WriteLine($"{o.Name}{which}: (groupid={job.GroupId}, jobs={job.Jobs}): err={(job.HasErrors ? 1 : 0),2}: pid={Environment.ProcessId}");
        if (o.Description is { Length: > 0 } description) w.WriteLine($"  Description  : [{description}]");
        for (int d = 0; d < 3; d++)
            if (o.Issues(d) || job.Stats[d].Ios > 0) WriteDirection(w, job, group, d);
        var (ns, us, ms) = ReportFacts.LatencyBuckets(job);
        WriteBuckets(w, "nsec", ReportFacts.LatencyLabels, ns);
        WriteBuckets(w, "usec", ReportFacts.LatencyLabels, us);
        WriteBuckets(w, "msec", ReportFacts.LatencyMsLabels, ms);
        double usr = ReportFacts.CpuPercent(job.Cpu.User, job.Elapsed);
        double sys = ReportFacts.CpuPercent(job.Cpu.System, job.Elapsed);
        w.WriteLine($"  cpu          : usr={usr.ToString("F2", Inv)}%, sys={sys.ToString("F2", Inv)}%, ctx={job.Cpu.ContextSwitches}, majf={job.Cpu.MajorFaults}, minf={job.Cpu.MinorFaults}{(job.Pinned ? ", pinned" : "")}");
        long ios = job.Stats.Sum(s => s.Ios);
        w.WriteLine($"  IO depths    : {Distribution(ReportFacts.DepthLabels, ReportFacts.Distribution(job.Depth.Level, ios))}");
        w.WriteLine($"     submit    : {Distribution(ReportFacts.BatchLabels, ReportFacts.Distribution(job.Depth.Submit, job.Depth.SubmitCalls))}");
        w.WriteLine($"     complete  : {Distribution(ReportFacts.BatchLabels, ReportFacts.Distribution(job.Depth.Complete, job.Depth.CompleteCalls))}");
        w.WriteLine($"     issued rwts: total={job.Reads.Ios},{job.Writes.Ios},{job.Trims.Ios},0 short=0,0,0,0 dropped=0,0,0,0");
        w.WriteLine($"     latency   : target=0, window=0, percentile=100.00%, depth={o.IoDepth}");
        w.WriteLine($"  pi errors    : guard={Sum(job, Engines.IoResultKind.GuardError)}, app={Sum(job, Engines.IoResultKind.AppTagError)}, ref={Sum(job, Engines.IoResultKind.RefTagError)}, storage={Sum(job, Engines.IoResultKind.StorageTagError)}; verify errors={job.VerifyErrors}; other errors={job.OtherErrors}");
        if (job.FirstError is { } first) w.WriteLine($"  first error  : {first}");
    }

    private static long Sum(JobResult j, Engines.IoResultKind k) => j.Stats.Sum(s => s.ErrorsByKind[(int)k]);

    private static void WriteDirection(TextWriter w, JobResult job, IReadOnlyList<JobResult> group, int d)
    {
        var s = job.Stats[d];
        var o = job.Options;
        long runtime = ReportFacts.RuntimeMs(job, d);
        double bps = ReportFacts.BytesPerSecond(job, d);
        w.WriteLine($"  {ReportFacts.DirectionNames[d]}: IOPS={FormatCount(ReportFacts.Iops(job, d))}, BW={FormatRate(bps)} ({FormatDecimalRate(bps)})({FormatBytes(s.Bytes)}/{runtime}msec)");
        if (s.Ios == 0) return;
        WriteLatency(w, "slat", s.Slat);
        WriteLatency(w, "clat", s.Clat);
        WriteLatency(w, " lat", s.Lat);
        if (o.SlatPercentiles) WritePercentiles(w, "slat", s.Slat, o.Percentiles);
        if (o.ClatPercentiles) WritePercentiles(w, "clat", s.Clat, o.Percentiles);
        if (o.LatPercentiles) WritePercentiles(w, " lat", s.Lat, o.Percentiles);
        if (s.Bandwidth.Samples > 0)
        {
            var bw = s.Bandwidth;
            double per = ReportFacts.PercentOfAggregate(bw.Mean, ReportFacts.GroupAggregate(group, d));
            w.WriteLine($"   bw (  KiB/s): min={bw.Min,5}, max={bw.Max,5}, per={per.ToString("F2", Inv)}%, avg={bw.Mean.ToString("F2", Inv),5}, stdev={bw.StdDev.ToString("F2", Inv),5}, samples={bw.Samples,5}");
        }
        if (s.IopsSamples.Samples > 0)
        {
            var iops = s.IopsSamples;
            w.WriteLine($"   iops        : min={iops.Min,5}, max={iops.Max,5}, avg={iops.Mean.ToString("F2", Inv),5}, stdev={iops.StdDev.ToString("F2", Inv),5}, samples={iops.Samples,5}");
        }
    }

    // fio's display_lat: nsec, or usec/msec once the values are large and spread.
    private static void WriteLatency(TextWriter w, string name, LatencyStats? s)
    {
        if (s is not { Count: > 0 }) return;
        double min = s.Min, max = s.Max, mean = s.Mean, dev = s.StdDev;
        string unit = "nsec";
        if (min > 2_000_000 && max > 99_999_999 && dev > 1_000_000) (unit, min, max, mean, dev) = ("msec", min / 1e6, max / 1e6, mean / 1e6, dev / 1e6);
        else if (min > 2000 && max > 99_999 && dev > 1000) (unit, min, max, mean, dev) = ("usec", min / 1e3, max / 1e3, mean / 1e3, dev / 1e3);
        w.WriteLine($"    {name} ({unit}): min={FioNumbers.ToString((ulong)min, 6)}, max={FioNumbers.ToString((ulong)max, 6)}, avg={mean.ToString("F2", Inv),5}, stdev={dev.ToString("F2", Inv),5}");
    }

    // fio's show_clat_percentiles: four per line, in nsec, usec or msec depending on the spread.
    private static void WritePercentiles(TextWriter w, string name, LatencyStats? s, double[] list)
    {
        if (s is not { Count: > 0, Histogram: not null }) return;
        long[] values = list.Select(s.Percentile).ToArray();
        long minv = values.Min(), maxv = values.Max();
        (string unit, long div) = minv > 2_000_000 && maxv > 99_999_999 ? ("msec", 1_000_000L) : minv > 2000 && maxv > 99_999 ? ("usec", 1000L) : ("nsec", 1L);
        int width = Math.Max(5, (int)Math.Log10(Math.Max(1, maxv / div)) + 1);
        w.WriteLine($"    {name.Trim()} percentiles ({unit}):");
        var cells = new List<string>();
        for (int i = 0; i < list.Length; i++)
            cells.Add($"{list[i].ToString("F2", Inv),5}th=[{(values[i] / div).ToString(Inv).PadLeft(width)}]");
        for (int i = 0; i < cells.Count; i += 4)
            w.WriteLine($"     | {string.Join(", ", cells.Skip(i).Take(4))}{(i + 4 < cells.Count ? "," : "")}");
    }

    private static void WriteBuckets(TextWriter w, string unit, string[] labels, double[] values)
    {
        var shown = labels.Select((l, i) => (l, v: values[i])).Where(x => x.v > 0).Select(x => $"{x.l}={x.v.ToString("F2", Inv)}%").ToArray();
        for (int i = 0; i < shown.Length; i += 5)
            w.WriteLine($"  lat ({unit})   : {string.Join(", ", shown.Skip(i).Take(5))}");
    }

    private static string Distribution(string[] labels, double[] values)
        => string.Join(", ", labels.Select((l, i) => $"{l}={values[i].ToString("F1", Inv)}%"));

    private static void WriteGroupLine(TextWriter w, int d, IReadOnlyList<JobResult> jobs)
    {
        long[] rates = jobs.Select(j => ReportFacts.BytesPerSecond(j, d)).ToArray();
        long[] runs = jobs.Select(j => ReportFacts.RuntimeMs(j, d)).ToArray();
        long bytes = jobs.Sum(j => j.Stats[d].Bytes);
        double agg = ReportFacts.GroupAggregate(jobs, d);
        string name = ReportFacts.DirectionNames[d].ToUpperInvariant().PadLeft(5);
        w.WriteLine($"  {name}: bw={FormatRate(agg)} ({FormatDecimalRate(agg)}), {FormatRate(rates.Min())}-{FormatRate(rates.Max())} ({FormatDecimalRate(rates.Min())}-{FormatDecimalRate(rates.Max())}), io={FormatBytes(bytes)} ({FormatDecimal(bytes)}), run={runs.Min()}-{runs.Max()}msec");
    }

    /// <summary>fio-style count: 950, 12.3k, 1.05M.</summary>
    public static string FormatCount(double v) => v switch
    {
        >= 1e6 => (v / 1e6).ToString("0.##", Inv) + "M",
        >= 1e3 => (v / 1e3).ToString("0.#", Inv) + "k",
        _ => v.ToString("0", Inv),
    };

    /// <summary>Binary units: 480MiB/s.</summary>
    public static string FormatRate(double bytesPerSecond) => FormatBytes(bytesPerSecond) + "/s";

    private static string FormatDecimalRate(double bytesPerSecond) => FormatDecimal(bytesPerSecond) + "/s";

    private static string FormatDecimal(double bytes) => bytes switch
    {
        >= 1e9 => (bytes / 1e9).ToString("0.##", Inv) + "GB",
        >= 1e6 => (bytes / 1e6).ToString("0.#", Inv) + "MB",
        >= 1e3 => (bytes / 1e3).ToString("0.#", Inv) + "kB",
        _ => bytes.ToString("0", Inv) + "B",
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
