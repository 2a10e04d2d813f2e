using PolledNvme.Protection;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Run;

namespace PolledNvme.Bench.Report;

/// <summary>Numbers and names the report formats share, computed as fio computes them (stat.c), so they agree.</summary>
public static class ReportFacts
{
    /// <summary>Version string of the JSON header, the text report and <c>--version</c>.</summary>
    public static string Version => "pnvme-" + (typeof(ReportFacts).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    /// <summary>fio's direction names.</summary>
    public static readonly string[] DirectionNames = ["read", "write", "trim"];

    /// <summary>Labels of fio's latency_ns / latency_us buckets (upper bounds).</summary>
    public static readonly string[] LatencyLabels = ["2", "4", "10", "20", "50", "100", "250", "500", "750", "1000"];
    /// <summary>Labels of fio's latency_ms buckets.</summary>
    public static readonly string[] LatencyMsLabels = ["2", "4", "10", "20", "50", "100", "250", "500", "750", "1000", "2000", ">=2000"];
    /// <summary>Labels of fio's iodepth_level buckets.</summary>
    public static readonly string[] DepthLabels = ["1", "2", "4", "8", "16", "32", ">=64"];
    /// <summary>Labels of fio's iodepth_submit / iodepth_complete buckets.</summary>
    public static readonly string[] BatchLabels = ["0", "4", "8", "16", "32", "64", ">=64"];

    /// <summary><c>guard,app,ref</c> style list, or <c>none</c>.</summary>
    public static string ChecksName(PiChecks c)
    {
        if (c == PiChecks.None) return "none";
        var parts = new List<string>(4);
        if ((c & PiChecks.Guard) != 0) parts.Add("guard");
        if ((c & PiChecks.ApplicationTag) != 0) parts.Add("app");
        if ((c & PiChecks.ReferenceTag) != 0) parts.Add("ref");
        if ((c & PiChecks.StorageTag) != 0) parts.Add("storage");
        return string.Join(',', parts);
    }

    /// <summary>The jobs' <c>--poll</c> modes, e.g. <c>spin</c> or <c>adaptive,spin</c>.</summary>
    public static string PollModes(BenchResult result)
        => string.Join(",", result.Jobs.Select(j => j.Options.PollMode.ToString().ToLowerInvariant()).Distinct());

    /// <summary><c>generate</c>, <c>verify</c>, <c>both</c> or <c>none</c>.</summary>
    public static string HostPiName(HostPi h) => h switch
    {
        HostPi.Generate => "generate",
        HostPi.Verify => "verify",
        HostPi.Both => "both",
        _ => "none",
    };

    /// <summary>fio's runtime of a direction in ms: the job's measured time when it issues that direction, else 0.</summary>
    public static long RuntimeMs(JobResult job, int direction)
        => job.Options.Issues(direction) || job.Stats[direction].Ios > 0 ? (long)job.Elapsed.TotalMilliseconds : 0;

    /// <summary>fio's bw_bytes: bytes per second over the direction's runtime (integer math as fio).</summary>
    public static long BytesPerSecond(JobResult job, int direction)
    {
        long runtime = RuntimeMs(job, direction);
        return runtime > 0 ? (long)((decimal)job.Stats[direction].Bytes * 1000 / runtime) : 0;
    }

    /// <summary>fio's iops: I/Os per second over the direction's runtime.</summary>
    public static double Iops(JobResult job, int direction)
    {
        long runtime = RuntimeMs(job, direction);
        return runtime > 0 ? 1000.0 * job.Stats[direction].Ios / runtime : 0;
    }

    /// <summary>Percent of <paramref name="elapsed"/> spent in <paramref name="cpu"/>.</summary>
    public static double CpuPercent(TimeSpan cpu, TimeSpan elapsed) => elapsed.TotalSeconds > 0 ? 100.0 * cpu.TotalSeconds / elapsed.TotalSeconds : 0;

    /// <summary>fio's stat_calc_dist: percentages of <paramref name="total"/>, with any non-zero share shown as at least 0.1.</summary>
    public static double[] Distribution(long[] counts, long total)
    {
        var result = new double[counts.Length];
        for (int i = 0; i < counts.Length; i++)
        {
            if (total == 0) continue;
            result[i] = 100.0 * counts[i] / total;
            if (result[i] < 0.1 && counts[i] > 0) result[i] = 0.1;
        }
        return result;
    }

    /// <summary>
    /// fio's latency_ns, latency_us and latency_ms: completion latencies of all directions in
    /// fio's decimal buckets, as percentages of all I/Os (any non-zero share at least 0.01). They
    /// come from the completion latency histograms (0.1 % resolution).
    /// </summary>
    public static (double[] Ns, double[] Us, double[] Ms) LatencyBuckets(JobResult job)
    {
        var ns = new long[10];
        var us = new long[10];
        var ms = new long[12];
        long total = 0;
        foreach (var s in job.Stats)
        {
            total += s.Ios;
            if (s.Clat is not { Count: > 0, Histogram: { } histogram }) continue;
            foreach (var v in histogram.RecordedValues())
            {
                long value = histogram.LowestEquivalentValue(v.ValueIteratedTo);
                long count = v.CountAtValueIteratedTo;
                if (value < 1000) ns[DecimalBucket(value)] += count;
                else if (value < 1_000_000) us[DecimalBucket(value / 1000)] += count;
                else
                {
                    long msec = value / 1_000_000;
                    ms[msec >= 2000 ? 11 : msec >= 1000 ? 10 : DecimalBucket(msec)] += count;
                }
            }
        }
        return (Percent(ns, total), Percent(us, total), Percent(ms, total));
    }

    // fio's io_u_mark_lat_*: 0-1, 2-3, 4-9, 10-19, 20-49, 50-99, 100-249, 250-499, 500-749, 750-999.
    private static int DecimalBucket(long v) => v switch
    {
        < 2 => 0,
        < 4 => 1,
        < 10 => 2,
        < 20 => 3,
        < 50 => 4,
        < 100 => 5,
        < 250 => 6,
        < 500 => 7,
        < 750 => 8,
        _ => 9,
    };

    private static double[] Percent(long[] counts, long total)
    {
        var result = new double[counts.Length];
        for (int i = 0; i < counts.Length; i++)
        {
            if (total == 0) continue;
            result[i] = 100.0 * counts[i] / total;
            if (result[i] < 0.01 && counts[i] > 0) result[i] = 0.01;
        }
        return result;
    }

    /// <summary>fio's group aggregate bandwidth (rs->agg): the group's bytes over its longest runtime, bytes/s.</summary>
    public static long GroupAggregate(IEnumerable<JobResult> group, int direction)
    {
        var jobs = group.ToArray();
        long maxRun = jobs.Max(j => RuntimeMs(j, direction));
        long bytes = jobs.Sum(j => j.Stats[direction].Bytes);
        return maxRun > 0 ? (long)((decimal)bytes * 1000 / maxRun) : 0;
    }

    /// <summary>fio's bw_agg (convert_agg_kbytes_percent): a job's mean bandwidth sample as a percentage of its group's aggregate, at most 100.</summary>
    public static double PercentOfAggregate(double meanKib, long groupAggregate)
        => groupAggregate > 1024 ? Math.Min(100.0, (int)meanKib * 100.0 / (groupAggregate / 1024.0)) : 100.0;
}
