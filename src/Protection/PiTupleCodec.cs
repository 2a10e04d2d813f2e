using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace PolledNvme.Protection;

/// <summary>
/// Reads and writes the fields of one PI tuple of the format <typeparamref name="TGuard"/>
/// describes (PI.md §1, NVM CS 1.2 Figs 147-155; all fields big-endian): guard at byte 0,
/// application tag after it, then the storage+reference space, whose STS most-significant
/// bits are the storage tag and the rest the reference tag (PI.md §2).
/// </summary>
internal static class PiTupleCodec<TGuard, TCrc>
    where TGuard : struct, IPiGuard<TCrc>
    where TCrc : unmanaged, IBinaryInteger<TCrc>, IUnsignedNumber<TCrc>
{
    /// <summary>Offset of the application tag: right after the guard.</summary>
    public static int ApplicationTagOffset
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Unsafe.SizeOf<TCrc>();
    }

    /// <summary>Offset of the storage+reference space: right after the application tag.</summary>
    public static int SpaceOffset
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Unsafe.SizeOf<TCrc>() + 2;
    }

    /// <summary>Bytes of the storage+reference space (4, 10 or 6).</summary>
    public static int SpaceBytes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => TGuard.TupleSize - SpaceOffset;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort ReadApplicationTag(ReadOnlySpan<byte> tuple)
        => BinaryPrimitives.ReadUInt16BigEndian(tuple.Slice(ApplicationTagOffset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteApplicationTag(Span<byte> tuple, ushort tag)
        => BinaryPrimitives.WriteUInt16BigEndian(tuple.Slice(ApplicationTagOffset), tag);

    /// <summary>Reads the whole storage+reference space as one big-endian number.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UInt128 ReadSpace(ReadOnlySpan<byte> tuple)
    {
        ReadOnlySpan<byte> space = tuple.Slice(SpaceOffset, SpaceBytes);
        // SpaceBytes is a constant per specialisation, so only one arm survives JIT compilation.
        return SpaceBytes switch
        {
            4 => BinaryPrimitives.ReadUInt32BigEndian(space),
            6 => ((ulong)BinaryPrimitives.ReadUInt16BigEndian(space) << 32) | BinaryPrimitives.ReadUInt32BigEndian(space.Slice(2)),
            _ => new UInt128(BinaryPrimitives.ReadUInt16BigEndian(space), BinaryPrimitives.ReadUInt64BigEndian(space.Slice(2))),
        };
    }

    /// <summary>Writes the whole storage+reference space big-endian; bits above the space are dropped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteSpace(Span<byte> tuple, UInt128 value)
    {
        Span<byte> space = tuple.Slice(SpaceOffset, SpaceBytes);
        ulong low = (ulong)value;
        switch (SpaceBytes)
        {
            case 4:
                BinaryPrimitives.WriteUInt32BigEndian(space, (uint)low);
                break;
            case 6:
                BinaryPrimitives.WriteUInt16BigEndian(space, (ushort)(low >> 32));
                BinaryPrimitives.WriteUInt32BigEndian(space.Slice(2), (uint)low);
                break;
            default:
                BinaryPrimitives.WriteUInt16BigEndian(space, (ushort)(value >> 64));
                BinaryPrimitives.WriteUInt64BigEndian(space.Slice(2), low);
                break;
        }
    }

    /// <summary>Decodes a whole tuple; <paramref name="referenceTagBits"/> = space bits - STS.</summary>
    public static PiTuple Read(ReadOnlySpan<byte> tuple, int referenceTagBits)
    {
        UInt128 space = ReadSpace(tuple);
        UInt128 referenceMask = (UInt128.One << referenceTagBits) - UInt128.One;
        return new PiTuple(
            ulong.CreateTruncating(TGuard.ReadGuard(tuple)),
            ReadApplicationTag(tuple),
            (ulong)(space >> referenceTagBits),
            (ulong)(space & referenceMask));
    }

    /// <summary>Encodes a whole tuple; the caller has checked that every field fits.</summary>
    public static void Write(Span<byte> tuple, in PiTuple value, int referenceTagBits)
    {
        TGuard.WriteGuard(tuple, TCrc.CreateTruncating(value.Guard));
        WriteApplicationTag(tuple, value.ApplicationTag);
        WriteSpace(tuple, ((UInt128)value.StorageTag << referenceTagBits) | value.ReferenceTag);
    }
}
