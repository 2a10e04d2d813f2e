using PolledNvme.Protection;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Run;

namespace PolledNvme.Bench.Report;

/// <summary>Numbers and names both report formats share, so they agree.</summary>
public static class ReportFacts
{
    /// <summary>Percentiles reported, as <c>spdk_nvme_perf -L</c> prints them.</summary>
    public static readonly double[] Percentiles = [1, 5, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 99.999];

    /// <summary>Version string of the JSON header and the text report.</summary>
    public static string Version => "pnvme-" + (typeof(ReportFacts).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    /// <summary>fio's name of a pattern.</summary>
    public static string RwName(RwPattern p) => p switch
    {
        RwPattern.Read => "read",
        RwPattern.Write => "write",
        RwPattern.RandRead => "randread",
        RwPattern.RandWrite => "randwrite",
        RwPattern.ReadWrite => "rw",
        _ => "randrw",
    };

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

    /// <summary><c>generate</c>, <c>verify</c>, <c>both</c> or <c>none</c>.</summary>
    public static string HostPiName(HostPi h) => h switch
    {
        HostPi.Generate => "generate",
        HostPi.Verify => "verify",
        HostPi.Both => "both",
        _ => "none",
    };

    /// <summary>IOPS over the job's measured time.</summary>
    public static double Iops(DirectionStats s, TimeSpan elapsed) => elapsed.TotalSeconds > 0 ? s.Ios / elapsed.TotalSeconds : 0;

    /// <summary>Bytes per second over the job's measured time.</summary>
    public static double BytesPerSecond(DirectionStats s, TimeSpan elapsed) => elapsed.TotalSeconds > 0 ? s.Bytes / elapsed.TotalSeconds : 0;

    /// <summary>Percent of <paramref name="elapsed"/> spent in <paramref name="cpu"/>.</summary>
    public static double CpuPercent(TimeSpan cpu, TimeSpan elapsed) => elapsed.TotalSeconds > 0 ? 100.0 * cpu.TotalSeconds / elapsed.TotalSeconds : 0;
}
