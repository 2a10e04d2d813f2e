using System.Numerics;

namespace PolledNvme.Protection;

/// <summary>
/// The namespace-level part of end-to-end protection: block and metadata sizes, guard format,
/// PI type, tuple placement, storage tag size and buffer layout. Validated at construction;
/// immutable, so one instance per namespace format is shared by every I/O.
/// </summary>
/// <remarks>
/// <see cref="PiType.None"/> describes a format without PI (metadata, if any, is opaque). It
/// requires the <see cref="PiGuardFormat.Guard16"/> value (PIF 0, the field's "not used"
/// value) and STS 0; <see cref="Location"/> is then ignored, <see cref="TupleSize"/>,
/// <see cref="TupleOffset"/> and both tag widths are 0, and a context on it may check nothing.
/// </remarks>
public sealed class ProtectionFormat
{
    /// <summary>Smallest logical block size (LBADS 9).</summary>
    public const int MinBlockSize = 512;

    /// <summary>Largest logical block size this engine supports (LBADS 16).</summary>
    public const int MaxBlockSize = 65536;

    /// <summary>Smallest block size for the 32b and 64b guard formats (NVM CS 1.2 §5.3.1, PI.md §1).</summary>
    public const int MinExtendedGuardBlockSize = 4096;

    /// <summary>Largest metadata size: LBAF.MS is a 16-bit field (PI.md §3).</summary>
    public const int MaxMetadataSize = ushort.MaxValue;

    /// <summary>Validates and creates a format; every rule broken throws its own <see cref="ArgumentException"/>.</summary>
    /// <param name="blockSize">Logical block (data) size in bytes: a power of two, 512..65536.</param>
    /// <param name="metadataSize">Metadata bytes per block (MS), 0..65535; at least the tuple size when PI is on.</param>
    /// <param name="guardFormat">The guard format (PIF).</param>
    /// <param name="type">The PI type (DPS[2:0]); <see cref="PiType.None"/> for no PI.</param>
    /// <param name="location">Tuple in the first or last bytes of the metadata (PIL).</param>
    /// <param name="storageTagSize">STS: 0..32 (16b), 16..64 (32b), 0..48 (64b).</param>
    /// <param name="layout">Extended LBA (interleaved) or separate metadata buffer.</param>
    public ProtectionFormat(int blockSize, int metadataSize, PiGuardFormat guardFormat, PiType type,
        PiLocation location = PiLocation.Last, int storageTagSize = 0, MetadataLayout layout = MetadataLayout.Interleaved)
    {
        if (blockSize < MinBlockSize || blockSize > MaxBlockSize || !BitOperations.IsPow2(blockSize))
            throw new ArgumentException($"Block size must be a power of two from {MinBlockSize} to {MaxBlockSize} bytes (LBADS 9..16); got {blockSize}.", nameof(blockSize));
        if (metadataSize < 0 || metadataSize > MaxMetadataSize)
            throw new ArgumentException($"Metadata size must be 0..{MaxMetadataSize} bytes (LBAF.MS is 16 bits); got {metadataSize}.", nameof(metadataSize));
        if (!PiGuardFormats.IsDefined(guardFormat))
            throw new ArgumentException($"Unknown PI guard format {(byte)guardFormat} (PIF must be 0, 1 or 2).", nameof(guardFormat));
        if (type > PiType.Type3)
            throw new ArgumentException($"Unknown PI type {(byte)type} (DPS[2:0] must be 0..3).", nameof(type));
        if (location > PiLocation.First)
            throw new ArgumentException($"Unknown PI location {(byte)location} (PIL must be 0 or 1).", nameof(location));
        if (layout > MetadataLayout.Separate)
            throw new ArgumentException($"Unknown metadata layout {(byte)layout}.", nameof(layout));

        if (type == PiType.None)
        {
            if (guardFormat != PiGuardFormat.Guard16)
                throw new ArgumentException($"PiType.None means no protection information, so the guard format must be Guard16 (PIF 0); got {guardFormat}.", nameof(guardFormat));
            if (storageTagSize != 0)
                throw new ArgumentException($"PiType.None means no protection information, so STS must be 0; got {storageTagSize}.", nameof(storageTagSize));
        }
        else
        {
            int tupleSize = PiGuardFormats.TupleSize(guardFormat);
            if (metadataSize < tupleSize)
                throw new ArgumentException($"PI with the {PiGuardFormats.Name(guardFormat)} needs at least {tupleSize} metadata bytes per block (the tuple size); got {metadataSize}.", nameof(metadataSize));
            if (guardFormat != PiGuardFormat.Guard16 && blockSize < MinExtendedGuardBlockSize)
                throw new ArgumentException($"The {PiGuardFormats.Name(guardFormat)} format needs a block size of at least {MinExtendedGuardBlockSize} bytes (NVM CS 1.2 §5.3.1); got {blockSize}.", nameof(blockSize));
            int minSts = PiGuardFormats.MinStorageTagSize(guardFormat), maxSts = PiGuardFormats.MaxStorageTagSize(guardFormat);
            if (storageTagSize < minSts || storageTagSize > maxSts)
                throw new ArgumentException($"STS for the {PiGuardFormats.Name(guardFormat)} format must be {minSts}..{maxSts} bits; got {storageTagSize}.", nameof(storageTagSize));
        }

        BlockSize = blockSize;
        MetadataSize = metadataSize;
        GuardFormat = guardFormat;
        Type = type;
        Location = location;
        StorageTagSize = storageTagSize;
        Layout = layout;
        if (type != PiType.None)
        {
            TupleSize = PiGuardFormats.TupleSize(guardFormat);
            TupleOffset = location == PiLocation.First ? 0 : metadataSize - TupleSize;
            ReferenceTagBits = PiGuardFormats.SpaceBits(guardFormat) - storageTagSize;
        }
        ReferenceTagMask = AllOnes(ReferenceTagBits);
        StorageTagMask = AllOnes(storageTagSize);
    }

