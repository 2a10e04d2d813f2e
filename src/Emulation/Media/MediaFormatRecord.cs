using System.Buffers.Binary;
using System.Numerics;
using PolledNvme.Protection;

namespace PolledNvme.Emulation.Media;

/// <summary>
/// The LBA format a backing file was laid out for, kept in a small sidecar file next to it
/// (<c>PATH.pnvmefmt</c>), so the image itself stays exactly QEMU's nvme-ns layout (data then
/// metadata; QEMU derives the block count and the metadata offset from the image size, so
/// nothing may be appended to it). Checked on every open, so a file formatted for one format
/// is never read as another (QEMU's pitfall: stale metadata read as PI gives spurious
/// protection errors).
/// </summary>
/// <remarks>
/// Record layout, 64 bytes, little-endian: 0 magic "PNVMEFMT"; 8 version (u32); 12 record size (u32);
/// 16 media length (u64); 24 block count (u64); 32 LBADS (u8, log2); 33 PI type (u8);
/// 34 PIL (u8); 35 PIF (u8); 36 STS (u8); 37 MSET (u8); 38 MS (u16); 40 CRC-32C (u32);
/// 44 inode of the image the record was written for (u64, version 2); 52..63 zero.
/// Version 1 (no inode) covers bytes 0..39 with its CRC; version 2 covers all 64 bytes with the
/// CRC field taken as zero. The inode decides an interrupted format (see <see cref="MediaFormatCommit"/>).
/// </remarks>
internal readonly record struct MediaFormatRecord(
    int BlockSize, int MetadataSize, int PiType, bool PiFirst, int GuardFormat, int StorageTagSize, bool ExtendedLba, long BlockCount)
{
    /// <summary>Bytes of the serialized record.</summary>
    public const int Size = 64;

    /// <summary>The record version written; version 1 (without the image inode) is still read.</summary>
    public const uint Version = 2;

    /// <summary>Appended to the image path to name the sidecar that holds the record.</summary>
    public const string SidecarSuffix = EmulatedImageFiles.FormatRecordSuffix;

    private const ulong Magic = 0x544D46454D564E50; // "PNVMEFMT" read as a little-endian u64
    private const int CrcOffset = 40;
    private const int InodeOffset = 44;

    /// <summary>Bytes of media, which is also the image file's length: every block's data, then every block's metadata.</summary>
    public long MediaLength => BlockCount * (BlockSize + MetadataSize);

    /// <summary>Where the metadata region starts: after every block's data.</summary>
    public long MetadataOffset => BlockCount * BlockSize;

    /// <summary>Settings in the address syntax, e.g. <c>lbads=12,ms=16,pi=1,pil=0,pif=2,sts=0,mset=0,blocks=262144</c>.</summary>
    public override string ToString()
        => $"lbads={BitOperations.Log2((uint)BlockSize)},ms={MetadataSize},pi={PiType},pil={(PiFirst ? 1 : 0)},pif={GuardFormat},sts={StorageTagSize},mset={(ExtendedLba ? 1 : 0)},blocks={BlockCount}";

    /// <summary>Serializes the record, naming the image inode it describes, into <see cref="Size"/> bytes.</summary>
    public void WriteTo(Span<byte> bytes, ulong imageInode)
    {
        bytes[..Size].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[8..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[12..], Size);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[16..], MediaLength);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[24..], BlockCount);
        bytes[32] = (byte)BitOperations.Log2((uint)BlockSize);
        bytes[33] = (byte)PiType;
        bytes[34] = PiFirst ? (byte)1 : (byte)0;
        bytes[35] = (byte)GuardFormat;
        bytes[36] = (byte)StorageTagSize;
        bytes[37] = ExtendedLba ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[38..], (ushort)MetadataSize);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[InodeOffset..], imageInode);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[CrcOffset..], Crc32C.Compute(bytes[..Size]));
    }

    /// <summary>
    /// Parses a serialized record and the image inode it names (0 for a version 1 record).
    /// Returns false when there is no record (too short or wrong magic); throws
    /// <see cref="MediaFormatRecordDamagedException"/> when a record is there but damaged or of an
    /// unknown version. <paramref name="path"/> is the record file, for the message.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> bytes, string path, out MediaFormatRecord record, out ulong imageInode)
    {
        record = default;
        imageInode = 0;
        if (bytes.Length < Size || BinaryPrimitives.ReadUInt64LittleEndian(bytes) != Magic)
            return false;
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(bytes[CrcOffset..]);
        if (crc != ExpectedCrc(bytes[..Size], version))
            throw Damaged(path, "it is damaged (CRC-32C mismatch)");
        if (version is not (1 or Version))
            throw Damaged(path, $"its version {version} is not one this build reads (1 and {Version})");
        if (bytes[32] is < 9 or > 16)
            throw Damaged(path, $"its LBADS {bytes[32]} is outside 9..16");
        record = new MediaFormatRecord(
            BlockSize: 1 << bytes[32],
            MetadataSize: BinaryPrimitives.ReadUInt16LittleEndian(bytes[38..]),
            PiType: bytes[33],
            PiFirst: bytes[34] != 0,
            GuardFormat: bytes[35],
            StorageTagSize: bytes[36],
            ExtendedLba: bytes[37] != 0,
            BlockCount: BinaryPrimitives.ReadInt64LittleEndian(bytes[24..]));
        if (record.BlockCount <= 0 || record.MediaLength != BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]))
            throw Damaged(path, $"its media length disagrees with its format ({record})");
        imageInode = version == 1 ? 0 : BinaryPrimitives.ReadUInt64LittleEndian(bytes[InodeOffset..]);
        return true;
    }

    /// <summary>Version 1: CRC of bytes 0..39. Version 2: CRC of all 64 bytes with the CRC field as zero.</summary>
    private static uint ExpectedCrc(ReadOnlySpan<byte> record, uint version)
    {
        if (version == 1)
            return Crc32C.Compute(record[..CrcOffset]);
        Span<byte> copy = stackalloc byte[Size];
        record.CopyTo(copy);
        copy.Slice(CrcOffset, 4).Clear();
        return Crc32C.Compute(copy);
    }

    private static MediaFormatRecordDamagedException Damaged(string path, string why)
        => new($"The format record '{path}' cannot be used: {why}. The image's format is unknown, so its metadata cannot be trusted as PI. " +
               "Add format=1 to the device string to re-lay the image (erases its contents), or restore the record from a copy.");
}

/// <summary>A backing file was laid out for another LBA format than the one asked for, or has no usable format record.</summary>
public class MediaFormatMismatchException : IOException
{
    /// <summary>Creates the exception with a general message.</summary>
    public MediaFormatMismatchException() : base("A backing file was laid out for another LBA format.") { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public MediaFormatMismatchException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with a message naming both formats and the fix.</summary>
    public MediaFormatMismatchException(string message) : base(message) { }
}

/// <summary>
/// A format record (<c>PATH.pnvmefmt</c>) is there but cannot be trusted: damaged (CRC
/// mismatch), out of range, or of an unknown version. The message names the file and the way out.
/// </summary>
public sealed class MediaFormatRecordDamagedException : MediaFormatMismatchException
{
    /// <summary>Creates the exception with a general message.</summary>
    public MediaFormatRecordDamagedException() : base("A format record is damaged and cannot be trusted.") { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public MediaFormatRecordDamagedException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception; the message names the record file and what to do.</summary>
    public MediaFormatRecordDamagedException(string message) : base(message) { }
}
