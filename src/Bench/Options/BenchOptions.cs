using PolledNvme.Protection;

namespace PolledNvme.Bench.Options;

/// <summary>fio's <c>--rw</c> patterns.</summary>
public enum RwPattern
{
    /// <summary>Sequential reads.</summary>
    Read,
    /// <summary>Sequential writes.</summary>
    Write,
    /// <summary>Random reads.</summary>
    RandRead,
    /// <summary>Random writes.</summary>
    RandWrite,
    /// <summary>Sequential mixed reads and writes (fio's <c>rw</c> / <c>readwrite</c>).</summary>
    ReadWrite,
    /// <summary>Random mixed reads and writes.</summary>
    RandReadWrite,
}

/// <summary>Which PI work the host does in software (<c>--host-pi</c>).</summary>
[Flags]
public enum HostPi
{
    /// <summary>The host leaves PI to the controller.</summary>
    None = 0,
    /// <summary>The host generates PI for writes (writes go with PRACT=0).</summary>
    Generate = 1,
    /// <summary>The host verifies PI of reads (reads go with PRACT=0).</summary>
    Verify = 2,
    /// <summary>Both.</summary>
    Both = Generate | Verify,
}

/// <summary>Output format of reports (<c>--output-format</c>).</summary>
public enum OutputFormat
{
    /// <summary>fio-like text.</summary>
    Normal,
    /// <summary>fio-shaped JSON.</summary>
    Json,
}

/// <summary>Everything one <c>pnvme bench</c> run is configured with, after parsing.</summary>
public sealed record BenchOptions
{
    /// <summary>The default job: what <c>pnvme bench</c> with no arguments runs.</summary>
    public const string DefaultName = "pnvme";

    /// <summary>Job name (<c>--name</c>).</summary>
    public string Name { get; init; } = DefaultName;
    /// <summary>Device string (<c>--device</c>); null = a PI type 1 emulated namespace on a temp file.</summary>
    public string? Device { get; init; }
    /// <summary>I/O pattern (<c>--rw</c>).</summary>
    public RwPattern Pattern { get; init; } = RwPattern.RandReadWrite;
    /// <summary>Percentage of reads in mixed patterns (<c>--rwmixread</c>).</summary>
    public int ReadMixPercent { get; init; } = 70;
    /// <summary>Bytes per I/O (<c>--bs</c>).</summary>
    public int BlockSizeBytes { get; init; } = 4096;
    /// <summary>Commands kept in flight per job (<c>--iodepth</c>).</summary>
    public int IoDepth { get; init; } = 32;
    /// <summary>Number of jobs, each a thread with its own queue pair (<c>--numjobs</c>).</summary>
    public int NumJobs { get; init; } = 1;
    /// <summary>Run time limit (<c>--runtime</c>); null = until <see cref="SizeBytes"/> is done.</summary>
    public TimeSpan? Runtime { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Run for the whole <see cref="Runtime"/> even when the region has been covered (<c>--time_based</c>).</summary>
    public bool TimeBased { get; init; } = true;
    /// <summary>Bytes of the region each job works on (<c>--size</c>); null = device size minus offset.</summary>
    public long? SizeBytes { get; init; }
    /// <summary>Byte offset of the region (<c>--offset</c>).</summary>
    public long OffsetBytes { get; init; }
    /// <summary>Warm-up time not counted in the results (<c>--ramp_time</c>).</summary>
    public TimeSpan RampTime { get; init; }
    /// <summary>Write an LBA-derived pattern and check every read against it (<c>--verify</c>).</summary>
    public bool Verify { get; init; }
    /// <summary>
    /// Only read and check what an earlier <c>--verify</c> run wrote (<c>--verify_only</c>, fio's
    /// flag): no lay-out pass, no writes.
    /// </summary>
    public bool VerifyOnly { get; init; }
    /// <summary>Seed of random offsets and of the verify pattern (<c>--randseed</c>).</summary>
    public ulong Seed { get; init; } = 0x5EED_0F_7A_5EED;
    /// <summary>Report format (<c>--output-format</c>).</summary>
    public OutputFormat Format { get; init; } = OutputFormat.Normal;
    /// <summary>Report file (<c>--output</c>); null = stdout.</summary>
    public string? OutputPath { get; init; }
    /// <summary>Plot file (<c>--plot</c>, .png or .svg); null = none.</summary>
    public string? PlotPath { get; init; }
    /// <summary>Controller inserts/strips PI (<c>--pract</c>).</summary>
    public bool Pract { get; init; }
    /// <summary>Controller checks (<c>--prchk</c>); null = guard,app,ref on PI namespaces.</summary>
    public PiChecks? Checks { get; init; }
    /// <summary>Application tag written and expected (<c>--apptag</c>; fio's default 0x1234).</summary>
    public ushort AppTag { get; init; } = 0x1234;
    /// <summary>Application tag mask (<c>--apptag-mask</c>; fio's default 0xffff).</summary>
    public ushort AppTagMask { get; init; } = 0xFFFF;
    /// <summary>Whether <c>--apptag</c> or <c>--apptag-mask</c> was given (they need a PI namespace).</summary>
    public bool AppTagGiven { get; init; }
    /// <summary>Storage tag written and expected (<c>--storage-tag</c>).</summary>
    public ulong StorageTag { get; init; }
    /// <summary>Host software PI (<c>--host-pi</c>); null = verify on PI namespaces (the default run).</summary>
    public HostPi? HostPi { get; init; }
    /// <summary>Pin each job's thread to a core (on unless <c>--pin=0</c>).</summary>
    public bool Pin { get; init; } = true;
    /// <summary>Show the live progress line on stderr (when it is a terminal).</summary>
    public bool Progress { get; init; } = true;

    /// <summary>Whether the pattern issues reads.</summary>
    public bool HasReads => Pattern is not (RwPattern.Write or RwPattern.RandWrite);
    /// <summary>Whether the pattern issues writes.</summary>
    public bool HasWrites => Pattern is not (RwPattern.Read or RwPattern.RandRead);
    /// <summary>Whether offsets are random.</summary>
    public bool IsRandom => Pattern is RwPattern.RandRead or RwPattern.RandWrite or RwPattern.RandReadWrite;
    /// <summary>Percentage of reads actually issued: 100, 0 or <see cref="ReadMixPercent"/>.</summary>
    public int EffectiveReadPercent => !HasWrites ? 100 : !HasReads ? 0 : ReadMixPercent;
}