    /// <summary>Logical block (data) size in bytes.</summary>
    public int BlockSize { get; }

    /// <summary>Metadata bytes per block (MS).</summary>
    public int MetadataSize { get; }

    /// <summary>The guard format (PIF).</summary>
    public PiGuardFormat GuardFormat { get; }

    /// <summary>The PI type; <see cref="PiType.None"/> when the format carries no PI.</summary>
    public PiType Type { get; }

    /// <summary>Tuple in the first or last bytes of each block's metadata.</summary>
    public PiLocation Location { get; }

    /// <summary>STS: bits of the storage+reference space that form the storage tag.</summary>
    public int StorageTagSize { get; }

    /// <summary>Interleaved (extended LBA) or separate metadata.</summary>
    public MetadataLayout Layout { get; }

    /// <summary>Whether blocks carry a PI tuple (<see cref="Type"/> is not None).</summary>
    public bool HasProtection => Type != PiType.None;

    /// <summary>Bytes of one tuple: 8 (16b guard) or 16 (32b, 64b guard); 0 without PI.</summary>
    public int TupleSize { get; }

    /// <summary>
    /// Offset of the tuple in each block's metadata: 0 when first, MS - TupleSize when last.
    /// It is also the number of metadata bytes the guard covers (PI.md §1, guard coverage).
    /// </summary>
    public int TupleOffset { get; }

    /// <summary>Width of the reference tag: space bits (32, 80, 48) minus STS; 0 without PI.</summary>
    public int ReferenceTagBits { get; }

    /// <summary>All ones in the low <see cref="ReferenceTagBits"/> bits.</summary>
    public ulong ReferenceTagMask { get; }

    /// <summary>All ones in the low <see cref="StorageTagSize"/> bits.</summary>
    public ulong StorageTagMask { get; }

    /// <summary>Data plus metadata bytes per block (the extended LBA size).</summary>
    public int ExtendedBlockSize => BlockSize + MetadataSize;

    /// <summary>
    /// The reference tag of block <paramref name="blockIndex"/> of an I/O whose initial reference
    /// tag is <paramref name="initialReferenceTag"/>: incremented and wrapped at the reference tag
    /// width for types 1 and 2, unchanged for type 3 (PI.md §5).
    /// </summary>
    public ulong ReferenceTagOfBlock(ulong initialReferenceTag, int blockIndex) => PiTagPlan.ReferenceTag(this, initialReferenceTag, blockIndex);

    /// <summary>Bytes of the data buffer for <paramref name="blocks"/> blocks in <see cref="Layout"/>.</summary>
    public int DataBytes(int blocks)
        => BufferBytes(blocks, Layout == MetadataLayout.Interleaved ? ExtendedBlockSize : BlockSize);

    /// <summary>Bytes of the separate metadata buffer for <paramref name="blocks"/> blocks (0 when interleaved).</summary>
    public int MetadataBytes(int blocks)
        => BufferBytes(blocks, Layout == MetadataLayout.Separate ? MetadataSize : 0);

    /// <inheritdoc/>
    public override string ToString()
        => HasProtection
            ? $"{BlockSize}+{MetadataSize} {Type} {PiGuardFormats.Name(GuardFormat)} PI {Location} STS {StorageTagSize} {Layout}"
            : $"{BlockSize}+{MetadataSize} no PI {Layout}";

    internal static int BufferBytes(int blocks, int bytesPerBlock)
    {
        if (blocks < 0)
            throw new ArgumentOutOfRangeException(nameof(blocks), blocks, "Block count must not be negative.");
        long bytes = (long)blocks * bytesPerBlock;
        if (bytes > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(blocks), blocks, $"{blocks} blocks of {bytesPerBlock} bytes exceed the largest buffer a span can describe ({int.MaxValue} bytes).");
        return (int)bytes;
    }

    private static ulong AllOnes(int bits) => bits >= 64 ? ulong.MaxValue : (1UL << bits) - 1;
}
