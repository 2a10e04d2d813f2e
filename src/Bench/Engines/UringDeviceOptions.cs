using PolledNvme.Bench.Options;

namespace PolledNvme.Bench.Engines;

/// <summary>
/// A parsed <c>uring:PATH[,direct=0|1][,size=SIZE]</c> device string. Everything that can be
/// known without opening the file is checked here (keys, values, the path's kind, an empty file,
/// the space a lay-out needs), so a bad string is a usage error before any I/O.
/// </summary>
public sealed record UringDeviceOptions(string Path, bool Direct, long? Size)
{
    /// <summary>The scheme prefix.</summary>
    public const string Scheme = "uring:";

    /// <summary>The sector the file is addressed in (the logical block of O_DIRECT on most devices).</summary>
    public const int SectorSize = 512;

    /// <summary>Parses <paramref name="device"/> (which starts with <c>uring:</c>).</summary>
    /// <exception cref="UsageException">A bad key or value, a key given twice, a directory, a missing or empty file without <c>size=</c>; names <c>--device</c>.</exception>
    public static UringDeviceOptions Parse(string device)
    {
        string[] parts = device[Scheme.Length..].Split(',');
        string path = parts[0];
        if (path.Length == 0) throw Bad("needs a file or block device path, e.g. uring:/tmp/fio.img,size=1G");
        if (path.Contains('\0')) throw Bad("the path contains a NUL character");
        if (path.Contains('=')) throw Bad($"'{path}' looks like a key; the path comes first, e.g. uring:/tmp/fio.img,{path}");
        bool? direct = null;
        long? size = null;
        foreach (var part in parts.Skip(1))
        {
            if (part.Length == 0) continue;
            var kv = part.Split('=', 2);
            switch (kv[0])
            {
                case "direct" when kv.Length == 2:
                    if (direct is not null) throw Bad("direct= given twice; give each key once");
                    direct = kv[1] switch { "0" => false, "1" => true, _ => throw Bad($"direct={kv[1]}: accepted 0 (page cache) or 1 (O_DIRECT)") };
                    break;
                case "size" when kv.Length == 2:
                    if (size is not null) throw Bad("size= given twice; give each key once");
                    try
                    {
                        size = FioValues.ParseSize("size", kv[1]);
                    }
                    catch (UsageException e)
                    {
                        throw Bad($"size={kv[1]}: {e.Detail}");
                    }
                    if (size < SectorSize) throw Bad($"size={kv[1]}: at least one {SectorSize}-byte sector");
                    break;
                default:
                    throw Bad($"unknown option '{part}' (accepted: direct=0|1, size=SIZE)");
            }
        }

        bool blockDevice = path.StartsWith("/dev/", StringComparison.Ordinal);
        if (FileIdentity.Stat(path) is { } info)
        {
            if (info.IsDirectory) throw Bad($"'{path}' is a directory; give a file or a block device");
            if (!info.IsRegularFile && !info.IsBlockDevice) throw Bad($"'{path}' is neither a regular file nor a block device");
        }
        if (!File.Exists(path))
        {
            if (size is null || blockDevice) throw Bad($"'{path}' does not exist; give size=SIZE to create it");
            string? directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
            if (directory is not null && !Directory.Exists(directory))
                throw Bad($"the directory '{directory}' of '{path}' does not exist");
        }
        else if (!blockDevice && size is null && new FileInfo(path).Length < SectorSize)
        {
            throw Bad($"'{path}' has {new FileInfo(path).Length} bytes, less than one {SectorSize}-byte sector; give size=SIZE to lay it out");
        }
        if (size is { } s && !blockDevice)
            EnsureSpaceForLayout(path, s);
        return new UringDeviceOptions(path, direct ?? false, size);
    }

    // The lay-out writes every missing byte (no holes, as fio does): refuse what the file system cannot hold.
    private static void EnsureSpaceForLayout(string path, long size)
    {
        long existing = File.Exists(path) ? new FileInfo(path).Length : 0;
        if (size <= existing) return;
        long free;
        try
        {
            free = new DriveInfo(System.IO.Path.GetFullPath(path)).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return;   // unknown: the lay-out itself reports ENOSPC
        }
        if (size - existing > free)
            throw Bad($"size={size}: laying out '{path}' needs {Queues.HostMemory.Format(size - existing)} more, but its file system has {Queues.HostMemory.Format(free)} free");
    }

    private static UsageException Bad(string message) => new("--device", $"uring: {message}");
}
