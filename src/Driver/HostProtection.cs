using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// Host-side PI (DIX-style, PI.md §5 "PRACT=0"): the host generates PI while copying its data
/// into the DMA buffer before a write (the controller then checks per PRCHK), and verifies and
/// strips PI while copying a read back out. One pass over the data each way; no allocation.
/// The reference tag, app tag and storage tag come from the same <see cref="IoProtectionOptions"/>
/// the command carries, so host and controller agree. The buffers are checked first: alive
/// (<see cref="ObjectDisposedException"/> whose ObjectName is the argument) and sized for
/// <c>blocks</c> blocks in the namespace's layout (<see cref="ArgumentException"/> naming the
/// argument); the namespace must have a PI format the host can handle.
/// </summary>
public static class HostProtection
{
    /// <summary>
    /// The engine context for an I/O of namespace <paramref name="ns"/> at <paramref name="slba"/>
    /// with <paramref name="pi"/>: checks from <see cref="IoProtectionOptions.Checks"/>, the
    /// command's initial reference tag, app tag/mask, storage tag and mask (LBSTM by default).
    /// </summary>
    public static ProtectionContext CreateContext(Namespace ns, in IoProtectionOptions pi, ulong slba)
    {
        ProtectionFormat format = RequireFormat(ns);
        ulong storageMask = pi.HasStorageTagMask ? pi.StorageTagMask : ns.StorageTagMask;
        return new ProtectionContext(format, pi.Checks, ProtectionCommandFields.InitialReferenceTag(ns, in pi, slba),
            pi.ApplicationTag, pi.ApplicationTagMask, pi.StorageTag, storageMask & format.StorageTagMask);
    }

    /// <summary>
    /// Copies <paramref name="blocks"/> blocks of host data (data only, BlockSize each) into
    /// <paramref name="data"/> (and <paramref name="metadata"/> for separate metadata) in the
    /// namespace's layout, generating PI on the way. Then write with PRACT = 0.
    /// </summary>
    public static void GenerateInto(Namespace ns, in IoProtectionOptions pi, ulong slba, ReadOnlySpan<byte> hostData, DmaBuffer data, DmaBuffer? metadata, int blocks)
    {
        ProtectionContext context = CreateContext(ns, in pi, slba);
        CheckBuffers(ns, "Host PI generation", data, metadata, hostData.Length, blocks);
        context.GenerateCopy(hostData, data.Span, metadata is null ? Span<byte>.Empty : metadata.Span, blocks);
    }

    /// <summary>
    /// Verifies the PI of <paramref name="blocks"/> blocks read with PRACT = 0 and copies their
    /// data (only) to <paramref name="hostData"/>; throws <see cref="ProtectionException"/>
    /// with the block, the kind, the expected and the actual value on the first failure.
    /// </summary>
    public static void VerifyFrom(Namespace ns, in IoProtectionOptions pi, ulong slba, DmaBuffer data, DmaBuffer? metadata, Span<byte> hostData, int blocks)
    {
        if (!TryVerifyFrom(ns, in pi, slba, data, metadata, hostData, blocks, out PiError error))
            throw new ProtectionException(error);
    }

    /// <summary>Like <see cref="VerifyFrom"/>, returning the first failure instead of throwing.</summary>
    public static bool TryVerifyFrom(Namespace ns, in IoProtectionOptions pi, ulong slba, DmaBuffer data, DmaBuffer? metadata, Span<byte> hostData, int blocks, out PiError error)
    {
        ProtectionContext context = CreateContext(ns, in pi, slba);
        CheckBuffers(ns, "Host PI verification", data, metadata, hostData.Length, blocks);
        if (context.VerifyCopy(data.Span, metadata is null ? ReadOnlySpan<byte>.Empty : metadata.Span, hostData, blocks, out error))
            return true;
        ns.Controller.Metrics.HostPiError(error.Kind);   // the pollednvme.pi.errors counter, source "host"
        return false;
    }

    private static ProtectionFormat RequireFormat(Namespace ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        return ns.ProtectionFormat ?? throw new InvalidOperationException(
            ns.PiType == PiType.None
                ? $"Namespace {ns.Id} is not formatted with protection information (DPS type 0); host PI needs a PI format."
                : $"Namespace {ns.Id}'s PI format cannot be handled on the host: {ns.ProtectionFormatError}");
    }

    /// <summary>
    /// The DMA buffers are alive and hold <paramref name="blocks"/> blocks in the namespace's
    /// layout (PRACT = 0: data and metadata as stored); the host span holds their data.
    /// </summary>
    private static void CheckBuffers(Namespace ns, string operation, DmaBuffer data, DmaBuffer? metadata, int hostLength, int blocks)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (blocks <= 0)
            throw new ArgumentOutOfRangeException(nameof(blocks), $"{operation} needs at least one block; got {blocks}.");
        DmaBufferChecks.RequireAlive(data, nameof(data));
        if (metadata is not null)
            DmaBufferChecks.RequireAlive(metadata, nameof(metadata));
        long dataBytes = ns.DataBytes(blocks, pract: false);
        long metadataBytes = ns.MetadataBytes(blocks, pract: false);
        if (!DmaBufferChecks.FitLayout(data, metadata, dataBytes, metadataBytes))
            DmaBufferChecks.ThrowBufferSizes(ns, operation, blocks, pract: false, data, metadata, dataBytes, metadataBytes);
        long hostBytes = (long)blocks * ns.BlockSize;
        if (hostLength < hostBytes)
            throw new ArgumentException($"{operation} of {blocks} blocks on namespace {ns.Id} needs {hostBytes} bytes of host data ({ns.BlockSize} per block, data only); the host span has {hostLength}.", "hostData");
    }
}
