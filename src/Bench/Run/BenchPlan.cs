using PolledNvme.Protection;
using System.Diagnostics;
using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;
using HostPiMode = PolledNvme.Bench.Options.HostPi;

namespace PolledNvme.Bench.Run;

/// <summary>
/// The options checked against the opened device, before any I/O: block size multiples, the
/// region inside the namespace, PI flags only where there is PI. Also works out what each
/// command carries (PRACT per direction, PRCHK, tags) — see <see cref="Create"/>.
/// </summary>
public sealed class BenchPlan
{
    private readonly double _nsPerTick;

    private BenchPlan(BenchOptions options, NamespaceGeometry geometry, JobIoSettings settings,
        long regionFirstLba, long regionIos, HostPiMode hostPi, PiChecks checks)
    {
        Options = options;
        Geometry = geometry;
        Settings = settings;
        RegionFirstLba = regionFirstLba;
        RegionIos = regionIos;
        HostPi = hostPi;
        Checks = checks;
        _nsPerTick = 1e9 / Stopwatch.Frequency;
        double seconds = (options.RampTime + (options.Runtime ?? TimeSpan.FromSeconds(60))).TotalSeconds;
        TimelineBucket = TimeSpan.FromSeconds(Math.Max(0.1, seconds / 600));
    }

    /// <summary>The parsed options.</summary>
    public BenchOptions Options { get; }
    /// <summary>The namespace.</summary>
    public NamespaceGeometry Geometry { get; }
    /// <summary>What each job's engine is opened with.</summary>
    public JobIoSettings Settings { get; }
    /// <summary>First LBA of the region (<c>--offset</c>).</summary>
    public long RegionFirstLba { get; }
    /// <summary>Number of <c>--bs</c>-sized I/Os that fit in the region (<c>--size</c>).</summary>
    public long RegionIos { get; }
    /// <summary>Host PI in effect.</summary>
    public HostPiMode HostPi { get; }
    /// <summary>Controller checks in effect.</summary>
    public PiChecks Checks { get; }
    /// <summary>Width of an IOPS-over-time bucket.</summary>
    public TimeSpan TimelineBucket { get; }

    /// <summary>Converts Stopwatch ticks to nanoseconds.</summary>
    public long TicksToNs(long ticks) => (long)(ticks * _nsPerTick);

