using System.Buffers.Binary;

namespace PolledNvme.Driver;

/// <summary>One Dataset Management range (NVM CS 1.0 §3.2.2, Fig 39): context attributes, length in blocks, starting LBA; 16 bytes.</summary>
public readonly record struct DatasetRange(ulong StartLba, uint BlockCount, uint ContextAttributes = 0)
{
    /// <summary>Bytes per range on the wire.</summary>
    public const int Size = 16;

    /// <summary>Writes this range at index <paramref name="index"/> of a range list.</summary>
    public void Write(Span<byte> list, int index)
    {
        Span<byte> d = list.Slice(index * Size, Size);
        BinaryPrimitives.WriteUInt32LittleEndian(d, ContextAttributes);
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], BlockCount);
        BinaryPrimitives.WriteUInt64LittleEndian(d[8..], StartLba);
    }
}
