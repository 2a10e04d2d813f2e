using System.Buffers.Binary;
using System.Numerics;
using PolledNvme.Protection;

namespace PolledNvme.Driver.Emulated.Media;

/// <summary>
/// The LBA format a backing file was laid out for, kept in a 4 KiB trailer after the media
/// (data then metadata, QEMU's layout, stays at offset 0 so the image remains usable by
/// QEMU's nvme-ns). Checked on every open, so a file formatted for one format is never read
/// as another (QEMU's pitfall: stale metadata read as PI gives spurious protection errors).
/// </summary>
/// <remarks>
/// Trailer layout, little-endian: 0 magic "PNVMEFMT"; 8 version (u32); 12 record size (u32);
/// 16 media length (u64); 24 block count (u64); 32 LBADS (u8, log2); 33 PI type (u8);
/// 34 PIL (u8); 35 PIF (u8); 36 STS (u8); 37 MSET (u8); 38 MS (u16); 40 CRC-32C of bytes 0..39 (u32).
/// </remarks>
internal readonly record struct MediaFormatRecord(
    int BlockSize, int MetadataSize, int PiType, bool PiFirst, int GuardFormat, int StorageTagSize, bool ExtendedLba, long BlockCount)
{
    /// <summary>Bytes reserved for the trailer (one page, so O_DIRECT alignment of the media is unaffected).</summary>
    public const int TrailerSize = 4096;

    /// <summary>The only record version written and accepted.</summary>
    public const uint Version = 1;

    private const ulong Magic = 0x544D46454D564E50; // "PNVMEFMT" read as a little-endian u64
    private const int RecordSize = 44;

    /// <summary>Bytes of media: every block's data, then every block's metadata.</summary>
    public long MediaLength => BlockCount * (BlockSize + MetadataSize);

    /// <summary>Where the trailer starts: the media length rounded up to a page.</summary>
    public long TrailerOffset => (MediaLength + TrailerSize - 1) / TrailerSize * TrailerSize;

    /// <summary>The file length for this format: media plus trailer.</summary>
    public long FileLength => TrailerOffset + TrailerSize;

    /// <summary>Settings in the address syntax, e.g. <c>lbads=12,ms=16,pi=1,pil=0,pif=2,sts=0,mset=0,blocks=262144</c>.</summary>
    public override string ToString()
        => $"lbads={BitOperations.Log2((uint)BlockSize)},ms={MetadataSize},pi={PiType},pil={(PiFirst ? 1 : 0)},pif={GuardFormat},sts={StorageTagSize},mset={(ExtendedLba ? 1 : 0)},blocks={BlockCount}";

    /// <summary>Writes the record into a zeroed trailer page.</summary>
    public void WriteTo(Span<byte> trailer)
    {
        trailer[..TrailerSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(trailer, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[8..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[12..], RecordSize);
        BinaryPrimitives.WriteInt64LittleEndian(trailer[16..], MediaLength);
        BinaryPrimitives.WriteInt64LittleEndian(trailer[24..], BlockCount);
        trailer[32] = (byte)BitOperations.Log2((uint)BlockSize);
        trailer[33] = (byte)PiType;
        trailer[34] = PiFirst ? (byte)1 : (byte)0;
        trailer[35] = (byte)GuardFormat;
        trailer[36] = (byte)StorageTagSize;
        trailer[37] = ExtendedLba ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16LittleEndian(trailer[38..], (ushort)MetadataSize);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[40..], Crc32C.Compute(trailer[..40]));
    }

    /// <summary>
    /// Parses a trailer page. Returns false when there is no record (wrong magic); throws
    /// <see cref="InvalidDataException"/> when a record is there but damaged or of another version.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> trailer, string path, out MediaFormatRecord record)
    {
        record = default;
        if (trailer.Length < RecordSize || BinaryPrimitives.ReadUInt64LittleEndian(trailer) != Magic)
            return false;
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(trailer[40..]);
        if (crc != Crc32C.Compute(trailer[..40]))
            throw new InvalidDataException($"'{path}': the format record is damaged (CRC-32C mismatch); add format=1 to re-lay the file (erases it).");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(trailer[8..]);
        if (version != Version)
            throw new InvalidDataException($"'{path}': format record version {version} is not supported (this build reads version {Version}).");
        record = new MediaFormatRecord(
            BlockSize: 1 << trailer[32],
            MetadataSize: BinaryPrimitives.ReadUInt16LittleEndian(trailer[38..]),
            PiType: trailer[33],
            PiFirst: trailer[34] != 0,
            GuardFormat: trailer[35],
            StorageTagSize: trailer[36],
            ExtendedLba: trailer[37] != 0,
            BlockCount: BinaryPrimitives.ReadInt64LittleEndian(trailer[24..]));
        if (record.MediaLength != BinaryPrimitives.ReadInt64LittleEndian(trailer[16..]))
            throw new InvalidDataException($"'{path}': the format record's media length disagrees with its format ({record}).");
        return true;
    }
}

/// <summary>Media that records the format it was laid out for (see <see cref="MediaFormatRecord"/>).</summary>
internal interface IFormatRecordingMedia
{
    /// <summary>Format NVM: discards everything and re-lays the media for <paramref name="format"/>.</summary>
    void Reformat(MediaFormatRecord format);
}

/// <summary>A backing file was laid out for another LBA format than the one asked for.</summary>
public sealed class MediaFormatMismatchException : IOException
{
    /// <summary>Creates the exception with a message naming both formats and the fix.</summary>
    public MediaFormatMismatchException(string message) : base(message) { }
}
