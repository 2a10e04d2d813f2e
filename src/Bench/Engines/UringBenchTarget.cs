using System.Globalization;
using PolledNvme.Bench.Options;
using PolledNvme.Uring;

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
    private readonly bool _writes;
    private NativeFile? _lockHolder;
    private long? _layOutTo;

    /// <summary>
    /// Reads the geometry of the file a parsed <c>uring:</c> string names and locks it for one
    /// writer (<paramref name="writes"/>) or shared with other readers. A file that <c>size=</c>
    /// asks to lay out (missing or shorter) is measured as it will be, and locked and laid out by
    /// <see cref="Prepare"/>, after the run's flags have been checked against it.
    /// </summary>
    public UringBenchTarget(UringDeviceOptions options, bool writes = true)
    {
        Path = options.Path;
        Direct = options.Direct;
        _writes = writes;
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
            // The lock holder keeps the file's lock for the whole run (the jobs' own descriptors
            // need none): exclusive when the run writes, shared when it only reads.
            _lockHolder = NativeFile.OpenLocked(Path, writable: true, direct: Direct, create: false, writes ? FileLockMode.Exclusive : FileLockMode.Shared);
            sector = Direct ? Math.Max(UringDeviceOptions.SectorSize, _lockHolder.DirectAlignment) : UringDeviceOptions.SectorSize;
            length = _lockHolder.Length;
        }
        if (length < sector)
        {
            _lockHolder?.Dispose();
            throw new UsageException("--device", $"uring: '{Path}' has {length} bytes, less than one {sector}-byte sector; give size=SIZE to lay it out");
        }
        Geometry = new NamespaceGeometry(sector, 0, length / sector, 0, 0, false, false, 0);
        Description = $"{Path} ({length} bytes, {(Direct ? "O_DIRECT" : "buffered")}, io_uring)";
    }

    /// <summary>The file or block device.</summary>
    public string Path { get; }
    /// <summary>The descriptor that holds the file's lock (no ring registers it), which the jobs' descriptors must match.</summary>
    internal NativeFile LockHolder => _lockHolder ?? throw new InvalidOperationException($"'{Path}' is laid out and locked by Prepare(), before any job opens.");
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
    public bool IsWriteProtected => false;   // a file that cannot be written fails to open
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
    public void Prepare(Action<long, long>? progress = null)
    {
        if (_layOutTo is not { } size)
            return;
        // Laying out writes the file whatever the run does: exclusively, then shared again for a read-only run's readers.
        _lockHolder = NativeFile.OpenLocked(Path, writable: true, direct: Direct, create: true, FileLockMode.Exclusive);
        UringFileEngine.PrepareFile(Path, size, progress);
        if (!_writes)
            FileLock.Acquire(_lockHolder, FileLockMode.Shared);
        _layOutTo = null;
    }

    /// <inheritdoc />
    public void Dispose() => _lockHolder?.Dispose();

    /// <inheritdoc />
    public override string ToString() => Description.ToString(CultureInfo.InvariantCulture);
}
