using System.Globalization;
using PolledNvme.Bench.Options;

namespace PolledNvme.Bench.Engines;

/// <summary>
/// Which device a job runs on, from fio's options as pnvme reads them: <c>--device</c> (or a
/// <c>filename</c> that is a pnvme device string) as given; <c>ioengine=null</c> on <c>null:</c>
/// sized for the job; a file or block device path (fio's kernel engines, or no engine) on
/// <c>uring:PATH</c>, laid out to the job's size when short; a kernel engine without a filename
/// on fio's generated name <c>JOBNAME.0.0</c> in <c>directory</c>; otherwise the default device
/// (null). <c>direct</c>/<c>buffered</c> set the device's <c>direct=</c>.
/// </summary>
public static class JobDevices
{
    /// <summary>The device string of <paramref name="o"/>, or null for the default device.</summary>
    /// <exception cref="UsageException">The options name no usable device, or contradict the device string.</exception>
    public static string? Resolve(BenchOptions o)
    {
        string? device = o.Device;
        if (device is null && o.FileName is { } file && JobOptionHandlers.DeviceKinds.Any(k => file.StartsWith(k, StringComparison.Ordinal)))
            device = file;
        if (device is null)
        {
            if (o.IoEngine == IoEngines.Null)
            {
                // fio's null engine touches no file: the emulated controller without media, as large as the job's region.
                if (o.SizePercent is not null)
                    throw new UsageException("--size", "ioengine=null has no device to take a percentage of; give size in bytes");
                device = $"null:size={RegionEnd(o, o.SizeBytes ?? o.IoSizeBytes ?? (1L << 30))}";
            }
            else if (o.FileName is { } path)
            {
                // fio: a relative filename goes inside directory.
                device = Uring(o.Directory is { } dir && !Path.IsPathRooted(path) ? Path.Combine(dir, path) : path, o);
            }
            else if (IoEngines.IsKernel(o.IoEngine))
            {
                // fio's default file name: jobname.jobnumber.filenumber (pnvme: one file per job, shared by its clones).
                device = Uring(Path.Combine(o.Directory ?? ".", $"{o.Name}.0.0"), o);
            }
        }
        if (o.Direct is { } direct && device is not null)
            device = WithDirect(device, direct);
        return device;
    }

    /// <summary>
    /// Where the last clone's region ends: <c>offset + (numjobs - 1) × offset_increment + size</c>,
    /// the bytes a device made for the job must hold.
    /// </summary>
    /// <exception cref="UsageException">The sum is beyond what a byte offset can hold.</exception>
    public static long RegionEnd(BenchOptions o, long size)
    {
        long clones = o.NumJobs - 1;
        if ((o.OffsetIncrement > 0 && clones > (long.MaxValue - o.OffsetBytes) / o.OffsetIncrement)
            || size > long.MaxValue - o.OffsetBytes - clones * o.OffsetIncrement)
            throw new UsageException("--size", $"offset {o.OffsetBytes} + {clones} x offset_increment {o.OffsetIncrement} + size {size} is beyond 8191p");
        return o.OffsetBytes + clones * o.OffsetIncrement + size;
    }

    private static string Uring(string path, BenchOptions o)
    {
        if (path.Contains(',')) throw new UsageException("--filename", $"'{path}': pnvme device strings use ',' between options, so a file name cannot contain one");
        return o.SizeBytes is { } size && !path.StartsWith("/dev/", StringComparison.Ordinal)
            ? string.Create(CultureInfo.InvariantCulture, $"uring:{path},size={RegionEnd(o, size)}")
            : $"uring:{path}";
    }

    /// <summary>Sets <c>direct=</c> on a device string (refusing a contradiction, and direct=0 on pci:, which is always direct).</summary>
    public static string WithDirect(string device, bool direct)
    {
        string value = direct ? "1" : "0";
        if (device.StartsWith("pci:", StringComparison.Ordinal))
            return direct ? device : throw new UsageException("--direct", $"{device} is driven by pnvme through VFIO: its I/O never goes through a page cache (direct=0 cannot be honoured)");
        if (device.StartsWith("mem:", StringComparison.Ordinal) || device.StartsWith("null:", StringComparison.Ordinal))
            return device;   // no page cache in front of RAM or of no media: direct=0 and 1 run the same
        string[] parts = device.Split(',');
        for (int i = 1; i < parts.Length; i++)
        {
            if (!parts[i].StartsWith("direct=", StringComparison.Ordinal)) continue;
            if (parts[i] != "direct=" + value)
                throw new UsageException("--direct", $"direct={value} contradicts the device string '{device}'");
            return device;
        }
        return device + ",direct=" + value;
    }
}
