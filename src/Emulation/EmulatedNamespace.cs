using PolledNvme.Emulation.Media;
using PolledNvme.Protection;

namespace PolledNvme.Emulation;

/// <summary>
/// One namespace: its LBA format table, the format in use (FLBAS, DPS) and the media. Blocks are
/// stored QEMU-style (all data, then all metadata), so the device always works on separate data
/// and metadata buffers internally, whatever layout the host uses. A deallocated block is stored
/// as zero data with a PI tuple of all FFh (NVM CS 1.0 §3.2.3.2.1; DLFEAT 001b), so the state
/// survives in a file backend and needs no side table.
/// </summary>
internal sealed class EmulatedNamespace : IDisposable
{
    private const int PatternBlocks = 256;
    private readonly IMediaBackend _media;
    private byte[] _deallocatedMetadata = [];

    /// <summary>Creates the namespace and its media; a new medium starts fully deallocated.</summary>
    public EmulatedNamespace(uint id, EmulatedNamespaceOptions options)
    {
        Id = id;
        Options = options;
        Formats = LbaFormatTable.Build(options, out int index);
        CapacityBytes = options.CapacityBytes;
        Select(index, options.ExtendedLba, options.PiType, options.PiFirst);
        ReadOnly = options.ReadOnly;
        _media = options.Backend switch
        {
            MediaBackendKind.Ram => new RamBackend(MediaFormat, _deallocatedMetadata),
            MediaBackendKind.Null => new NullBackend(MediaLength),
            // io_uring, locked, with a format record so a file laid out for another format is refused.
            _ => UringFileBackend.Open(options.FilePath!, MediaFormat, options.FormatMedia, out _, options.DirectIo, options.ReadOnly, _deallocatedMetadata),
        };
    }

    /// <summary>Write protected (ro=1): writes, deallocation and Format NVM fail with Namespace Is Write Protected.</summary>
    public bool ReadOnly { get; }

    /// <summary>The media (tests reach the file backend's fault seams through it).</summary>
    internal IMediaBackend Media => _media;

    /// <summary>The file backend when its I/O goes through io_uring (the asynchronous data path); null otherwise.</summary>
    public UringFileBackend? AsyncFile => _media as UringFileBackend is { UsesIoUring: true } file ? file : null;

    /// <summary>NSID.</summary>
    public uint Id { get; }

    /// <summary>The settings it was created with.</summary>
    public EmulatedNamespaceOptions Options { get; }

    /// <summary>Supported LBA formats (Identify LBAF/ELBAF).</summary>
    public EmulatedLbaFormat[] Formats { get; }

    /// <summary>Bytes of block data the namespace holds in any format.</summary>
    public long CapacityBytes { get; }

    /// <summary>Index of the format in use.</summary>
    public int FormatIndex { get; private set; }

    /// <summary>The format in use.</summary>
    public EmulatedLbaFormat Format { get; private set; }

    /// <summary>FLBAS bit 4: metadata travels interleaved with the data (MSET=1).</summary>
    public bool ExtendedLba { get; private set; }

    /// <summary>DPS type: 0 = no PI.</summary>
    public int PiType { get; private set; }

    /// <summary>DPS.PIP: PI in the first bytes of the metadata.</summary>
    public bool PiFirst { get; private set; }

    /// <summary>PI layout of the media (separate metadata), or null when PI is off.</summary>
    public ProtectionFormat? Protection { get; private set; }

    /// <summary>NSZE: logical blocks in the current format.</summary>
    public long BlockCount { get; private set; }

    /// <summary>Block data size.</summary>
    public int BlockSize => Format.BlockSize;

    /// <summary>Metadata bytes per block.</summary>
    public int MetadataSize => Format.MetadataSize;

    /// <summary>Whether the backend keeps what is written (false for the null backend).</summary>
    public bool RetainsData => _media.RetainsData;

    private long MediaLength => BlockCount * (BlockSize + MetadataSize);

    /// <summary>The format in use, as recorded in a backing file.</summary>
    private MediaFormatRecord MediaFormat
        => new(BlockSize, MetadataSize, PiType, PiFirst, Format.GuardFormat, Format.StorageTagSize, ExtendedLba, BlockCount);
    private long MetadataBase => BlockCount * BlockSize;

    /// <summary>
    /// Format NVM: switches format and PI settings; all blocks become deallocated. Atomic: when
    /// the media cannot be re-laid (it throws), the namespace keeps its old format and data.
    /// </summary>
    public void Reformat(int formatIndex, bool extendedLba, int piType, bool piFirst)
    {
        (int oldIndex, bool oldExtended, int oldPi, bool oldFirst) = (FormatIndex, ExtendedLba, PiType, PiFirst);
        Select(formatIndex, extendedLba, piType, piFirst);
        try
        {
            _media.Reformat(MediaFormat, _deallocatedMetadata);
        }
        catch
        {
            Select(oldIndex, oldExtended, oldPi, oldFirst);
            throw;
        }
    }

    /// <summary>The LBA a failed media access at byte <paramref name="offset"/> belongs to (for the Error Information log).</summary>
    public ulong LbaAt(long offset)
    {
        long lba = offset < MetadataBase ? offset / BlockSize : MetadataSize == 0 ? 0 : (offset - MetadataBase) / MetadataSize;
        return (ulong)Math.Clamp(lba, 0, Math.Max(0, BlockCount - 1));
    }

