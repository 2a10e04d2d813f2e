using System.Globalization;
using System.Text.Json;
using HdrHistogram;
using PolledNvme.Bench.Run;

namespace PolledNvme.Bench.Report;

/// <summary>
/// The report as fio's <c>--output-format=json</c> shapes it (<c>"fio version"</c>, <c>jobs[]</c>
/// with <c>jobname</c>, <c>read</c>/<c>write</c>/<c>trim</c> holding <c>io_bytes</c>, <c>bw</c>
/// (KiB/s), <c>iops</c>, <c>runtime</c> (ms), <c>clat_ns</c> with <c>percentile</c>), plus a
/// <c>"pi"</c> object per job and a top-level <c>"pnvme"</c> object with the device, PI
/// settings and the all-jobs total. Written with <see cref="Utf8JsonWriter"/>: no reflection.
/// </summary>
public static class JsonReport
{
    /// <summary>Writes the report to <paramref name="output"/>.</summary>
    public static void Write(BenchResult result, Stream output)
    {
        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        var plan = result.Plan;
        var o = plan.Options;
        w.WriteStartObject();
        w.WriteString("fio version", ReportFacts.Version);
        w.WriteNumber("timestamp", result.StartedAt.ToUnixTimeSeconds());
        w.WriteNumber("timestamp_ms", result.StartedAt.ToUnixTimeMilliseconds());
        w.WriteString("time", result.StartedAt.ToString("ddd MMM d HH:mm:ss yyyy", CultureInfo.InvariantCulture));
        w.WriteStartObject("global options");
        w.WriteString("filename", o.Device ?? result.DeviceDescription);
        w.WriteString("ioengine", result.EngineName);
        w.WriteEndObject();
        w.WriteStartArray("jobs");
        foreach (var job in result.Jobs) WriteJob(w, o.Name, job, plan);
        w.WriteEndArray();

        w.WriteStartObject("pnvme");
        w.WriteString("device", result.DeviceDescription);
        w.WriteString("engine", result.EngineName);
        WriteNamespace(w, plan);
        WritePiSettings(w, plan);
        w.WriteNumber("process_usr_cpu_s", result.ProcessCpu.User.TotalSeconds);
        w.WriteNumber("process_sys_cpu_s", result.ProcessCpu.System.TotalSeconds);
        w.WriteNumber("wall_s", result.WallTime.TotalSeconds);
        w.WritePropertyName("total");
        WriteJob(w, o.Name, result.Total, plan);
        w.WriteEndObject();
        w.WriteEndObject();
        w.Flush();
    }

