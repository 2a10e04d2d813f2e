using PolledNvme.Protection;
using PolledNvme.Bench.Options;

namespace PolledNvme.Bench.Engines;

/// <summary>Direction of one benchmark I/O.</summary>
public enum IoDirection : byte
{
    /// <summary>Read.</summary>
    Read = 0,
    /// <summary>Write.</summary>
    Write = 1,
    /// <summary>Trim: Dataset Management deallocate (a punched hole on uring: files). fio's DDIR_TRIM.</summary>
    Trim = 2,
}

/// <summary>How one I/O ended, as the benchmark counts it.</summary>
public enum IoResultKind : byte
{
    /// <summary>Completed without error.</summary>
    Ok = 0,
    /// <summary>Guard mismatch (controller status 2h/82h, or found by host PI verify).</summary>
    GuardError,
    /// <summary>Application tag mismatch (2h/83h or host verify).</summary>
    AppTagError,
    /// <summary>Reference tag mismatch (2h/84h or host verify).</summary>
    RefTagError,
    /// <summary>Storage tag mismatch (2h/88h or host verify).</summary>
    StorageTagError,
    /// <summary>Any other failed status or OS error.</summary>
    OtherError,
}

/// <summary>
/// The result of one I/O: its kind, the raw NVMe status (15-bit, 0 when not from a
/// controller) or errno, for PI errors the failing LBA, and what the controller said beyond the
/// status (an emulated controller's media error, e.g. ENOSPC and the file), or null. A value
/// type: no allocation per I/O.
/// </summary>
public readonly record struct IoOutcome(IoResultKind Kind, int Status, long Lba, string? Detail = null)
{
    /// <summary>Success.</summary>
    public static IoOutcome Ok => default;
    /// <summary>Whether the I/O failed in a PI check.</summary>
    public bool IsPiError => Kind is IoResultKind.GuardError or IoResultKind.AppTagError
        or IoResultKind.RefTagError or IoResultKind.StorageTagError;
}

/// <summary>Receives completions on the job's own thread, from inside <see cref="IIoEngine.Poll"/>.</summary>
public interface IIoCompletionSink
{
    /// <summary>The I/O submitted in <paramref name="slot"/> finished.</summary>
    void OnCompleted(int slot, in IoOutcome result);

    /// <summary>
    /// The I/O prepared in <paramref name="slot"/> goes to the device now (<paramref name="ticks"/>,
    /// Stopwatch): for engines whose <see cref="IIoEngine.Submit"/> only prepares it.
    /// </summary>
    void OnIssued(int slot, long ticks);
}

/// <summary>The shape of the namespace a run works on.</summary>
/// <param name="BlockSize">Logical block data size in bytes (LBADS).</param>
/// <param name="MetadataSize">Metadata bytes per block (MS), 0 when none.</param>
/// <param name="BlockCount">Namespace size in blocks.</param>
/// <param name="PiType">PI type 0 (none), 1, 2 or 3.</param>
/// <param name="PiFormat">PIF: 0 16b guard, 1 32b, 2 64b.</param>
/// <param name="PiFirst">PI in the first bytes of metadata (DPS.PIP).</param>
/// <param name="ExtendedLba">Metadata interleaved with data (FLBAS.MTELBA) rather than a separate buffer.</param>
/// <param name="StorageTagBits">STS: storage tag width in bits.</param>
public sealed record NamespaceGeometry(int BlockSize, int MetadataSize, long BlockCount, int PiType,
    int PiFormat, bool PiFirst, bool ExtendedLba, int StorageTagBits)
{
    /// <summary>Whether the namespace carries PI.</summary>
    public bool HasPi => PiType != 0;
    /// <summary>Bytes of the PI tuple: 8 for 16b guard, 16 for 32b/64b.</summary>
    public int PiSize => !HasPi ? 0 : PiFormat == 0 ? 8 : 16;
    /// <summary>Guard name for reports.</summary>
    public string GuardName => PiFormat switch { 0 => "16b", 1 => "32b", 2 => "64b", _ => "qualified" };
}

