using PolledNvme.Protection;
using System.Diagnostics;
using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;
using HostPiMode = PolledNvme.Bench.Options.HostPi;

namespace PolledNvme.Bench.Run;

/// <summary>
/// One job's options checked against its opened device, before any I/O: block sizes and
/// alignments in whole logical blocks, the region inside the namespace (percentages resolved),
/// trims where the device has them, PI flags only where there is PI. Also works out what each
/// command carries (PRACT per direction, PRCHK, tags) — see <see cref="Create"/>.
/// </summary>
public sealed class BenchPlan
{
    private readonly double _nsPerTick;

    private BenchPlan(BenchOptions options, NamespaceGeometry geometry, JobIoSettings settings, long regionFirstLba,
        long regionBlocks, HostPiMode hostPi, PiChecks checks, int groupId)
    {
        Options = options;
        Geometry = geometry;
        Settings = settings;
        RegionFirstLba = regionFirstLba;
        RegionBlocks = regionBlocks;
        HostPi = hostPi;
        Checks = checks;
        GroupId = groupId;
        _nsPerTick = 1e9 / Stopwatch.Frequency;
        double seconds = (options.RampTime + (options.Runtime ?? TimeSpan.FromSeconds(60))).TotalSeconds;
        TimelineBucket = TimeSpan.FromSeconds(Math.Max(0.05, seconds / 400));
        int lbs = geometry.BlockSize;
        AlignBlocks = new PerDirection<long>(Align(0), Align(1), Align(2));
        long Align(int d) => (options.BlockAlign[d] != 0 ? options.BlockAlign[d] : options.BlockSizes[d].Min) / lbs;
        MinBlocks = Enumerable.Range(0, 3).Where(options.Issues).Select(d => (long)options.BlockSizes[d].Min / lbs).DefaultIfEmpty(1).Min();
        OffsetIncrementBlocks = options.OffsetIncrement / lbs;
    }

    /// <summary>The job's options.</summary>
    public BenchOptions Options { get; }
    /// <summary>The namespace.</summary>
    public NamespaceGeometry Geometry { get; }
    /// <summary>What each clone's engine is opened with.</summary>
    public JobIoSettings Settings { get; }
    /// <summary>First LBA of clone 0's region (<c>offset</c>); clone k adds k × <see cref="OffsetIncrementBlocks"/>.</summary>
    public long RegionFirstLba { get; }
    /// <summary>Logical blocks in each clone's region (<c>size</c>).</summary>
    public long RegionBlocks { get; }
    /// <summary>Bytes in each clone's region.</summary>
    public long RegionBytes => RegionBlocks * Geometry.BlockSize;
    /// <summary><c>offset_increment</c> in blocks.</summary>
    public long OffsetIncrementBlocks { get; }
    /// <summary>Random offsets are multiples of this many blocks, per direction (<c>ba</c>, default the smallest block size).</summary>
    public PerDirection<long> AlignBlocks { get; }
    /// <summary>The smallest I/O of the directions issued, in blocks (the random map's unit).</summary>
    public long MinBlocks { get; }
    /// <summary>Host PI in effect.</summary>
    public HostPiMode HostPi { get; }
    /// <summary>Controller checks in effect.</summary>
    public PiChecks Checks { get; }
    /// <summary>fio's reporting group.</summary>
    public int GroupId { get; }
    /// <summary>Width of a timeline bucket (the plot's resolution).</summary>
    public TimeSpan TimelineBucket { get; }
    /// <summary>Whether the random map is used: uniform random offsets, no <c>norandommap</c>, no explicit <c>ba</c> (fio turns it off then).</summary>
    public bool UsesRandomMap => Options.IsRandom && !Options.NoRandomMap && Options.Distribution.Kind == DistributionKind.Random
        && Options.BlockAlign == default;
    /// <summary>Bytes one loop of a size-based job issues (<c>io_size</c>, else the region).</summary>
    public long BytesPerLoop => Options.IoSizeBytes ?? RegionBytes;

    /// <summary>Converts Stopwatch ticks to nanoseconds.</summary>
    public long TicksToNs(long ticks) => (long)(ticks * _nsPerTick);