    private void Select(int formatIndex, bool extendedLba, int piType, bool piFirst)
    {
        FormatIndex = formatIndex;
        Format = Formats[formatIndex];
        ExtendedLba = extendedLba && Format.MetadataSize > 0;
        PiType = piType;
        PiFirst = piFirst;
        BlockCount = CapacityBytes / Format.BlockSize;
        Protection = piType == 0
            ? null
            : new ProtectionFormat(Format.BlockSize, Format.MetadataSize, (PiGuardFormat)Format.GuardFormat, (PiType)piType,
                piFirst ? PiLocation.First : PiLocation.Last, Format.StorageTagSize, MetadataLayout.Separate);
        int ms = Format.MetadataSize;
        _deallocatedMetadata = new byte[ms * PatternBlocks];
        if (Protection is { } pi)
            for (int b = 0; b < PatternBlocks; b++)
                _deallocatedMetadata.AsSpan(b * ms + pi.TupleOffset, pi.TupleSize).Fill(0xFF);
    }

    /// <summary>
    /// The stored bytes of <paramref name="count"/> blocks in place, when the media is memory
    /// (RAM): the data path then reads and writes them without a media buffer.
    /// </summary>
    public bool TryGetMediaView(long lba, int count, out Span<byte> data, out Span<byte> metadata)
    {
        if (_media is not RamBackend ram)
        {
            data = metadata = default;
            return false;
        }
        data = ram.Span(DataOffset(lba), count * BlockSize);
        metadata = MetadataSize == 0 ? default : ram.Span(MetadataOffset(lba), count * MetadataSize);
        return true;
    }

    /// <summary>Byte offset of block <paramref name="lba"/>'s data on the media.</summary>
    public long DataOffset(long lba) => lba * BlockSize;

    /// <summary>Byte offset of block <paramref name="lba"/>'s metadata on the media (after all data, QEMU's layout).</summary>
    public long MetadataOffset(long lba) => MetadataBase + lba * MetadataSize;

    /// <summary>Reads <paramref name="count"/> blocks: data, and metadata when the format has any.</summary>
    public void Read(long lba, int count, Span<byte> data, Span<byte> metadata)
    {
        _media.Read(lba * BlockSize, data[..(count * BlockSize)]);
        if (MetadataSize == 0)
            return;
        Span<byte> md = metadata[..(count * MetadataSize)];
        if (_media.RetainsData)
            _media.Read(MetadataBase + lba * MetadataSize, md);
        else
            FillDeallocatedMetadata(md);
    }

    /// <summary>
    /// Writes <paramref name="count"/> blocks of data and (when the format has any) metadata:
    /// the metadata first, so a crash between the two leaves new tuples over old data, which PI
    /// catches, never new data behind an old tuple that may switch the checks off (a deallocated
    /// block's). docs/EMULATED-CONTROLLER.md, "Crash safety", has the whole argument.
    /// </summary>
    public void Write(long lba, int count, ReadOnlySpan<byte> data, ReadOnlySpan<byte> metadata)
    {
        if (MetadataSize != 0)
            _media.Write(MetadataBase + lba * MetadataSize, metadata[..(count * MetadataSize)]);
        _media.Write(lba * BlockSize, data[..(count * BlockSize)]);
    }

    /// <summary>Writes only the metadata of <paramref name="count"/> blocks.</summary>
    public void WriteMetadata(long lba, int count, ReadOnlySpan<byte> metadata)
        => _media.Write(MetadataBase + lba * MetadataSize, metadata[..(count * MetadataSize)]);

    /// <summary>Zeroes data and all metadata (Write Zeroes with PRACT=0: the PI is all zeros too); the metadata first, as <see cref="Write"/>.</summary>
    public void Zero(long lba, long count)
    {
        if (MetadataSize != 0)
            _media.Zero(MetadataBase + lba * MetadataSize, count * MetadataSize);
        _media.Zero(lba * BlockSize, count * BlockSize);
    }

    /// <summary>
    /// Deallocates: data reads back as zeros, PI as all FFh, other metadata as zeros. The data is
    /// zeroed first: the all-FFh tuple switches every check off, so it may only be stored over zeros.
    /// </summary>
    public void Deallocate(long lba, long count)
    {
        _media.Zero(lba * BlockSize, count * BlockSize);
        DeallocateMetadata(lba, count);
    }

    /// <summary>Makes data durable.</summary>
    public void Flush() => _media.Flush();

    private void DeallocateMetadata(long lba, long count)
    {
        if (MetadataSize == 0 || !_media.RetainsData)
            return;
        while (count > 0)
        {
            int n = (int)Math.Min(count, PatternBlocks);
            _media.Write(MetadataBase + lba * MetadataSize, _deallocatedMetadata.AsSpan(0, n * MetadataSize));
            lba += n;
            count -= n;
        }
    }

    private void FillDeallocatedMetadata(Span<byte> metadata) => MediaLayout.Repeat(_deallocatedMetadata, metadata);

    /// <inheritdoc/>
    public void Dispose() => _media.Dispose();
}
