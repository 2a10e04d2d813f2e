using System.Globalization;
using System.Text.Json;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Run;

namespace PolledNvme.Bench.Report;

/// <summary>
/// The report with the keys, types and nesting of fio 3.33's <c>--output-format=json</c>
/// (stat.c's show_thread_status_json): <c>"fio version"</c>, <c>timestamp</c>, <c>global
/// options</c>, <c>jobs[]</c> with <c>job options</c> as typed, <c>read</c>/<c>write</c>/<c>trim</c>
/// with slat/clat/lat, percentiles, bandwidth and IOPS samples, <c>sync</c>, CPU, depth
/// distributions and latency buckets; with <c>json+</c> each reported latency also carries
/// fio's <c>bins</c>. Floats are written as fio writes them (<c>%f</c>), so they stay floats in
/// any reader. pnvme's own figures are in a <c>"pi"</c> and a <c>"pnvme"</c> object per job and
/// a top-level <c>"pnvme"</c> object. Written with <see cref="Utf8JsonWriter"/>: no reflection.
/// </summary>
public static class JsonReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Writes the report to <paramref name="output"/>.</summary>
    public static void Write(BenchResult result, Stream output, bool plus = false)
    {
        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("fio version", ReportFacts.Version);
        var now = DateTimeOffset.UtcNow;
        w.WriteNumber("timestamp", now.ToUnixTimeSeconds());
        w.WriteNumber("timestamp_ms", now.ToUnixTimeMilliseconds());
        w.WriteString("time", CTime(now.ToLocalTime()));
        WriteOptions(w, "global options", result.Run.GlobalTyped);
        var groups = result.Jobs.GroupBy(j => j.GroupId).ToDictionary(g => g.Key, g => (IReadOnlyList<JobResult>)g.ToArray());
        long elapsed = (long)Math.Round(result.WallTime.TotalSeconds);
        w.WriteStartArray("jobs");
        foreach (var job in result.Reported) WriteJob(w, job, groups[job.GroupId], elapsed, plus);
        w.WriteEndArray();

        w.WriteStartObject("pnvme");
        w.WriteString("version", ReportFacts.Version);
        WriteFloat(w, "process_usr_cpu_s", result.ProcessCpu.User.TotalSeconds);
        WriteFloat(w, "process_sys_cpu_s", result.ProcessCpu.System.TotalSeconds);
        WriteFloat(w, "wall_s", result.WallTime.TotalSeconds);
        WriteFloat(w, "process_cpu_pct", 100 * (result.ProcessCpu.User + result.ProcessCpu.System).TotalSeconds / Math.Max(1e-9, result.WallTime.TotalSeconds));
        w.WriteString("poll", ReportFacts.PollModes(result));
        w.WritePropertyName("total");
        WriteJob(w, result.Total, result.Jobs, elapsed, plus, "total");
        w.WriteEndObject();
        w.WriteEndObject();
        w.Flush();
    }

    /// <summary>C's ctime(3) format, as fio's "time": <c>Thu Dec  3 09:39:36 2026</c>.</summary>
    public static string CTime(DateTimeOffset t) => string.Create(Inv, $"{t:ddd MMM} {t.Day,2} {t:HH:mm:ss yyyy}");

    /// <summary>fio's float format (<c>%f</c>: six decimals), so integral values stay floats.</summary>
    public static void WriteFloat(Utf8JsonWriter w, string name, double value)
    {
        w.WritePropertyName(name);
        w.WriteRawValue(double.IsFinite(value) ? value.ToString("F6", Inv) : "0.000000", skipInputValidation: true);
    }

    private static void WriteOptions(Utf8JsonWriter w, string name, IReadOnlyList<KeyValuePair<string, string>> options)
    {
        if (options.Count == 0) return;   // fio leaves an empty list out
        w.WriteStartObject(name);
        foreach (var (key, value) in options) w.WriteString(key, value);
        w.WriteEndObject();
    }

    private static void WriteJob(Utf8JsonWriter w, JobResult job, IReadOnlyList<JobResult> group, long elapsed, bool plus, string? name = null)
    {
        var o = job.Options;
        w.WriteStartObject();
        w.WriteString("jobname", name ?? o.Name);
        w.WriteNumber("groupid", job.GroupId);
        // fio's error is an errno: EILSEQ (84) for data that failed verification, EIO (5) for failed I/O.
        w.WriteNumber("error", job.PiErrors + job.OtherErrors > 0 ? 5 : job.VerifyErrors > 0 ? 84 : 0);
        w.WriteNumber("eta", 0);
        w.WriteNumber("elapsed", elapsed);
        WriteOptions(w, "job options", o.Typed);
        for (int d = 0; d < 3; d++) WriteDirection(w, job, group, d, plus);
        w.WriteStartObject("sync");
        w.WriteNumber("total_ios", 0);
        w.WriteStartObject("lat_ns");
        WriteLatencySummary(w, null);
        w.WriteEndObject();
        w.WriteEndObject();

        w.WriteNumber("job_runtime", (long)job.Elapsed.TotalMilliseconds);
        WriteFloat(w, "usr_cpu", ReportFacts.CpuPercent(job.Cpu.User, job.Elapsed));
        WriteFloat(w, "sys_cpu", ReportFacts.CpuPercent(job.Cpu.System, job.Elapsed));
        w.WriteNumber("ctx", job.Cpu.ContextSwitches);
        w.WriteNumber("majf", job.Cpu.MajorFaults);
        w.WriteNumber("minf", job.Cpu.MinorFaults);
        long ios = job.Stats.Sum(s => s.Ios);
        WriteBuckets(w, "iodepth_level", ReportFacts.DepthLabels, ReportFacts.Distribution(job.Depth.Level, ios));
        WriteBuckets(w, "iodepth_submit", ReportFacts.BatchLabels, ReportFacts.Distribution(job.Depth.Submit, job.Depth.SubmitCalls));
        WriteBuckets(w, "iodepth_complete", ReportFacts.BatchLabels, ReportFacts.Distribution(job.Depth.Complete, job.Depth.CompleteCalls));
        var (ns, us, ms) = ReportFacts.LatencyBuckets(job);
        WriteBuckets(w, "latency_ns", ReportFacts.LatencyLabels, ns);
        WriteBuckets(w, "latency_us", ReportFacts.LatencyLabels, us);
        WriteBuckets(w, "latency_ms", ReportFacts.LatencyMsLabels, ms);
        w.WriteNumber("latency_depth", o.IoDepth);
        w.WriteNumber("latency_target", 0);
        WriteFloat(w, "latency_percentile", 100.0);
        w.WriteNumber("latency_window", 0);
        if (o.Description is { Length: > 0 } description) w.WriteString("desc", description);
        WritePi(w, job);
        WritePnvme(w, job);
        w.WriteEndObject();
    }

    private static void WriteDirection(Utf8JsonWriter w, JobResult job, IReadOnlyList<JobResult> group, int d, bool plus)
    {
        var s = job.Stats[d];
        var o = job.Options;
        w.WriteStartObject(ReportFacts.DirectionNames[d]);
        long bwBytes = ReportFacts.BytesPerSecond(job, d);
        w.WriteNumber("io_bytes", s.Bytes);
        w.WriteNumber("io_kbytes", s.Bytes >> 10);
        w.WriteNumber("bw_bytes", bwBytes);
        w.WriteNumber("bw", bwBytes / 1024);
        WriteFloat(w, "iops", ReportFacts.Iops(job, d));
        w.WriteNumber("runtime", ReportFacts.RuntimeMs(job, d));
        w.WriteNumber("total_ios", s.Ios);
        w.WriteNumber("short_ios", 0);
        w.WriteNumber("drop_ios", 0);
        WriteLatency(w, "slat_ns", s.Slat, o.SlatPercentiles, o.Percentiles, plus);
        WriteLatency(w, "clat_ns", s.Clat, o.ClatPercentiles, o.Percentiles, plus);
        WriteLatency(w, "lat_ns", s.Lat, o.LatPercentiles, o.Percentiles, plus);

        var bw = s.Bandwidth;
        w.WriteNumber("bw_min", bw.Min);
        w.WriteNumber("bw_max", bw.Max);
        WriteFloat(w, "bw_agg", bw.Samples == 0 ? 0 : ReportFacts.PercentOfAggregate(bw.Mean, ReportFacts.GroupAggregate(group, d)));
        WriteFloat(w, "bw_mean", bw.Mean);
        WriteFloat(w, "bw_dev", bw.StdDev);
        w.WriteNumber("bw_samples", bw.Samples);
        var iops = s.IopsSamples;
        w.WriteNumber("iops_min", iops.Min);
        w.WriteNumber("iops_max", iops.Max);
        WriteFloat(w, "iops_mean", iops.Mean);
        WriteFloat(w, "iops_stddev", iops.StdDev);
        w.WriteNumber("iops_samples", iops.Samples);
        w.WriteEndObject();
    }

    private static void WriteLatency(Utf8JsonWriter w, string name, LatencyStats? stats, bool percentiles, double[] list, bool plus)
    {
        w.WriteStartObject(name);
        WriteLatencySummary(w, stats);
        if (percentiles && stats is { Count: > 0, Histogram: not null })
        {
            w.WriteStartObject("percentile");
            foreach (double p in list)
                w.WriteNumber(p.ToString("F6", Inv), stats.Percentile(p));
            w.WriteEndObject();
            if (plus)
            {
                w.WriteStartObject("bins");
                foreach (var (index, count) in FioBins.Of(stats))
                    w.WriteNumber(FioBins.IndexToValue(index).ToString(Inv), count);
                w.WriteEndObject();
            }
        }
        w.WriteEndObject();
    }

    private static void WriteLatencySummary(Utf8JsonWriter w, LatencyStats? s)
    {
        w.WriteNumber("min", s?.Min ?? 0);
        w.WriteNumber("max", s?.Max ?? 0);
        WriteFloat(w, "mean", s?.Mean ?? 0);
        WriteFloat(w, "stddev", s?.StdDev ?? 0);
        w.WriteNumber("N", s?.Count ?? 0);
    }

    private static void WriteBuckets(Utf8JsonWriter w, string name, string[] labels, double[] values)
    {
        w.WriteStartObject(name);
        for (int i = 0; i < labels.Length; i++) WriteFloat(w, labels[i], values[i]);
        w.WriteEndObject();
    }

    private static void WritePi(Utf8JsonWriter w, JobResult job)
    {
        w.WriteStartObject("pi");
        for (int d = 0; d < 3; d++)
        {
            var s = job.Stats[d];
            w.WriteStartObject(ReportFacts.DirectionNames[d]);
            w.WriteNumber("guard", s.ErrorsByKind[(int)Engines.IoResultKind.GuardError]);
            w.WriteNumber("app", s.ErrorsByKind[(int)Engines.IoResultKind.AppTagError]);
            w.WriteNumber("ref", s.ErrorsByKind[(int)Engines.IoResultKind.RefTagError]);
            w.WriteNumber("storage", s.ErrorsByKind[(int)Engines.IoResultKind.StorageTagError]);
            w.WriteEndObject();
        }
        w.WriteNumber("pi_errors", job.PiErrors);
        w.WriteNumber("verify_errors", job.VerifyErrors);
        w.WriteNumber("other_errors", job.OtherErrors);
        if (job.FirstError is { } first) w.WriteString("first_error", first);
        w.WriteEndObject();
    }

    private static void WritePnvme(Utf8JsonWriter w, JobResult job)
    {
        var plan = job.Plan;
        var g = plan.Geometry;
        w.WriteStartObject("pnvme");
        w.WriteString("device", job.Target.Device);
        w.WriteString("description", job.Target.Description);
        w.WriteString("engine", job.Target.EngineName);
        w.WriteNumber("jobs", job.Jobs);
        if (job.CloneIndex >= 0) w.WriteNumber("clone", job.CloneIndex);
        w.WriteBoolean("pinned", job.Pinned);
        w.WriteNumber("allocated_bytes", job.AllocatedBytes);
        w.WriteStartObject("namespace");
        w.WriteNumber("block_size", g.BlockSize);
        w.WriteNumber("metadata_size", g.MetadataSize);
        w.WriteNumber("blocks", g.BlockCount);
        w.WriteNumber("pi_type", g.PiType);
        w.WriteString("pi_format", g.HasPi ? g.GuardName : "none");
        w.WriteBoolean("pi_first", g.PiFirst);
        w.WriteBoolean("extended_lba", g.ExtendedLba);
        w.WriteNumber("storage_tag_bits", g.StorageTagBits);
        w.WriteEndObject();
        var s = plan.Settings;
        w.WriteStartObject("pi_settings");
        w.WriteBoolean("pract_write", s.WritePract);
        w.WriteBoolean("pract_read", s.ReadPract);
        w.WriteString("prchk", ReportFacts.ChecksName(plan.Checks));
        w.WriteNumber("apptag", s.AppTag);
        w.WriteNumber("apptag_mask", s.AppTagMask);
        w.WriteNumber("storage_tag", s.StorageTag);
        w.WriteString("host_pi", ReportFacts.HostPiName(plan.HostPi));
        w.WriteBoolean("verify", plan.Options.Verify);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