    /// <summary>
    /// Checks <paramref name="options"/> against <paramref name="target"/>. Rules: PRACT for
    /// writes when <c>--pract</c>, or when the namespace has PI and the host does not generate
    /// it; PRACT for reads only when <c>--pract</c> and the host does not verify (the host must
    /// see the PI it verifies). Default checks guard,app,ref; default host PI verify.
    /// </summary>
    /// <exception cref="UsageException">An option does not fit the device; the message names it.</exception>
    public static BenchPlan Create(BenchOptions options, IBenchTarget target, int groupId = 0)
    {
        var g = target.Geometry;
        int lbs = g.BlockSize;
        for (int d = 0; d < 3; d++)
        {
            if (!options.Issues(d)) continue;
            var spec = options.BlockSizes[d];
            string flag = spec.Split is not null ? "--bssplit" : spec.IsFixed ? "--bs" : "--bsrange";
            foreach (int bytes in (spec.Split?.Select(s => s.Bytes) ?? []).Append(spec.Min).Append(spec.Max))
            {
                if (bytes % lbs != 0)
                    throw new UsageException(flag, $"{bytes} is not a multiple of the namespace's {lbs}-byte logical block");
                if (bytes > target.MaxIoBytes)
                    throw new UsageException(flag, $"{bytes} is more than the {target.MaxIoBytes} bytes one command may transfer (MDTS)");
            }
            if (options.BlockAlign[d] % lbs != 0)
                throw new UsageException("--ba", $"{options.BlockAlign[d]} is not a multiple of the namespace's {lbs}-byte logical block");
        }
        if (options.HasTrims && target.TrimUnsupportedReason is { } noTrim)
            throw new UsageException("--rw", $"{BenchOptionParser.PatternName(options.Pattern)}: {noTrim}");
        if (options.IoDepth > target.MaxQueueDepth)
            throw new UsageException("--iodepth", $"{options.IoDepth} is more than the {target.MaxQueueDepth} commands one queue pair of {target.EngineName} holds");
        if (options.NumJobs > target.MaxJobs)
            throw new UsageException("--numjobs", $"{options.NumJobs} jobs need as many I/O queue pairs; {target.EngineName} grants {target.MaxJobs}");

        long capacity = g.BlockCount * lbs;
        long minBs = Enumerable.Range(0, 3).Where(options.Issues).Select(d => (long)options.BlockSizes[d].Min).DefaultIfEmpty(lbs).Min();
        long offset = options.OffsetBytes;
        if (options.OffsetPercent is { } offsetPercent)
        {
            // fio: a percentage offset is aligned down to offset_align, else to the smallest block size.
            long align = options.OffsetAlign > 0 ? options.OffsetAlign : minBs;
            offset = (long)(capacity * offsetPercent / 100) / align * align;
        }
        if (offset % lbs != 0)
            throw new UsageException("--offset", $"{offset} is not a multiple of the namespace's {lbs}-byte logical block");
        if (options.OffsetIncrement % lbs != 0)
            throw new UsageException("--offset_increment", $"{options.OffsetIncrement} is not a multiple of the namespace's {lbs}-byte logical block");
        if (offset >= capacity)
            throw new UsageException("--offset", $"{offset} is at or beyond the end of the namespace ({capacity} bytes)");
        // Compared by division and subtraction: offset + clones x increment + size could overflow and wrap to a small number.
        long clones = options.NumJobs - 1;
        if (options.OffsetIncrement > 0 && clones > (capacity - 1 - offset) / options.OffsetIncrement)
            throw new UsageException("--offset_increment", $"clone {clones} would start at offset {offset} + {clones} x {options.OffsetIncrement}, beyond the end of the namespace ({capacity} bytes)");
        long lastClone = offset + clones * options.OffsetIncrement;
        long size = options.SizePercent is { } sizePercent ? (long)(capacity * sizePercent / 100) / lbs * lbs
            : options.SizeBytes ?? capacity - lastClone;
        size = size / lbs * lbs;
        if (size <= 0 || size > capacity - lastClone)
            throw new UsageException("--size", options.NumJobs > 1 && options.OffsetIncrement > 0
                ? $"clone {clones} at offset {lastClone} + size {size} goes beyond the end of the namespace ({capacity} bytes)"
                : $"offset {offset} + size {size} goes beyond the end of the namespace ({capacity} bytes)");
        if (size < options.MaxBlockSizeBytes)
            throw new UsageException("--size", $"{size} bytes is smaller than one I/O ({options.MaxBlockSizeBytes} bytes)");
        if (options.Distribution.Kind == DistributionKind.ZonedAbs)
        {
            for (int d = 0; d < 3; d++)
            {
                long zones = 0;
                foreach (var zone in options.Distribution.Zones![d])
                    zones = zone.SizeBytes > long.MaxValue - zones ? long.MaxValue : zones + zone.SizeBytes;
                if (zones > size)
                    throw new UsageException("--random_distribution", $"the zoned_abs zones cover {(zones == long.MaxValue ? "more than 8191p" : zones.ToString(System.Globalization.CultureInfo.InvariantCulture))} bytes, more than the {size}-byte region");
            }
        }

        bool changesMedia = options.HasWrites || options.HasTrims;
        if (target.IsWriteProtected && (changesMedia || (options.Verify && !options.VerifyOnly)))
            throw new UsageException(changesMedia ? "--rw" : "--verify",
                $"the namespace is write protected (ro=1), and this run {(changesMedia ? $"{(options.HasWrites ? "writes" : "trims")} (rw={BenchOptionParser.PatternName(options.Pattern)})" : "writes (the --verify lay-out)")}; read it (--rw=read, randread or --verify_only) or open it without ro=1");
        if (options.Verify && !target.RetainsData)
            throw new UsageException(options.VerifyOnly ? "--verify_only" : "--verify",
                "the device keeps no data (null: discards every write), so there is nothing to read back and check; use mem: or emu:PATH");
        CheckBufferMemory(options, g);

        if (options.PollMode != Driver.PollMode.Spin)
        {
            if (target is not NvmeBenchTarget nvme)
                throw new UsageException("--poll", $"the {target.EngineName} engine waits in the kernel (io_uring_enter); --poll chooses how the driver's queue pairs wait (emu:, mem:, null:, pci:, tcp:)");
            if (nvme.Controller.CompletionInterruptsUnsupportedReason is { } noInterrupts)
                throw new UsageException("--poll", $"{options.PollMode.ToString().ToLowerInvariant()} sleeps on a completion interrupt, but {noInterrupts}; use --poll=spin");
        }
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
            MaxBlocksPerIo: options.MaxBlockSizeBytes / lbs,
            WritePract: pi && (options.Pract || !hostGenerate),
            ReadPract: pi && options.Pract && !hostVerify,
            Checks: checks,
            AppTag: options.AppTag,
            AppTagMask: options.AppTagMask,
            StorageTag: options.StorageTag,
            HostGenerate: hostGenerate,
            HostVerify: hostVerify,
            HostChecks: hostVerify ? PiChecks.Guard | PiChecks.ApplicationTag | PiChecks.ReferenceTag | (g.StorageTagBits > 0 ? PiChecks.StorageTag : PiChecks.None) : PiChecks.None,
            PollMode: options.PollMode);
        return new BenchPlan(options, g, settings, offset / lbs, size / lbs, hostPi, checks, groupId);
    }

    /// <summary>
    /// The I/O buffers the job's clones hold: per slot one of the largest block size plus its metadata, as DMA memory,
    /// and a host copy (the run checks the jobs that run at once together).
    /// </summary>
    public long BufferBytes() => BufferBytes(Options, Geometry);

    private static long BufferBytes(BenchOptions options, NamespaceGeometry g)
    {
        long bs = options.MaxBlockSizeBytes;
        long perIo = 2L * bs + bs / g.BlockSize * g.MetadataSize;
        return perIo * options.IoDepth * options.NumJobs;
    }

    // Every job holds --iodepth I/O buffers of the largest --bs plus metadata, as DMA memory and a
    // host copy: refuse what the machine cannot hold rather than fail (or be OOM-killed) mid-start.
    private static void CheckBufferMemory(BenchOptions options, NamespaceGeometry g)
    {
        long bytes = BufferBytes(options, g);
        try
        {
            Queues.HostMemory.EnsureFits(bytes, $"{options.NumJobs} job(s) x --iodepth {options.IoDepth} x --bs {options.MaxBlockSizeBytes} (DMA and host buffers)",
                "lower --iodepth, --bs or --numjobs", "options");
        }
        catch (ArgumentException e)
        {
            throw new UsageException("--iodepth", Engines.DeviceSpec.MessageOf(e), e);
        }
    }
}
