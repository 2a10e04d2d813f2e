using System.Buffers.Binary;
using System.Numerics;
using PolledNvme.Protection;

namespace PolledNvme.Driver.Emulated.Media;

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
/// 34 PIL (u8); 35 PIF (u8); 36 STS (u8); 37 MSET (u8); 38 MS (u16); 40 CRC-32C of bytes 0..39 (u32); 44..63 zero.
/// </remarks>
internal readonly record struct MediaFormatRecord(
    int BlockSize, int MetadataSize, int PiType, bool PiFirst, int GuardFormat, int StorageTagSize, bool ExtendedLba, long BlockCount)
{
    /// <summary>Bytes of the serialized record.</summary>
    public const int Size = 64;

    /// <summary>The only record version written and accepted.</summary>
    public const uint Version = 1;

    /// <summary>Appended to the image path to name the sidecar that holds the record.</summary>
    public const string SidecarSuffix = ".pnvmefmt";

    private const ulong Magic = 0x544D46454D564E50; // "PNVMEFMT" read as a little-endian u64
    private const int CoveredBytes = 40;

    /// <summary>Bytes of media, which is also the image file's length: every block's data, then every block's metadata.</summary>
    public long MediaLength => BlockCount * (BlockSize + MetadataSize);

    /// <summary>Settings in the address syntax, e.g. <c>lbads=12,ms=16,pi=1,pil=0,pif=2,sts=0,mset=0,blocks=262144</c>.</summary>
    public override string ToString()
        => $"lbads={BitOperations.Log2((uint)BlockSize)},ms={MetadataSize},pi={PiType},pil={(PiFirst ? 1 : 0)},pif={GuardFormat},sts={StorageTagSize},mset={(ExtendedLba ? 1 : 0)},blocks={BlockCount}";

    /// <summary>Serializes the record into <see cref="Size"/> bytes.</summary>
    public void WriteTo(Span<byte> bytes)
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
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[40..], Crc32C.Compute(bytes[..CoveredBytes]));
    }

    /// <summary>
    /// Parses a serialized record. Returns false when there is no record (wrong magic); throws
    /// <see cref="InvalidDataException"/> when a record is there but damaged or of another version.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> bytes, string path, out MediaFormatRecord record)
    {
        record = default;
        if (bytes.Length < Size || BinaryPrimitives.ReadUInt64LittleEndian(bytes) != Magic)
            return false;
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(bytes[40..]);
        if (crc != Crc32C.Compute(bytes[..CoveredBytes]))
            throw new InvalidDataException($"'{path}': the format record is damaged (CRC-32C mismatch); add format=1 to re-lay the file (erases it).");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        if (bytes[32] is < 9 or > 16)
            throw new InvalidDataException($"'{path}': the format record's LBADS {bytes[32]} is outside 9..16.");
        if (version != Version)
            throw new InvalidDataException($"'{path}': format record version {version} is not supported (this build reads version {Version}).");
        record = new MediaFormatRecord(
            BlockSize: 1 << bytes[32],
            MetadataSize: BinaryPrimitives.ReadUInt16LittleEndian(bytes[38..]),
            PiType: bytes[33],
            PiFirst: bytes[34] != 0,
            GuardFormat: bytes[35],
            StorageTagSize: bytes[36],
            ExtendedLba: bytes[37] != 0,
            BlockCount: BinaryPrimitives.ReadInt64LittleEndian(bytes[24..]));
        if (record.MediaLength != BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]))
            throw new InvalidDataException($"'{path}': the format record's media length disagrees with its format ({record}).");
        return true;
    }
}

/// <summary>
/// Reads and writes the sidecar that holds a <see cref="MediaFormatRecord"/>. Writes are
/// atomic and durable (temporary file, fsync, rename, fsync of the directory), so after a
/// crash the sidecar is either the old record, the new one, or absent; never torn.
/// </summary>
internal static unsafe class MediaFormatSidecar
{
    /// <summary>The sidecar path of an image.</summary>
    public static string PathOf(string imagePath) => imagePath + MediaFormatRecord.SidecarSuffix;

    /// <summary>Loads the record; false when there is no sidecar or it holds no record.</summary>
    public static bool TryLoad(string imagePath, out MediaFormatRecord record)
    {
        record = default;
        string path = PathOf(imagePath);
        if (!File.Exists(path))
            return false;
        byte[] bytes = File.ReadAllBytes(path);
        return MediaFormatRecord.TryRead(bytes, path, out record);
    }

    /// <summary>Replaces the sidecar with <paramref name="record"/>, atomically and durably.</summary>
    public static void Save(string imagePath, MediaFormatRecord record)
    {
        string path = PathOf(imagePath);
        string temporary = path + ".tmp";
        var bytes = new byte[MediaFormatRecord.Size];
        record.WriteTo(bytes);
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        SyncDirectory(path);
    }

    /// <summary>Removes the sidecar durably (the first step of re-laying an image).</summary>
    public static void Delete(string imagePath)
    {
        string path = PathOf(imagePath);
        if (!File.Exists(path))
            return;
        File.Delete(path);
        SyncDirectory(path);
    }

    /// <summary>fsync of the directory holding <paramref name="path"/>, so a rename or unlink in it is durable.</summary>
    private static void SyncDirectory(string path)
    {
        string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        byte[] name = System.Text.Encoding.UTF8.GetBytes(directory + "\0");
        int fd;
        fixed (byte* p = name)
            fd = Tmds.Linux.LibC.open(p, Tmds.Linux.LibC.O_RDONLY | Tmds.Linux.LibC.O_DIRECTORY | Tmds.Linux.LibC.O_CLOEXEC, 0);
        if (fd < 0)
            return; // cannot open the directory (permissions): the rename itself is still atomic
        Tmds.Linux.LibC.fsync(fd);
        Tmds.Linux.LibC.close(fd);
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