/// <summary>What every job's engine is told when it opens.</summary>
/// <param name="IoDepth">Commands in flight; slots are 0..IoDepth-1.</param>
/// <param name="MaxBlocksPerIo">Most logical blocks of one I/O (the largest bs / block size): each slot's buffer holds that many.</param>
/// <param name="WritePract">PRACT for writes: the controller generates PI.</param>
/// <param name="ReadPract">PRACT for reads: the controller checks and strips PI.</param>
/// <param name="Checks">PRCHK (and STC) bits for reads and writes.</param>
/// <param name="AppTag">LBAT.</param>
/// <param name="AppTagMask">LBATM.</param>
/// <param name="StorageTag">LBST.</param>
/// <param name="HostGenerate">The host computes PI for writes.</param>
/// <param name="HostVerify">The host verifies PI of reads.</param>
/// <param name="HostChecks">What the host's verify compares: every field the format has, whatever the controller checks.</param>
/// <param name="PollMode">How the job's queue pair waits for completions (<c>--poll</c>; the driver's engines only).</param>
public sealed record JobIoSettings(int IoDepth, int MaxBlocksPerIo, bool WritePract, bool ReadPract, PiChecks Checks,
    ushort AppTag, ushort AppTagMask, ulong StorageTag, bool HostGenerate, bool HostVerify, PiChecks HostChecks = PiChecks.None,
    Driver.PollMode PollMode = Driver.PollMode.Spin);

/// <summary>
/// A device opened once per run (<c>emu:</c>, <c>mem:</c>, <c>null:</c>, <c>pci:</c>, <c>uring:</c>);
/// it hands each job its own engine (its own queue pair).
/// </summary>
public interface IBenchTarget : IDisposable
{
    /// <summary>One line saying what the device is, for the report header.</summary>
    string Description { get; }
    /// <summary>Name of the I/O path, e.g. <c>nvme-emu</c>, <c>io_uring</c>.</summary>
    string EngineName { get; }
    /// <summary>The namespace's shape.</summary>
    NamespaceGeometry Geometry { get; }
    /// <summary>Whether the target can carry PI options at all (false for the kernel path).</summary>
    bool SupportsPi { get; }
    /// <summary>Whether what is written can be read back (false for <c>null:</c>, which discards data): <c>--verify</c> needs it.</summary>
    bool RetainsData { get; }
    /// <summary>Whether the namespace refuses writes (write protected, e.g. <c>emu:PATH,ro=1</c>).</summary>
    bool IsWriteProtected { get; }
    /// <summary>
    /// Whether the device runs on this machine's CPUs (the emulated controller's thread): then a
    /// job with nothing to reap yields its core instead of spinning, or it would starve the device.
    /// </summary>
    bool YieldWhenIdle { get; }
    /// <summary>Most commands one job can keep in flight (queue entries - 1).</summary>
    int MaxQueueDepth { get; }
    /// <summary>Most jobs (queue pairs) the device grants at once.</summary>
    int MaxJobs { get; }
    /// <summary>Largest data transfer of one I/O in bytes (MDTS), for the data alone.</summary>
    int MaxIoBytes { get; }
    /// <summary>
    /// Does what opening deferred until the run's flags were checked (laying out a <c>uring:</c>
    /// file to <c>size=</c>): called once, after every job's plan and before any job opens.
    /// <paramref name="progress"/>, when given, hears of the lay-out's bytes done and in all.
    /// </summary>
    void Prepare(Action<long, long>? progress = null);
    /// <summary>Why trims cannot run on this target, or null when they can.</summary>
    string? TrimUnsupportedReason { get; }
    /// <summary>Opens job <paramref name="jobIndex"/>'s engine. Called on the job's own thread.</summary>
    IIoEngine OpenJob(int jobIndex, JobIoSettings settings, IIoCompletionSink sink);
}

/// <summary>
/// One job's I/O path: used by one thread only. Slots own preallocated buffers; submitting
/// and polling never allocate.
/// </summary>
public interface IIoEngine : IDisposable
{
    /// <summary>
    /// The host data of <paramref name="slot"/> (MaxBlocksPerIo × BlockSize bytes, no metadata):
    /// filled by the job before a write, read by the job after a read completes.
    /// </summary>
    Span<byte> HostBuffer(int slot);

    /// <summary>
    /// Submits an I/O of <paramref name="blocks"/> blocks at <paramref name="lba"/> from/into
    /// <paramref name="slot"/>. Returns true when the command is on the device (doorbell rung);
    /// false when it is only prepared and <see cref="IIoCompletionSink.OnIssued"/> reports it later.
    /// </summary>
    bool Submit(int slot, IoDirection direction, long lba, int blocks);

    /// <summary>Reaps up to <paramref name="maxCompletions"/> completions, calling the sink for each; returns how many.</summary>
    int Poll(int maxCompletions);
}
