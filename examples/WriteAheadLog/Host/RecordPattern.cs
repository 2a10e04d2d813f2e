using System.Buffers.Binary;

namespace PolledNvme.Examples.WriteAheadLog.Host;

/// <summary>The records the host appends: record <c>id</c> is recognisable and checkable on its own.</summary>
public static class RecordPattern
{
    /// <summary>Type of record <paramref name="id"/> (1..7).</summary>
    public static ushort TypeOf(long id) => (ushort)(id % 7 + 1);

    /// <summary>Payload of record <paramref name="id"/>: the id (8 bytes), then 8 + id mod 300 bytes derived from it.</summary>
    public static byte[] PayloadOf(long id)
    {
        var payload = new byte[16 + (int)(id % 300)];
        BinaryPrimitives.WriteInt64LittleEndian(payload, id);
        for (int i = 8; i < payload.Length; i++)
            payload[i] = (byte)(id * 131 + i * 7);
        return payload;
    }

    /// <summary>The id of a record whose payload and type match the pattern; -1 when they do not.</summary>
    public static long IdOf(WalRecord record)
    {
        if (record.Payload.Length < 16)
            return -1;
        long id = BinaryPrimitives.ReadInt64LittleEndian(record.Payload);
        return id >= 0 && record.Type == TypeOf(id) && record.Payload.AsSpan().SequenceEqual(PayloadOf(id)) ? id : -1;
    }
}
