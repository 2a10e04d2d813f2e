using PolledNvme.Driver.Spec;
using PolledNvme.Protection;

namespace PolledNvme.Driver;

/// <summary>
/// An active namespace as Identify (CNS 00h) and the NVM Command Set Identify (CNS 05h)
/// describe it: LBA formats, the current one (FLBAS incl. upper index bits), block and
/// metadata size, extended or separate metadata, PI type, location, guard format and storage
/// tag size (PI.md §3). Refreshed after Format NVM.
/// </summary>
public sealed class Namespace
{
    private NamespaceLbaFormat[] _formats = [];

    internal Namespace(NvmeController controller, uint id, in IdentifyNamespace identify, in NvmIdentifyNamespace nvmIdentify, bool extendedFormatsEnabled)
    {
        Controller = controller;
        Id = id;
        Update(identify, nvmIdentify, extendedFormatsEnabled);
    }

    /// <summary>Namespace identifier (NSID).</summary>
    public uint Id { get; }

    /// <summary>The controller this namespace belongs to: commands for it go only to that controller's queue pairs.</summary>
    public NvmeController Controller { get; }

    /// <summary>Size in logical blocks (NSZE).</summary>
    public ulong BlockCount { get; private set; }

    /// <summary>
    /// The namespace is write protected (Identify Namespace NSATTR bit 0): Write, Write Zeroes,
    /// Dataset Management and Format NVM fail with NamespaceIsWriteProtected.
    /// </summary>
    public bool IsWriteProtected { get; private set; }

    /// <summary>
    /// Namespace Optimal I/O Boundary (Identify Namespace NOIOB) in blocks, 0 when not reported:
    /// Read and Write commands that do not cross a multiple of it perform best. A queue pair
    /// created with <see cref="IoQueuePairOptions.SplitLargeTransfers"/> splits transfers there.
    /// </summary>
    public int OptimalIoBoundary { get; private set; }

    /// <summary>Supported LBA formats (NLBAF + 1 of them).</summary>
    public IReadOnlyList<NamespaceLbaFormat> LbaFormats => _formats;

    /// <summary>Current format index (FLBAS [3:0] with [6:5] as the upper bits).</summary>
    public int FormatIndex { get; private set; }

    /// <summary>The current LBA format.</summary>
    public NamespaceLbaFormat CurrentFormat => _formats[FormatIndex];

    /// <summary>Logical block data size in bytes (2^LBADS).</summary>
    public int BlockSize => CurrentFormat.BlockSize;

    /// <summary>Metadata bytes per block (MS).</summary>
    public int MetadataSize => CurrentFormat.MetadataSize;

    /// <summary>Metadata travels with the data in one extended-LBA buffer (FLBAS.MTELBA = 1) or in a separate buffer (MPTR).</summary>
    public MetadataLayout MetadataLayout { get; private set; }

    /// <summary>True for extended LBAs (interleaved metadata).</summary>
    public bool IsExtended => MetadataLayout == MetadataLayout.Interleaved;

    /// <summary>PI type (DPS [2:0]); <see cref="PiType.None"/> when PI is off.</summary>
    public PiType PiType { get; private set; }

    /// <summary>PI in the first (DPS.PIP = 1, legacy) or last bytes of the metadata.</summary>
    public PiLocation PiLocation { get; private set; }

    /// <summary>Guard format of the current format (ELBAF PIF; 16b when extended formats are not in use).</summary>
    public PiGuardFormat GuardFormat => CurrentFormat.GuardFormat;

    /// <summary>Storage tag size in bits (ELBAF STS).</summary>
    public int StorageTagSize => CurrentFormat.StorageTagSize;

    /// <summary>Logical Block Storage Tag Mask (LBSTM): which storage tag bits a check compares.</summary>
    public ulong StorageTagMask { get; private set; }

    /// <summary>PI tuple size (8 or 16) when PI is on, else 0.</summary>
    public int PiSize => PiType == PiType.None ? 0 : CurrentFormat.PiSize;

    /// <summary>Bits of the reference tag: the storage+reference space minus STS (PI.md §2).</summary>
    public int ReferenceTagBits => SpaceBits(GuardFormat) - StorageTagSize;

    /// <summary>The PI layout for the host-side engine, or null when PI is off (see <see cref="ProtectionFormatError"/> when it could not be built).</summary>
    public ProtectionFormat? ProtectionFormat { get; private set; }

