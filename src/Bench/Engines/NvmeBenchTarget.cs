using PolledNvme.Emulation.Media;
using PolledNvme.Driver;
using PolledNvme.Protection;

namespace PolledNvme.Bench.Engines;

/// <summary>
/// The benchmark over our driver: an <see cref="NvmeController"/> opened from the device string
/// (<c>emu:</c>, <c>mem:</c>, <c>null:</c>, <c>pci:</c>) and one of its namespaces; every job
/// gets its own <see cref="IoQueuePair"/>.
/// </summary>
public sealed class NvmeBenchTarget : IBenchTarget
{
    private readonly bool _ownsController;
    private readonly string? _deleteOnDispose;

    /// <summary>Wraps an opened controller.</summary>
    /// <param name="controller">The controller.</param>
    /// <param name="nsid">Namespace to use (0 = the first active one).</param>
    /// <param name="ownsController">Dispose the controller with the target.</param>
    /// <param name="deleteOnDispose">A backing file to delete afterwards (the default temp device).</param>
    public NvmeBenchTarget(NvmeController controller, uint nsid = 0, bool ownsController = true, string? deleteOnDispose = null)
    {
        Controller = controller;
        _ownsController = ownsController;
        _deleteOnDispose = deleteOnDispose;
        if (controller.Namespaces.Count == 0)
            throw new InvalidOperationException($"{controller.Address} has no active namespace.");
        Namespace = nsid == 0 ? controller.Namespaces[0] : controller.GetNamespace(nsid);
        var ns = Namespace;
        if (ns.PiType != PiType.None && ns.ProtectionFormat is null)
            throw new InvalidOperationException($"namespace {ns.Id}: {ns.ProtectionFormatError}");
        Geometry = new NamespaceGeometry(ns.BlockSize, ns.MetadataSize, (long)ns.BlockCount, (int)ns.PiType,
            (int)ns.GuardFormat, ns.PiLocation == PiLocation.First, ns.IsExtended, ns.StorageTagSize);
        Description = $"{controller.Address} ({controller.Identify.ModelNumber}), {ns}";
    }

    /// <summary>The controller.</summary>
    public NvmeController Controller { get; }
    /// <summary>The namespace the jobs use.</summary>
    public Namespace Namespace { get; }
    /// <inheritdoc />
    public string Description { get; }
    /// <inheritdoc />
    public string EngineName => Controller.Address.StartsWith("pci:", StringComparison.Ordinal) ? "nvme-vfio" : "nvme-emu";
    /// <inheritdoc />
    public NamespaceGeometry Geometry { get; }
    /// <inheritdoc />
    public bool SupportsPi => true;
    /// <inheritdoc />
    public bool RetainsData { get; init; } = true;
    /// <inheritdoc />
    public bool IsWriteProtected => Namespace.IsWriteProtected;
    /// <inheritdoc />
    public bool YieldWhenIdle => !Controller.Address.StartsWith("pci:", StringComparison.Ordinal);
    /// <inheritdoc />
    public int MaxJobs => Controller.MaxIoQueuePairs;
    /// <inheritdoc />
    public int MaxQueueDepth => Controller.MaxQueueEntries - 1;
    /// <inheritdoc />
    public int MaxIoBytes => (int)Math.Min(int.MaxValue, Controller.MaxTransferBytes / Math.Max(1L, Namespace.DataBytes(1, false)) * Namespace.BlockSize);

    /// <inheritdoc />
    public void Prepare(Action<long, long>? progress = null) { }   // the controller was opened ready

    /// <inheritdoc />
    public string? TrimUnsupportedReason => (Controller.Identify.Oncs & Driver.Spec.IdentifyController.OncsDatasetManagement) != 0
        ? null
        : $"{Controller.Address} does not support Dataset Management (Identify Controller ONCS bit 2 is 0)";

    /// <inheritdoc />
    public IIoEngine OpenJob(int jobIndex, JobIoSettings settings, IIoCompletionSink sink)
        => new NvmeJobEngine(this, settings, sink);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsController) Controller.Dispose();
        if (_deleteOnDispose is not null)
            TemporaryFiles.Delete(_deleteOnDispose, EmulatedImageFiles.FormatRecordOf(_deleteOnDispose));   // the image and its format record
    }
}