    private static void WriteJob(Utf8JsonWriter w, string name, JobResult job, BenchPlan plan)
    {
        var o = plan.Options;
        w.WriteStartObject();
        w.WriteString("jobname", job.Index < 0 ? "total" : name);
        w.WriteNumber("groupid", 0);
        w.WriteNumber("job_index", job.Index);
        w.WriteNumber("error", job.OtherErrors + job.PiErrors + job.VerifyErrors > 0 ? 1 : 0);
        w.WriteNumber("eta", 0);
        w.WriteNumber("elapsed", (long)Math.Round(job.Elapsed.TotalSeconds));
        w.WriteStartObject("job options");
        w.WriteString("name", o.Name);
        w.WriteString("rw", ReportFacts.RwName(o.Pattern));
        w.WriteString("bs", o.BlockSizeBytes.ToString(CultureInfo.InvariantCulture));
        w.WriteString("iodepth", o.IoDepth.ToString(CultureInfo.InvariantCulture));
        w.WriteString("numjobs", o.NumJobs.ToString(CultureInfo.InvariantCulture));
        if (o.HasReads && o.HasWrites) w.WriteString("rwmixread", o.ReadMixPercent.ToString(CultureInfo.InvariantCulture));
        if (o.Runtime is { } rt) w.WriteString("runtime", rt.TotalSeconds.ToString(CultureInfo.InvariantCulture));
        if (o.TimeBased) w.WriteString("time_based", "1");
        if (o.Verify) w.WriteString("verify", "pattern");
        w.WriteEndObject();
        WriteDirection(w, "read", job.Reads, job.Elapsed);
        WriteDirection(w, "write", job.Writes, job.Elapsed);
        WriteDirection(w, "trim", new DirectionStats(), job.Elapsed);
        w.WriteNumber("job_runtime", (long)job.Elapsed.TotalMilliseconds);
        w.WriteNumber("usr_cpu", ReportFacts.CpuPercent(job.Cpu.User, job.Elapsed));
        w.WriteNumber("sys_cpu", ReportFacts.CpuPercent(job.Cpu.System, job.Elapsed));
        w.WriteNumber("ctx", job.Cpu.ContextSwitches);
        w.WriteNumber("majf", 0);
        w.WriteNumber("minf", 0);
        w.WriteStartObject("pi");
        WriteErrors(w, "read", job.Reads);
        WriteErrors(w, "write", job.Writes);
        w.WriteNumber("pi_errors", job.PiErrors);
        w.WriteNumber("verify_errors", job.VerifyErrors);
        w.WriteNumber("other_errors", job.OtherErrors);
        if (job.FirstError is { } first) w.WriteString("first_error", first);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteDirection(Utf8JsonWriter w, string name, DirectionStats s, TimeSpan elapsed)
    {
        w.WriteStartObject(name);
        double bps = ReportFacts.BytesPerSecond(s, elapsed);
        w.WriteNumber("io_bytes", s.Bytes);
        w.WriteNumber("io_kbytes", s.Bytes / 1024);
        w.WriteNumber("bw_bytes", (long)bps);
        w.WriteNumber("bw", (long)(bps / 1024));
        w.WriteNumber("iops", ReportFacts.Iops(s, elapsed));
        w.WriteNumber("runtime", s.Ios == 0 ? 0 : (long)elapsed.TotalMilliseconds);
        w.WriteNumber("total_ios", s.Ios);
        w.WriteNumber("short_ios", 0);
        w.WriteNumber("drop_ios", 0);
        w.WriteStartObject("clat_ns");
        WriteLatency(w, s);
        w.WriteStartObject("percentile");
        foreach (double p in ReportFacts.Percentiles)
            w.WriteNumber(p.ToString("F6", CultureInfo.InvariantCulture), s.Ios == 0 ? 0 : s.Latency.GetValueAtPercentile(p));
        w.WriteEndObject();
        w.WriteEndObject();
        // No separate submission latency is measured: lat_ns equals clat_ns (fio's lat = slat + clat).
        w.WriteStartObject("lat_ns");
        WriteLatency(w, s);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteLatency(Utf8JsonWriter w, DirectionStats s)
    {
        w.WriteNumber("min", s.Ios == 0 ? 0 : s.MinNs);
        w.WriteNumber("max", s.MaxNs);
        w.WriteNumber("mean", s.Ios == 0 ? 0 : s.Latency.GetMean());
        w.WriteNumber("stddev", s.Ios == 0 ? 0 : s.Latency.GetStdDeviation());
        w.WriteNumber("N", s.Ios);
    }

    private static void WriteErrors(Utf8JsonWriter w, string name, DirectionStats s)
    {
        w.WriteStartObject(name);
        w.WriteNumber("guard", s.ErrorsByKind[(int)Engines.IoResultKind.GuardError]);
        w.WriteNumber("app", s.ErrorsByKind[(int)Engines.IoResultKind.AppTagError]);
        w.WriteNumber("ref", s.ErrorsByKind[(int)Engines.IoResultKind.RefTagError]);
        w.WriteNumber("storage", s.ErrorsByKind[(int)Engines.IoResultKind.StorageTagError]);
        w.WriteEndObject();
    }

    private static void WriteNamespace(Utf8JsonWriter w, BenchPlan plan)
    {
        var g = plan.Geometry;
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
    }

    private static void WritePiSettings(Utf8JsonWriter w, BenchPlan plan)
    {
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
    }
}
