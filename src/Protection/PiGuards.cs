using System.Buffers.Binary;
using System.Numerics;

namespace PolledNvme.Protection;

/// <summary>
/// Describes one PI guard format to the generic PI code (<see cref="PiEngine{TGuard, TCrc}"/>,
/// <see cref="PiTupleCodec{TGuard, TCrc}"/>): its CRC, the guard's integer type and the
/// tuple size. Everything else about the tuple is derived from these (PI.md §1): the guard
/// takes the first <c>sizeof(TCrc)</c> bytes, the application tag the next two, and the
/// storage+reference space the rest. Implemented by three empty structs so the JIT
/// compiles one specialised copy of the generic code per format.
/// </summary>
/// <typeparam name="TCrc">The guard's integer type (ushort, uint, ulong).</typeparam>
internal interface IPiGuard<TCrc>
    where TCrc : unmanaged, IBinaryInteger<TCrc>, IUnsignedNumber<TCrc>
{
    /// <summary>The format this descriptor stands for.</summary>
    static abstract PiGuardFormat Format { get; }

    /// <summary>Bytes in one PI tuple (8 or 16).</summary>
    static abstract int TupleSize { get; }

    /// <summary>The CRC's multi-block entry point.</summary>
    static abstract void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<TCrc> crcs);

    /// <summary>Continues a CRC from a previous final value.</summary>
    static abstract TCrc Update(TCrc previous, ReadOnlySpan<byte> data);

    /// <summary>Reads the big-endian guard from the start of a tuple.</summary>
    static abstract TCrc ReadGuard(ReadOnlySpan<byte> tuple);

    /// <summary>Writes the guard big-endian at the start of a tuple.</summary>
    static abstract void WriteGuard(Span<byte> tuple, TCrc guard);
}

/// <summary>16b guard: CRC-16/T10-DIF in an 8-byte tuple (PIF 00b).</summary>
internal readonly struct Guard16 : IPiGuard<ushort>
{
    public static PiGuardFormat Format => PiGuardFormat.Guard16;
    public static int TupleSize => 8;
    public static void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<ushort> crcs)
        => Crc16T10Dif.ComputeBlocks(source, blockLength, stride, crcs);
    public static ushort Update(ushort previous, ReadOnlySpan<byte> data) => Crc16T10Dif.Update(previous, data);
    public static ushort ReadGuard(ReadOnlySpan<byte> tuple) => BinaryPrimitives.ReadUInt16BigEndian(tuple);
    public static void WriteGuard(Span<byte> tuple, ushort guard) => BinaryPrimitives.WriteUInt16BigEndian(tuple, guard);
}

/// <summary>32b guard: CRC-32C in a 16-byte tuple (PIF 01b).</summary>
internal readonly struct Guard32 : IPiGuard<uint>
{
    public static PiGuardFormat Format => PiGuardFormat.Guard32;
    public static int TupleSize => 16;
    public static void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<uint> crcs)
        => Crc32C.ComputeBlocks(source, blockLength, stride, crcs);
    public static uint Update(uint previous, ReadOnlySpan<byte> data) => Crc32C.Update(previous, data);
    public static uint ReadGuard(ReadOnlySpan<byte> tuple) => BinaryPrimitives.ReadUInt32BigEndian(tuple);
    public static void WriteGuard(Span<byte> tuple, uint guard) => BinaryPrimitives.WriteUInt32BigEndian(tuple, guard);
}

/// <summary>64b guard: CRC-64/NVME in a 16-byte tuple (PIF 10b).</summary>
internal readonly struct Guard64 : IPiGuard<ulong>
{
    public static PiGuardFormat Format => PiGuardFormat.Guard64;
    public static int TupleSize => 16;
    public static void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<ulong> crcs)
        => Crc64Nvme.ComputeBlocks(source, blockLength, stride, crcs);
    public static ulong Update(ulong previous, ReadOnlySpan<byte> data) => Crc64Nvme.Update(previous, data);
    public static ulong ReadGuard(ReadOnlySpan<byte> tuple) => BinaryPrimitives.ReadUInt64BigEndian(tuple);
    public static void WriteGuard(Span<byte> tuple, ulong guard) => BinaryPrimitives.WriteUInt64BigEndian(tuple, guard);
}

/// <summary>Per-format facts for code that is not generic over the guard (one switch each).</summary>
internal static class PiGuardFormats
{
    /// <summary>Whether <paramref name="format"/> is one of the three defined values.</summary>
    public static bool IsDefined(PiGuardFormat format) => format <= PiGuardFormat.Guard64;

    /// <summary>Bytes in one tuple of <paramref name="format"/>.</summary>
    public static int TupleSize(PiGuardFormat format) => format switch
    {
        PiGuardFormat.Guard16 => Guard16.TupleSize,
        PiGuardFormat.Guard32 => Guard32.TupleSize,
        PiGuardFormat.Guard64 => Guard64.TupleSize,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown PI guard format (PIF must be 0, 1 or 2)."),
    };

    /// <summary>Bytes of the guard field of <paramref name="format"/> (2, 4 or 8).</summary>
    public static int GuardSize(PiGuardFormat format) => 2 << (int)format;

    /// <summary>Bits in the storage+reference space of <paramref name="format"/> (32, 80 or 48; PI.md §1).</summary>
    public static int SpaceBits(PiGuardFormat format) => (TupleSize(format) - GuardSize(format) - 2) * 8;

    /// <summary>Smallest STS: the reference tag is held in a 64-bit value, so at least SpaceBits-64 bits are storage tag.</summary>
    public static int MinStorageTagSize(PiGuardFormat format) => Math.Max(0, SpaceBits(format) - 64);

    /// <summary>Largest STS: the whole space, but a storage tag is held in a 64-bit value.</summary>
    public static int MaxStorageTagSize(PiGuardFormat format) => Math.Min(64, SpaceBits(format));

    /// <summary>Short name used in messages.</summary>
    public static string Name(PiGuardFormat format) => format switch
    {
        PiGuardFormat.Guard16 => "16b guard",
        PiGuardFormat.Guard32 => "32b guard",
        PiGuardFormat.Guard64 => "64b guard",
        _ => $"PIF {(byte)format}",
    };
}