    /// <summary>Why <see cref="ProtectionFormat"/> is null although PI is on; null otherwise.</summary>
    public string? ProtectionFormatError { get; private set; }

    /// <summary>Bytes of the data buffer for <paramref name="blocks"/> blocks (PI.md §5: with PRACT and MS == PI size no metadata is transferred).</summary>
    public long DataBytes(int blocks, bool pract)
        => (long)blocks * (IsExtended && !MetadataDropped(pract) ? BlockSize + MetadataSize : BlockSize);

    /// <summary>Bytes of the separate metadata buffer for <paramref name="blocks"/> blocks (0 for extended LBAs or when none is transferred).</summary>
    public long MetadataBytes(int blocks, bool pract)
        => IsExtended || MetadataDropped(pract) ? 0 : (long)blocks * MetadataSize;

    /// <summary>True when PRACT = 1 and the metadata is exactly the PI tuple: the controller inserts/strips it, the host moves data only.</summary>
    public bool MetadataDropped(bool pract) => pract && PiType != PiType.None && MetadataSize == CurrentFormat.PiSize;

    /// <inheritdoc/>
    public override string ToString()
        => $"nsid {Id}: {BlockCount} x {BlockSize}+{MetadataSize} ({(IsExtended ? "extended" : "separate")}), PI {PiType}"
           + (PiType == PiType.None ? "" : $" {GuardFormat} {PiLocation}, STS {StorageTagSize}");

    internal static int SpaceBits(PiGuardFormat format) => format switch
    {
        PiGuardFormat.Guard16 => 32,
        PiGuardFormat.Guard32 => 80,
        _ => 48,
    };

    internal void Update(in IdentifyNamespace identify, in NvmIdentifyNamespace nvmIdentify, bool extendedFormatsEnabled)
    {
        int count = identify.FormatCount;
        var formats = new NamespaceLbaFormat[count];
        for (int i = 0; i < count; i++)
        {
            LbaFormat lbaf = identify.GetLbaFormat(i);
            ExtendedLbaFormat elbaf = extendedFormatsEnabled ? nvmIdentify.GetExtendedLbaFormat(i) : default;
            formats[i] = new NamespaceLbaFormat(i, lbaf.BlockSize, lbaf.MetadataSize, (PiGuardFormat)elbaf.ProtectionFormat, elbaf.StorageTagSize, lbaf.RelativePerformance);
        }
        int index = identify.FormatIndex;
        if (index >= count)
            throw new NvmeProtocolFormatException($"Namespace {Id}: FLBAS selects LBA format {index} but only {count} are reported (NLBAF = {identify.Nlbaf}).");
        _formats = formats;
        FormatIndex = index;
        BlockCount = identify.Nsze;
        OptimalIoBoundary = identify.Noiob;
        IsWriteProtected = (identify.Nsattr & IdentifyNamespace.NsattrWriteProtected) != 0;
        MetadataLayout = identify.ExtendedMetadata ? MetadataLayout.Interleaved : MetadataLayout.Separate;
        PiType = (PiType)identify.PiType;
        PiLocation = identify.PiFirst ? PiLocation.First : PiLocation.Last;
        StorageTagMask = extendedFormatsEnabled ? nvmIdentify.Lbstm : 0;
        ProtectionFormat = null;
        ProtectionFormatError = null;
        if (PiType == PiType.None)
            return;
        if (identify.PiType > 3)
        {
            ProtectionFormatError = $"DPS reports reserved PI type {identify.PiType}.";
            return;
        }
        if ((int)GuardFormat == 3)
        {
            ProtectionFormatError = "PIF = 11b (qualified protection information format) is not supported.";
            return;
        }
        try
        {
            ProtectionFormat = new ProtectionFormat(BlockSize, MetadataSize, GuardFormat, PiType, PiLocation, StorageTagSize, MetadataLayout);
        }
        catch (ArgumentException e)
        {
            ProtectionFormatError = e.Message;
        }
    }
}

/// <summary>The controller reported an Identify page that contradicts itself.</summary>
public sealed class NvmeProtocolFormatException : Exception
{
    /// <summary>Creates the exception with a general message.</summary>
    public NvmeProtocolFormatException() : base("The controller reported an Identify page that contradicts itself.") { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public NvmeProtocolFormatException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public NvmeProtocolFormatException(string message) : base(message) { }
}
