using System.Globalization;
using PolledNvme.Bench.Options;
using PolledNvme.Queues.Uring;

namespace PolledNvme.Bench.Engines;

/// <summary>
/// <c>uring:PATH[,direct=0|1][,size=SIZE]</c>: the kernel's path, a file or block device read and
/// written through our io_uring binding, for side-by-side numbers with the driver and with fio.
/// A missing or short file is laid out with written (non-hole) data, like fio does, once the run's
/// flags have been checked (<see cref="Prepare"/>). The
/// "namespace" is the file in 512-byte sectors (the device's logical block for O_DIRECT); no PI.
/// </summary>
public sealed class UringBenchTarget : IBenchTarget
{
    private long? _layOutTo;

    /// <summary>
    /// Reads the geometry of the file a parsed <c>uring:</c> string names. A file that <c>size=</c>
    /// asks to lay out (missing or shorter) is measured as it will be and laid out by
    /// <see cref="Prepare"/>, after the run's flags have been checked against it.
    /// </summary>
    public UringBenchTarget(UringDeviceOptions options)
    {
        Path = options.Path;
        Direct = options.Direct;
        bool file = !Path.StartsWith("/dev/", StringComparison.Ordinal);
        long existing = File.Exists(Path) ? new FileInfo(Path).Length : -1;
        int sector;
        long length;
        if (file && options.Size is { } size && existing < size)
        {
            _layOutTo = size;
            length = size;
            sector = Direct ? NativeFile.FileDirectAlignment : UringDeviceOptions.SectorSize;
        }
        else
        {
            using var probe = NativeFile.Open(Path, writable: false, direct: Direct);
            sector = Direct ? Math.Max(UringDeviceOptions.SectorSize, probe.DirectAlignment) : UringDeviceOptions.SectorSize;
            length = probe.Length;
        }
        if (length < sector)
            throw new UsageException("--device", $"uring: '{Path}' has {length} bytes, less than one {sector}-byte sector; give size=SIZE to lay it out");
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
    public bool RetainsData => true;
    /// <inheritdoc />
    public bool YieldWhenIdle => false;
    /// <inheritdoc />
    public int MaxQueueDepth => 4096;
    /// <inheritdoc />
    public int MaxJobs => 256;
    /// <inheritdoc />
    public int MaxIoBytes => 16 << 20;

    /// <inheritdoc />
    public IIoEngine OpenJob(int jobIndex, JobIoSettings settings, IIoCompletionSink sink)
        => new UringJobEngine(this, settings, sink);

    /// <inheritdoc />
    public void Prepare()
    {
        if (_layOutTo is { } size)
            UringFileEngine.PrepareFile(Path, size);
        _layOutTo = null;
    }

    /// <inheritdoc />
    public void Dispose() { }

    /// <inheritdoc />
    public override string ToString() => Description.ToString(CultureInfo.InvariantCulture);
}
