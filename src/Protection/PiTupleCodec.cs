using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace PolledNvme.Protection;

/// <summary>
/// The tuple of the format <typeparamref name="TGuard"/> describes, handled as one big-endian
/// number of 64 or 128 bits (PI.md §1, NVM CS 1.2 Figs 147-155): from the most significant
/// end, the guard, the 16-bit application tag, then the storage+reference space, whose STS
/// most-significant bits are the storage tag and the rest the reference tag (PI.md §2).
/// Whole-tuple XOR/AND against an expected tuple and a mask is how the engine checks every
/// field of a block at once.
/// </summary>
internal static class PiTupleCodec<TGuard, TCrc>
    where TGuard : struct, IPiGuard<TCrc>
    where TCrc : unmanaged, IBinaryInteger<TCrc>, IUnsignedNumber<TCrc>
{
    /// <summary>Bits in the guard field (16, 32, 64).</summary>
    public static int GuardBits
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Unsafe.SizeOf<TCrc>() * 8;
    }

    /// <summary>Bits in the storage+reference space (32, 80, 48): what the guard and application tag leave.</summary>
    public static int SpaceBits
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => TGuard.TupleSize * 8 - GuardBits - 16;
    }

    /// <summary>Position of the guard's least significant bit in the tuple number.</summary>
    public static int GuardShift
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => TGuard.TupleSize * 8 - GuardBits;
    }

    /// <summary>Reads the tuple at the start of <paramref name="tuple"/> as one big-endian number.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UInt128 ReadTuple(ReadOnlySpan<byte> tuple)
        => TGuard.TupleSize == 8
            ? BinaryPrimitives.ReadUInt64BigEndian(tuple)
            : new UInt128(BinaryPrimitives.ReadUInt64BigEndian(tuple), BinaryPrimitives.ReadUInt64BigEndian(tuple.Slice(8)));

    /// <summary>Writes a tuple number big-endian at the start of <paramref name="tuple"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteTuple(Span<byte> tuple, UInt128 value)
    {
        if (TGuard.TupleSize == 8)
        {
            BinaryPrimitives.WriteUInt64BigEndian(tuple, (ulong)value);
        }
        else
        {
            BinaryPrimitives.WriteUInt64BigEndian(tuple, (ulong)(value >> 64));
            BinaryPrimitives.WriteUInt64BigEndian(tuple.Slice(8), (ulong)value);
        }
    }

    /// <summary>A guard value in its place in the tuple number (constant shifts per specialisation).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UInt128 GuardField(TCrc guard)
    {
        ulong value = ulong.CreateTruncating(guard);
        return GuardShift >= 64 ? new UInt128(value << (GuardShift - 64), 0) : new UInt128(0, value << GuardShift);
    }

    /// <summary>Decodes a whole tuple; <paramref name="referenceTagBits"/> = space bits - STS.</summary>
    public static PiTuple Read(ReadOnlySpan<byte> tuple, int referenceTagBits)
    {
        UInt128 value = ReadTuple(tuple);
        UInt128 space = value & Ones(SpaceBits);
        return new PiTuple(
            (ulong)(value >> GuardShift),
            (ushort)(value >> SpaceBits),
            (ulong)(space >> referenceTagBits),
            (ulong)(space & Ones(referenceTagBits)));
    }

    /// <summary>Encodes a whole tuple; the caller has checked that every field fits.</summary>
    public static void Write(Span<byte> tuple, in PiTuple value, int referenceTagBits)
        => WriteTuple(tuple, GuardField(TCrc.CreateTruncating(value.Guard))
            | ((UInt128)value.ApplicationTag << SpaceBits)
            | ((UInt128)value.StorageTag << referenceTagBits)
            | value.ReferenceTag);

    private static UInt128 Ones(int bits) => (UInt128.One << bits) - UInt128.One;
}