    /// <summary>
    /// Checks <paramref name="options"/> against <paramref name="target"/>. Rules: PRACT for
    /// writes when <c>--pract</c>, or when the namespace has PI and the host does not generate
    /// it; PRACT for reads only when <c>--pract</c> and the host does not verify (the host must
    /// see the PI it verifies). Default checks guard,app,ref; default host PI verify.
    /// </summary>
    /// <exception cref="UsageException">A flag does not fit the device; the message names it.</exception>
    public static BenchPlan Create(BenchOptions options, IBenchTarget target)
    {
        var g = target.Geometry;
        if (options.BlockSizeBytes % g.BlockSize != 0)
            throw new UsageException("--bs", $"{options.BlockSizeBytes} is not a multiple of the namespace's {g.BlockSize}-byte logical block");
        if (options.OffsetBytes % g.BlockSize != 0)
            throw new UsageException("--offset", $"{options.OffsetBytes} is not a multiple of the namespace's {g.BlockSize}-byte logical block");
        if (options.NumJobs > target.MaxJobs)
            throw new UsageException("--numjobs", $"{options.NumJobs} jobs need as many I/O queue pairs; {target.EngineName} grants {target.MaxJobs}");
        if (options.IoDepth > target.MaxQueueDepth)
            throw new UsageException("--iodepth", $"{options.IoDepth} is more than the {target.MaxQueueDepth} commands one queue pair of {target.EngineName} holds");
        if (options.BlockSizeBytes > target.MaxIoBytes)
            throw new UsageException("--bs", $"{options.BlockSizeBytes} is more than the {target.MaxIoBytes} bytes one command may transfer (MDTS)");
        long capacity = g.BlockCount * g.BlockSize;
        if (options.OffsetBytes >= capacity)
            throw new UsageException("--offset", $"{options.OffsetBytes} is at or beyond the end of the namespace ({capacity} bytes)");
        long size = options.SizeBytes ?? capacity - options.OffsetBytes;
        // Compared as size > capacity - offset: offset + size could overflow and wrap to a small number.
        if (size > capacity - options.OffsetBytes)
            throw new UsageException("--size", $"offset {options.OffsetBytes} + size {size} goes beyond the end of the namespace ({capacity} bytes)");
        long regionIos = size / options.BlockSizeBytes;
        if (regionIos == 0)
            throw new UsageException("--size", $"{size} bytes is smaller than one --bs ({options.BlockSizeBytes})");

        if (target.IsWriteProtected && (options.HasWrites || (options.Verify && !options.VerifyOnly)))
            throw new UsageException(options.HasWrites ? "--rw" : "--verify",
                $"the namespace is write protected (ro=1), and this run writes{(options.HasWrites ? "" : " (the --verify lay-out)")}; read it (--rw=read, randread or --verify_only) or open it without ro=1");
        if (options.Verify && !target.RetainsData)
            throw new UsageException(options.VerifyOnly ? "--verify_only" : "--verify",
                "the device keeps no data (null: discards every write), so there is nothing to read back and check; use mem: or emu:PATH");
        CheckBufferMemory(options, g);

        bool pi = g.HasPi && target.SupportsPi;
        string why = !target.SupportsPi ? $"the {target.EngineName} engine carries no PI" : "the namespace has no protection information (format it with --pi)";
        if (!pi)
        {
            if (options.Pract) throw new UsageException("--pract", why);
            if (options.Checks is { } c && c != PiChecks.None) throw new UsageException("--prchk", why);
            if (options.HostPi is { } h && h != HostPiMode.None) throw new UsageException("--host-pi", why);
            if (options.AppTagGiven) throw new UsageException("--apptag", why);
            if (options.StorageTag != 0) throw new UsageException("--storage-tag", why);
        }
        PiChecks checks = pi ? options.Checks ?? (PiChecks.Guard | PiChecks.ApplicationTag | PiChecks.ReferenceTag) : PiChecks.None;
        if ((checks & PiChecks.StorageTag) != 0 && g.StorageTagBits == 0)
            throw new UsageException("--prchk", "storage: the format has no storage tag (STS = 0)");
        if (options.StorageTag != 0 && (g.StorageTagBits == 0 || (g.StorageTagBits < 64 && options.StorageTag >> g.StorageTagBits != 0)))
            throw new UsageException("--storage-tag", $"0x{options.StorageTag:x} does not fit the format's {g.StorageTagBits}-bit storage tag");
        HostPiMode hostPi = pi ? options.HostPi ?? HostPiMode.Verify : HostPiMode.None;
        bool hostGenerate = (hostPi & HostPiMode.Generate) != 0;
        bool hostVerify = (hostPi & HostPiMode.Verify) != 0;

        var settings = new JobIoSettings(
            IoDepth: options.IoDepth,
            BlocksPerIo: options.BlockSizeBytes / g.BlockSize,
            WritePract: pi && (options.Pract || !hostGenerate),
            ReadPract: pi && options.Pract && !hostVerify,
            Checks: checks,
            AppTag: options.AppTag,
            AppTagMask: options.AppTagMask,
            StorageTag: options.StorageTag,
            HostGenerate: hostGenerate,
            HostVerify: hostVerify,
            HostChecks: hostVerify ? PiChecks.Guard | PiChecks.ApplicationTag | PiChecks.ReferenceTag | (g.StorageTagBits > 0 ? PiChecks.StorageTag : PiChecks.None) : PiChecks.None);
        return new BenchPlan(options, g, settings, options.OffsetBytes / g.BlockSize, regionIos, hostPi, checks);
    }

    // Every job holds --iodepth I/O buffers of --bs bytes plus metadata, as DMA memory and a
    // host copy: refuse what the machine cannot hold rather than fail (or be OOM-killed) mid-start.
    private static void CheckBufferMemory(BenchOptions options, NamespaceGeometry g)
    {
        long perIo = 2L * options.BlockSizeBytes + (long)(options.BlockSizeBytes / g.BlockSize) * g.MetadataSize;
        long bytes = perIo * options.IoDepth * options.NumJobs;
        try
        {
            Queues.HostMemory.EnsureFits(bytes, $"{options.NumJobs} job(s) x --iodepth {options.IoDepth} x --bs {options.BlockSizeBytes} (DMA and host buffers)",
                "lower --iodepth, --bs or --numjobs", "options");
        }
        catch (ArgumentException e)
        {
            throw new UsageException("--iodepth", Engines.DeviceSpec.MessageOf(e), e);
        }
    }
}
