using System.Buffers.Binary;
using PolledNvme.Protection;

namespace PolledNvme.Examples.KeyValueStore;

/// <summary>
/// One record per block: magic, key length, value length, CRC-32C of key and value, then the
/// key and the value. An all-zero block is an empty slot (a fresh or deallocated namespace reads
/// zeros). The CRC catches a record torn by a crash, or a block that is not a record at all.
/// </summary>
public static class BlockRecord
{
    /// <summary>"PNKV", little-endian.</summary>
    public const uint Magic = 0x564B_4E50;
    /// <summary>Bytes before the key.</summary>
    public const int HeaderSize = 16;
    /// <summary>Longest key.</summary>
    public const int MaxKeyLength = 256;

    /// <summary>Longest value a block of <paramref name="blockSize"/> bytes holds with a key of <paramref name="keyLength"/> bytes.</summary>
    public static int MaxValueLength(int blockSize, int keyLength) => blockSize - HeaderSize - keyLength;

    /// <summary>Writes the record into <paramref name="block"/> (the rest of the block is zeroed).</summary>
    public static void Write(Span<byte> block, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        block.Clear();
        key.CopyTo(block[HeaderSize..]);
        value.CopyTo(block[(HeaderSize + key.Length)..]);
        BinaryPrimitives.WriteUInt32LittleEndian(block, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(block[4..], (ushort)key.Length);
        BinaryPrimitives.WriteInt32LittleEndian(block[8..], value.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(block[12..], Crc32C.Compute(block.Slice(HeaderSize, key.Length + value.Length)));
    }

    /// <summary>What a block holds.</summary>
    public enum Kind
    {
        /// <summary>All zeros: a slot never written.</summary>
        Empty,
        /// <summary>A record whose CRC matches.</summary>
        Record,
        /// <summary>Neither: a torn record, or a block that is not the store's.</summary>
        Damaged,
    }

    /// <summary>Reads the block: an empty slot, a record (its key and value), or something damaged.</summary>
    public static Kind Read(ReadOnlySpan<byte> block, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        key = value = default;
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(block);
        if (magic == 0 && !block[..HeaderSize].ContainsAnyExcept((byte)0))
            return Kind.Empty;
        int keyLength = BinaryPrimitives.ReadUInt16LittleEndian(block[4..]);
        int valueLength = BinaryPrimitives.ReadInt32LittleEndian(block[8..]);
        if (magic != Magic || keyLength is 0 or > MaxKeyLength || valueLength < 0 || valueLength > MaxValueLength(block.Length, keyLength))
            return Kind.Damaged;
        ReadOnlySpan<byte> payload = block.Slice(HeaderSize, keyLength + valueLength);
        if (Crc32C.Compute(payload) != BinaryPrimitives.ReadUInt32LittleEndian(block[12..]))
            return Kind.Damaged;
        key = payload[..keyLength];
        value = payload[keyLength..];
        return Kind.Record;
    }
}
