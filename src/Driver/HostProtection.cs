using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// Host-side PI (DIX-style, PI.md §5 "PRACT=0"): the host generates PI while copying its data
/// into the DMA buffer before a write (the controller then checks per PRCHK), and verifies and
/// strips PI while copying a read back out. One pass over the data each way; no allocation.
/// The reference tag, app tag and storage tag come from the same <see cref="IoProtectionOptions"/>
/// the command carries, so host and controller agree.
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
        ProtectionFormat format = context.Format;
        Span<byte> meta = format.Layout == MetadataLayout.Separate ? RequireMetadata(ns, metadata, blocks).Span : Span<byte>.Empty;
        context.GenerateCopy(hostData, data.Span, meta, blocks);
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
        ProtectionFormat format = context.Format;
        ReadOnlySpan<byte> meta = format.Layout == MetadataLayout.Separate ? RequireMetadata(ns, metadata, blocks).Span : ReadOnlySpan<byte>.Empty;
        return context.VerifyCopy(data.Span, meta, hostData, blocks, out error);
    }

    private static ProtectionFormat RequireFormat(Namespace ns) => ns.ProtectionFormat ?? throw new InvalidOperationException(
        ns.PiType == PiType.None
            ? $"Namespace {ns.Id} is not formatted with protection information (DPS type 0); host PI needs a PI format."
            : $"Namespace {ns.Id}'s PI format cannot be handled on the host: {ns.ProtectionFormatError}");

    private static DmaBuffer RequireMetadata(Namespace ns, DmaBuffer? metadata, int blocks) => metadata ?? throw new ArgumentException(
        $"Namespace {ns.Id} keeps metadata in a separate buffer: {blocks} blocks need a metadata buffer of {(long)blocks * ns.MetadataSize} bytes.", nameof(metadata));
}
