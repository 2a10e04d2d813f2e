namespace PolledNvme.Emulation;

/// <summary>Where an emulated namespace keeps its blocks.</summary>
public enum MediaBackendKind
{
    /// <summary>Native memory, lost when the controller is disposed.</summary>
    Ram,
    /// <summary>Nothing is stored: writes are dropped, reads return deallocated blocks (zeros, PI all FFh).</summary>
    Null,
    /// <summary>A file: all block data first, then all metadata (QEMU's nvme-ns layout).</summary>
    File,
}

/// <summary>
/// One namespace of the emulated controller, configured like QEMU's <c>nvme-ns</c> device
/// (<c>lbads</c>, <c>ms</c>, <c>mset</c>, <c>pi</c>, <c>pil</c>, <c>pif</c>) plus the storage tag size
/// <c>sts</c>. These settings pick the LBA format in use at start; Format NVM may switch to any
/// other format of the namespace's table (see <see cref="LbaFormatTable"/>).
/// </summary>
public sealed class EmulatedNamespaceOptions
{
    /// <summary>Logical block data size in bytes: 512 or 4096 (QEMU's <c>lbads</c> 9 or 12).</summary>
    public int BlockSize { get; set; } = 4096;

    /// <summary>Metadata bytes per block: 0, 8, 16 or 64 (QEMU's <c>ms</c>).</summary>
    public int MetadataSize { get; set; }

    /// <summary>Metadata travels at the end of each block in the host buffer (FLBAS bit 4, QEMU's <c>mset=1</c>); otherwise through MPTR.</summary>
    public bool ExtendedLba { get; set; }

    /// <summary>Protection information type 0 (off) to 3 (QEMU's <c>pi</c>).</summary>
    public int PiType { get; set; }

    /// <summary>PI in the first bytes of the metadata (QEMU's <c>pil=1</c>; legacy, NVM CS 1.0 obsoletes it).</summary>
    public bool PiFirst { get; set; }

    /// <summary>Protection information format (PIF): 0 = 16b guard, 1 = 32b guard, 2 = 64b guard.</summary>
    public int GuardFormat { get; set; }

    /// <summary>Storage tag size in bits (STS): 0-32 for 16b guard, 16-64 for 32b guard, 0-48 for 64b guard.</summary>
    public int StorageTagSize { get; set; }

    /// <summary>Capacity in bytes of block data; the block count is this divided by <see cref="BlockSize"/>.</summary>
    public long CapacityBytes { get; set; } = 64L << 20;

    /// <summary>The backend that stores the blocks.</summary>
    public MediaBackendKind Backend { get; set; } = MediaBackendKind.Ram;

    /// <summary>Path of the backing file when <see cref="Backend"/> is <see cref="MediaBackendKind.File"/>; created when missing.</summary>
    public string? FilePath { get; set; }

    /// <summary>
    /// Re-lay an existing backing file for these settings, erasing it (<c>format=1</c>). Without it,
    /// a file recorded for another LBA format is refused rather than misread.
    /// </summary>
    public bool FormatMedia { get; set; }

    /// <summary>
    /// Block data of a file backend bypasses the page cache (O_DIRECT) where the filesystem
    /// supports it (<c>direct=1</c>, the default). <c>direct=0</c> keeps everything in the page
    /// cache: faster on slow disks, and what the page-cache rows of <c>scripts/compare-fio.sh</c> measure.
    /// </summary>
    public bool DirectIo { get; set; } = true;

    /// <summary>
    /// Open the backing file read-only (<c>ro=1</c>): it is shared with other read-only users
    /// (a writer holds it alone), and the namespace is write protected: Write, Write Zeroes,
    /// deallocation and Format NVM fail with Namespace Is Write Protected (0h/20h).
    /// </summary>
    public bool ReadOnly { get; set; }

    /// <summary>
    /// Namespace Optimal I/O Boundary in blocks reported in Identify Namespace (NOIOB, <c>noiob</c>);
    /// 0 (default) reports none. A hint for hosts: commands are not refused for crossing it.
    /// </summary>
    public int OptimalIoBoundary { get; set; }

    /// <summary>Logical Block Storage Tag Mask reported in CNS 05h and applied to storage tag checks.</summary>
    public ulong StorageTagMask { get; set; } = ulong.MaxValue;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that breaks a rule.</summary>
    public void Validate()
    {
        if (BlockSize is not (512 or 4096))
            throw new ArgumentException($"lbads: block size {BlockSize} is not supported; accepted: 512 or 4096 bytes (lbads=9 or 12).", nameof(BlockSize));
        if (MetadataSize is not (0 or 8 or 16 or 64))
            throw new ArgumentException($"ms: metadata size {MetadataSize} is not supported; accepted: 0, 8, 16 or 64.", nameof(MetadataSize));
        if (PiType is < 0 or > 3)
            throw new ArgumentException($"pi: PI type {PiType} is not valid; accepted: 0 (off), 1, 2 or 3.", nameof(PiType));
        if (GuardFormat is < 0 or > 2)
            throw new ArgumentException($"pif: protection information format {GuardFormat} is not valid; accepted: 0 (16b guard), 1 (32b guard) or 2 (64b guard).", nameof(GuardFormat));
        LbaFormatTable.ValidateStorageTagSize(GuardFormat, StorageTagSize);
        if (GuardFormat != 0 && BlockSize < 4096)
            throw new ArgumentException($"pif: the {(GuardFormat == 1 ? 32 : 64)}b guard formats need 4096-byte blocks (NVM CS §5.3.1); lbads is {BlockSize}.", nameof(GuardFormat));
        if (PiType != 0)
        {
            int tuple = GuardFormat == 0 ? 8 : 16;
            if (MetadataSize < tuple)
                throw new ArgumentException($"ms: PI type {PiType} with pif={GuardFormat} needs at least {tuple} metadata bytes per block; ms is {MetadataSize}.", nameof(MetadataSize));
        }
        if (CapacityBytes <= 0 || CapacityBytes % BlockSize != 0)
            throw new ArgumentException($"size: capacity {CapacityBytes} must be a positive multiple of the block size {BlockSize}.", nameof(CapacityBytes));
        if (Backend == MediaBackendKind.File && string.IsNullOrEmpty(FilePath))
            throw new ArgumentException("path: a file backend needs a file path (emu:PATH).", nameof(FilePath));
        if (OptimalIoBoundary is < 0 or > ushort.MaxValue)
            throw new ArgumentException($"noiob: {OptimalIoBoundary} is not valid; accepted: 0 (none) to 65535 blocks (NOIOB is 16 bits).", nameof(OptimalIoBoundary));
        if (ReadOnly && FormatMedia)
            throw new ArgumentException("ro: a read-only namespace (ro=1) cannot re-lay its file (format=1); drop one of them.", nameof(ReadOnly));
    }

    /// <summary>A copy, so a running controller never sees later changes to the caller's object.</summary>
    public EmulatedNamespaceOptions Clone() => (EmulatedNamespaceOptions)MemberwiseClone();
}
