using System.Buffers.Binary;

namespace PolledNvme.Examples.WriteAheadLog;

/// <summary>The header at the start of every log block (little endian).</summary>
/// <param name="Epoch">Incremented each time the log is opened for appending; never decreases along a valid log.</param>
/// <param name="Sequence">The block's position in the log; equals its LBA (the reference tag binds the LBA too).</param>
/// <param name="RecordCount">Records packed in the block.</param>
/// <param name="GroupBlocks">Blocks written by the same command (one group commit).</param>
/// <param name="IndexInGroup">This block's index within that command.</param>
public readonly record struct WalBlockHeader(uint Epoch, ulong Sequence, int RecordCount, int GroupBlocks, int IndexInGroup);

/// <summary>
/// Layout of a log block. Data: a 24-byte header (magic "PWAL", epoch, sequence, record count,
/// group size, index in group), then records, each an 8-byte header (payload length u32, type u16,
/// zero u16) and its payload. A record never spans blocks. No CRC: the PI guard covers the block.
/// PI: application tag <see cref="ApplicationTag"/>, reference tag = LBA (Type 1).
/// </summary>
public static class WalBlock
{
    /// <summary>"PWAL" read as a little-endian u32.</summary>
    public const uint Magic = 0x4C415750;

    /// <summary>The application tag of every log block: checked by the controller on recovery reads.</summary>
    public const ushort ApplicationTag = 0x574C;

    /// <summary>Bytes of the block header.</summary>
    public const int HeaderSize = 24;

    /// <summary>Bytes of a record's header (length, type).</summary>
    public const int RecordHeaderSize = 8;

    /// <summary>The largest payload one record can carry in a block of <paramref name="blockSize"/> bytes.</summary>
    public static int MaxPayload(int blockSize) => blockSize - HeaderSize - RecordHeaderSize;

    /// <summary>Writes the header into the first <see cref="HeaderSize"/> bytes of <paramref name="block"/>.</summary>
    public static void WriteHeader(Span<byte> block, in WalBlockHeader header)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(block, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(block[4..], header.Epoch);
        BinaryPrimitives.WriteUInt64LittleEndian(block[8..], header.Sequence);
        BinaryPrimitives.WriteUInt16LittleEndian(block[16..], checked((ushort)header.RecordCount));
        BinaryPrimitives.WriteUInt16LittleEndian(block[18..], checked((ushort)header.GroupBlocks));
        BinaryPrimitives.WriteUInt16LittleEndian(block[20..], checked((ushort)header.IndexInGroup));
        BinaryPrimitives.WriteUInt16LittleEndian(block[22..], 0);
    }

    /// <summary>Writes one record at <paramref name="offset"/>; returns the offset after it.</summary>
    public static int WriteRecord(Span<byte> block, int offset, ushort type, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(block[offset..], (uint)payload.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(block[(offset + 4)..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(block[(offset + 6)..], 0);
        payload.CopyTo(block[(offset + RecordHeaderSize)..]);
        return offset + RecordHeaderSize + payload.Length;
    }

    /// <summary>Reads the header; false when the magic is absent (the block was never a log block).</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> block, out WalBlockHeader header)
    {
        header = default;
        if (BinaryPrimitives.ReadUInt32LittleEndian(block) != Magic)
            return false;
        header = new WalBlockHeader(
            BinaryPrimitives.ReadUInt32LittleEndian(block[4..]),
            BinaryPrimitives.ReadUInt64LittleEndian(block[8..]),
            BinaryPrimitives.ReadUInt16LittleEndian(block[16..]),
            BinaryPrimitives.ReadUInt16LittleEndian(block[18..]),
            BinaryPrimitives.ReadUInt16LittleEndian(block[20..]));
        return true;
    }

    /// <summary>
    /// Appends the records of a block that passed its PI check to <paramref name="records"/>.
    /// A block whose PI is intact but whose record lengths do not fit was written wrong: that is
    /// corruption, reported with the LBA.
    /// </summary>
    public static void ReadRecords(ReadOnlySpan<byte> block, ulong lba, int recordCount, List<WalRecord> records)
    {
        int offset = HeaderSize;
        for (int index = 0; index < recordCount; index++)
        {
            if (offset + RecordHeaderSize > block.Length)
                throw new WalCorruptionException(lba, $"record {index} of {recordCount} starts past the end of the block");
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(block[offset..]);
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(block[(offset + 4)..]);
            if (length > (uint)(block.Length - offset - RecordHeaderSize))
                throw new WalCorruptionException(lba, $"record {index} claims {length} payload bytes, more than the block holds");
            offset += RecordHeaderSize;
            records.Add(new WalRecord(new WalPosition(lba, index), type, block.Slice(offset, (int)length).ToArray()));
            offset += (int)length;
        }
    }
}
