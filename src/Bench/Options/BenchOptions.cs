using PolledNvme.Protection;

namespace PolledNvme.Bench.Options;

/// <summary>
/// One fio job after parsing: fio's options with fio's defaults, plus pnvme's device and PI
/// options. A job with <c>numjobs=N</c> runs as N threads with these options.
/// </summary>
public sealed record BenchOptions
{
    /// <summary>The default job: what <c>pnvme bench</c> with no arguments runs.</summary>
    public const string DefaultName = "pnvme";

    /// <summary>fio's default percentile list.</summary>
    public static readonly double[] DefaultPercentiles = [1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.5, 99.9, 99.95, 99.99];

    /// <summary>Job name (<c>name</c>).</summary>
    public string Name { get; init; } = DefaultName;
    /// <summary>Free text shown with the job (<c>description</c>).</summary>
    public string? Description { get; init; }
    /// <summary>Device string (<c>--device</c>); null = worked out from filename/ioengine, else the default device.</summary>
    public string? Device { get; init; }
    /// <summary>fio's <c>filename</c>: a pnvme device string or a file/block device path.</summary>
    public string? FileName { get; init; }
    /// <summary>fio's <c>directory</c>: where generated file names go.</summary>
    public string? Directory { get; init; }
    /// <summary>fio's <c>ioengine</c> as given (null = pnvme's own engine on the device).</summary>
    public string? IoEngine { get; init; }
    /// <summary><c>direct</c> / <c>buffered</c>: bypass the page cache of <c>emu:</c> and <c>uring:</c> files (null = the device's default).</summary>
    public bool? Direct { get; init; }
    /// <summary>I/O pattern (<c>rw</c>).</summary>
    public RwPattern Pattern { get; init; } = RwPattern.RandReadWrite;
    /// <summary>Percentage of reads in mixed patterns (<c>rwmixread</c>).</summary>
    public int ReadMixPercent { get; init; } = 70;
    /// <summary>Block sizes of reads, writes and trims (<c>bs</c>, <c>bsrange</c>, <c>bssplit</c>).</summary>
    public PerDirection<BlockSizeSpec> BlockSizes { get; init; } = PerDirection<BlockSizeSpec>.All(BlockSizeSpec.Fixed(4096));
    /// <summary>Sequential I/O uses the read sizes, random I/O the write sizes (<c>bs_is_seq_rand</c>).</summary>
    public bool BlockSizeIsSeqRand { get; init; }
    /// <summary>Alignment of random offsets per direction in bytes (<c>blockalign</c>); 0 = the direction's smallest block size.</summary>
    public PerDirection<int> BlockAlign { get; init; }
    /// <summary>Commands kept in flight per job (<c>iodepth</c>).</summary>
    public int IoDepth { get; init; } = 32;
    /// <summary>Number of clones of the job, each a thread with its own queue pair (<c>numjobs</c>).</summary>
    public int NumJobs { get; init; } = 1;
    /// <summary>Run time limit (<c>runtime</c>); null = until the I/O amount is done.</summary>
    public TimeSpan? Runtime { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Run for the whole <see cref="Runtime"/> even when the region has been covered (<c>time_based</c>).</summary>
    public bool TimeBased { get; init; } = true;
    /// <summary>Bytes of the region each job works on (<c>size</c>); null = the device after the offset (or <see cref="SizePercent"/>).</summary>
    public long? SizeBytes { get; init; }
    /// <summary><c>size=N%</c>: percent of the device.</summary>
    public double? SizePercent { get; init; }
    /// <summary>Byte offset of the region (<c>offset</c>).</summary>
    public long OffsetBytes { get; init; }
    /// <summary><c>offset=N%</c>: percent of the device.</summary>
    public double? OffsetPercent { get; init; }
    /// <summary>Alignment of a percentage offset in bytes (<c>offset_align</c>); 0 = the smallest block size.</summary>
    public long OffsetAlign { get; init; }
    /// <summary>Clone k starts at offset + k × this (<c>offset_increment</c>).</summary>
    public long OffsetIncrement { get; init; }
    /// <summary>Bytes of I/O per loop when it differs from the region size (<c>io_size</c>).</summary>
    public long? IoSizeBytes { get; init; }
    /// <summary>Stop after this many I/Os (<c>number_ios</c>).</summary>
    public long? NumberIos { get; init; }
    /// <summary>Passes over the I/O amount (<c>loops</c>).</summary>
    public int Loops { get; init; } = 1;
    /// <summary>Warm-up time not counted in the results (<c>ramp_time</c>).</summary>
    public TimeSpan RampTime { get; init; }
    /// <summary>Delay before the job starts; a range makes each clone pick a value in it (<c>startdelay</c>).</summary>
    public (TimeSpan Min, TimeSpan Max) StartDelay { get; init; }
    /// <summary>Write an LBA-derived pattern and check every read against it (<c>verify</c>).</summary>
    public bool Verify { get; init; }
    /// <summary>Only read and check what an earlier <c>verify</c> run wrote (<c>verify_only</c>).</summary>
    public bool VerifyOnly { get; init; }
    /// <summary>Seed of random offsets and of the verify pattern (<c>randseed</c>).</summary>
    public ulong Seed { get; init; } = 0x5EED_0F_7A_5EED;
    /// <summary>Same offsets on every run (<c>randrepeat</c>, fio's default); false seeds offsets from the clock.</summary>
    public bool RandRepeat { get; init; } = true;
    /// <summary>Random offsets without the random map: blocks may repeat or be skipped (<c>norandommap</c>).</summary>
    public bool NoRandomMap { get; init; }
    /// <summary>Distribution of random offsets (<c>random_distribution</c>).</summary>
    public RandomDistribution Distribution { get; init; } = RandomDistribution.Uniform;
    /// <summary>Percent of random I/Os per direction in a random pattern, the rest sequential (<c>percentage_random</c>).</summary>
    public PerDirection<int> PercentRandom { get; init; } = PerDirection<int>.All(100);
    /// <summary>Bandwidth cap per direction in bytes/s (<c>rate</c>); 0 = none.</summary>
    public PerDirection<long> RateBytes { get; init; }
    /// <summary>IOPS cap per direction (<c>rate_iops</c>); 0 = none.</summary>
    public PerDirection<long> RateIops { get; init; }
    /// <summary>Spacing of rated I/O (<c>rate_process</c>).</summary>
    public RateProcess RateProcess { get; init; } = RateProcess.Linear;
    /// <summary>Pin each job's thread to a core (on unless <c>--pin=0</c> or <c>cpus_allowed</c>).</summary>
    public bool Pin { get; init; } = true;
    /// <summary>CPUs the job's threads may run on (<c>cpus_allowed</c>); null = pnvme's pinning.</summary>
    public int[]? CpusAllowed { get; init; }
    /// <summary><c>cpus_allowed_policy</c>.</summary>
    public CpuPolicy CpuPolicy { get; init; } = CpuPolicy.Shared;
    /// <summary>Wait for the jobs before this one to finish, and start a new group (<c>stonewall</c>).</summary>
    public bool Stonewall { get; init; }
    /// <summary>Start a new reporting group without waiting (<c>new_group</c>).</summary>
    public bool NewGroup { get; init; }
    /// <summary>Report the group as one (<c>group_reporting</c>).</summary>
    public bool GroupReporting { get; init; }
    /// <summary>Whether the job is in the report (<c>stats</c>).</summary>
    public bool Stats { get; init; } = true;
    /// <summary>The first job to finish stops all the others (<c>exitall</c>).</summary>
    public bool ExitAll { get; init; }
    /// <summary>Measure total latency (off with <c>disable_lat</c> or <c>gtod_reduce</c>).</summary>
    public bool MeasureLat { get; init; } = true;
    /// <summary>Measure completion latency (off with <c>disable_clat</c> or <c>gtod_reduce</c>).</summary>
    public bool MeasureClat { get; init; } = true;
    /// <summary>Measure submission latency (off with <c>disable_slat</c> or <c>gtod_reduce</c>).</summary>
    public bool MeasureSlat { get; init; } = true;
    /// <summary>Sample bandwidth and IOPS (off with <c>disable_bw_measurement</c> or <c>gtod_reduce</c>).</summary>
    public bool MeasureBw { get; init; } = true;
    /// <summary>Report submission latency percentiles (<c>slat_percentiles</c>).</summary>
    public bool SlatPercentiles { get; init; }
    /// <summary>Report completion latency percentiles (<c>clat_percentiles</c>, fio's default).</summary>
    public bool ClatPercentiles { get; init; } = true;
    /// <summary>Report total latency percentiles (<c>lat_percentiles</c>).</summary>
    public bool LatPercentiles { get; init; }
    /// <summary>The percentiles reported (<c>percentile_list</c>).</summary>
    public double[] Percentiles { get; init; } = DefaultPercentiles;
    /// <summary>Bandwidth sampling interval (<c>bwavgtime</c>), ms.</summary>
    public int BwAverageMs { get; init; } = 500;
    /// <summary>Whether <c>bwavgtime</c> was given (fio then lets it cap <c>log_avg_msec</c>).</summary>
    public bool BwAverageGiven { get; init; }
    /// <summary>IOPS sampling interval (<c>iopsavgtime</c>), ms.</summary>
    public int IopsAverageMs { get; init; } = 500;
    /// <summary>Whether <c>iopsavgtime</c> was given.</summary>
    public bool IopsAverageGiven { get; init; }
    /// <summary>fio's logs.</summary>
    public LogSettings Logs { get; init; } = new();
    /// <summary>First capacity of each log in entries (<c>log_entries</c>).</summary>
    public int LogEntries { get; init; } = 1024;
    /// <summary>Significant figures of the text report (<c>significant_figures</c>).</summary>
    public int SignificantFigures { get; init; } = 4;
    /// <summary>The job's options as the user typed them (fio's <c>job options</c>), canonical names.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Typed { get; init; } = [];
    /// <summary>
    /// Where each option got its value, by canonical name: the flag as given (<c>--bs</c>) or the
    /// job file's <c>FILE:LINE: bs</c>, so a check made later (against the device) names the same place.
    /// </summary>
    public IReadOnlyDictionary<string, string> Sources { get; init; } = new Dictionary<string, string>();

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
    /// <summary>How each job's queue pair waits for completions (<c>--poll</c>); spin by default.</summary>
    public Driver.PollMode PollMode { get; init; } = Driver.PollMode.Spin;

    /// <summary>The read block size when it is fixed (the common case; reports and old callers).</summary>
    public int BlockSizeBytes => BlockSizes[0].Max;
    /// <summary>Whether the pattern issues reads.</summary>
    public bool HasReads => Pattern is RwPattern.Read or RwPattern.RandRead or RwPattern.ReadWrite or RwPattern.RandReadWrite;
    /// <summary>Whether the pattern issues writes.</summary>
    public bool HasWrites => Pattern is RwPattern.Write or RwPattern.RandWrite or RwPattern.ReadWrite or RwPattern.RandReadWrite
        or RwPattern.TrimWrite or RwPattern.RandTrimWrite;
    /// <summary>Whether the pattern issues trims.</summary>
    public bool HasTrims => Pattern is RwPattern.Trim or RwPattern.RandTrim or RwPattern.TrimWrite or RwPattern.RandTrimWrite;
    /// <summary>Whether offsets are random.</summary>
    public bool IsRandom => Pattern is RwPattern.RandRead or RwPattern.RandWrite or RwPattern.RandReadWrite
        or RwPattern.RandTrim or RwPattern.RandTrimWrite;
    /// <summary>Whether the pattern mixes reads and writes by <see cref="ReadMixPercent"/>.</summary>
    public bool IsMixed => Pattern is RwPattern.ReadWrite or RwPattern.RandReadWrite;
    /// <summary>Percentage of reads actually issued: 100, 0 or <see cref="ReadMixPercent"/>.</summary>
    public int EffectiveReadPercent => !HasWrites ? (HasReads ? 100 : 0) : !HasReads ? 0 : ReadMixPercent;
    /// <summary>Whether the direction (0 read, 1 write, 2 trim) is issued.</summary>
    public bool Issues(int direction) => direction switch { 0 => HasReads, 1 => HasWrites, _ => HasTrims };
    /// <summary>Largest block size of any direction the job issues.</summary>
    public int MaxBlockSizeBytes => Enumerable.Range(0, 3).Where(Issues).Select(d => BlockSizes[d].Max).DefaultIfEmpty(BlockSizes[0].Max).Max();
    /// <summary>Whether any rate cap is set.</summary>
    public bool IsRated => RateBytes != default || RateIops != default;
}
