using System.Globalization;
using PolledNvme.Bench.Options;
using PolledNvme.Queues.Uring;

namespace PolledNvme.Bench.Engines;

/// <summary>
/// <c>uring:PATH[,direct=0|1][,size=SIZE]</c>: the kernel's path, a file or block device read and
/// written through our io_uring binding, for side-by-side numbers with the driver and with fio.
/// A missing or short file is laid out first with written (non-hole) data, like fio does. The
/// "namespace" is the file in 512-byte sectors (the device's logical block for O_DIRECT); no PI.
/// </summary>
public sealed class UringBenchTarget : IBenchTarget
{
    private readonly NativeFile _probe;

    /// <summary>Parses the device string and opens (or lays out) the file; <paramref name="layoutProgress"/> hears of the layout's bytes done and in all.</summary>
    public UringBenchTarget(string device, Action<long, long>? layoutProgress = null)
    {
        string spec = device["uring:".Length..];
        string[] parts = spec.Split(',');
        Path = parts[0];
        if (Path.Length == 0) throw new UsageException("--device", "uring: needs a file or block device path, e.g. uring:/tmp/fio.img");
        long? size = null;
        foreach (var part in parts.Skip(1))
        {
            var kv = part.Split('=', 2);
            switch (kv[0])
            {
                case "direct" when kv.Length == 2 && kv[1] is "0" or "1":
                    Direct = kv[1] == "1";
                    break;
                case "size" when kv.Length == 2:
                    size = FioValues.ParseSize("--device", kv[1]);
                    break;
                default:
                    throw new UsageException("--device", $"uring: unknown option '{part}' (accepted: direct=0|1, size=SIZE)");
            }
        }
        if (size is { } s && !Path.StartsWith("/dev/", StringComparison.Ordinal))
            UringFileEngine.PrepareFile(Path, s, layoutProgress);
        else if (!File.Exists(Path))
            throw new UsageException("--device", $"'{Path}' does not exist; give size=SIZE to create it");
        _probe = NativeFile.Open(Path, writable: true, direct: Direct);
        int sector = Direct ? Math.Max(512, _probe.DirectAlignment) : 512;
        long length = _probe.Length;
        Geometry = new NamespaceGeometry(sector, 0, length / sector, 0, 0, false, false, 0);
        Description = $"{Path} ({length} bytes, {(Direct ? "O_DIRECT" : "buffered")}, io_uring)";
    }

    /// <summary>The file or block device.</summary>
    public string Path { get; }
    /// <summary>Opened with O_DIRECT.</summary>
    public bool Direct { get; }
    /// <inheritdoc />
    public string Description { get; }
    /// <inheritdoc />
    public string EngineName => "io_uring";
    /// <inheritdoc />
    public NamespaceGeometry Geometry { get; }
    /// <inheritdoc />
    public bool SupportsPi => false;
    /// <inheritdoc />
    public bool YieldWhenIdle => false;
    /// <inheritdoc />
    public int MaxQueueDepth => 4096;
    /// <inheritdoc />
    public int MaxJobs => 256;
    /// <inheritdoc />
    public int MaxIoBytes => 16 << 20;

    /// <inheritdoc />
    public string? TrimUnsupportedReason => Path.StartsWith("/dev/", StringComparison.Ordinal)
        ? $"{Path} is a block device: trims through io_uring punch holes in files only"
        : null;

    /// <inheritdoc />
    public IIoEngine OpenJob(int jobIndex, JobIoSettings settings, IIoCompletionSink sink)
        => new UringJobEngine(this, settings, sink);

    /// <inheritdoc />
    public void Dispose() => _probe.Dispose();

    /// <inheritdoc />
    public override string ToString() => Description.ToString(CultureInfo.InvariantCulture);
}
