using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PolledNvme.Protection;

/// <summary>
/// What differs between reflected and normal CRCs in the folding kernels: how bytes are
/// loaded into lanes, where the running register enters the first lane, and the final
/// Barrett reduction. The kernels are generic over this, so the JIT emits one specialised
/// copy per order with no indirection.
/// </summary>
internal unsafe interface ICrcBitOrder
{
    /// <summary>Loads 16 bytes as one lane.</summary>
    static abstract Vector128<ulong> Load128(byte* p);

    /// <summary>Loads 32 bytes as two lanes.</summary>
    static abstract Vector256<ulong> Load256(byte* p);

    /// <summary>Loads 64 bytes as four lanes.</summary>
    static abstract Vector512<ulong> Load512(byte* p);

    /// <summary>The 64-bit register (see <see cref="CrcPolynomialMath"/>) placed over the first message bits of a lane.</summary>
    static abstract Vector128<ulong> Seed(ulong register);

    /// <summary>Reduces the last 128-bit lane to the 64-bit register: X·x^64 mod P'.</summary>
    static abstract ulong Reduce(Vector128<ulong> x, CrcFoldingConstants k);
}

/// <summary>
/// Bit-reflected CRCs (CRC-32C, CRC-64/NVME): bytes load little-endian as they are; the
/// register's low bits are the first message bits.
/// </summary>
internal readonly unsafe struct ReflectedBitOrder : ICrcBitOrder
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> Load128(byte* p) => Vector128.Load(p).AsUInt64();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ulong> Load256(byte* p) => Vector256.Load(p).AsUInt64();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> Load512(byte* p) => Vector512.Load(p).AsUInt64();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> Seed(ulong register) => Vector128.CreateScalar(register);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Reduce(Vector128<ulong> x, CrcFoldingConstants k)
    {
        // Y = X·x^64 folded to 128 bits: high-degree quadword times x^128, plus the low one moved up.
        Vector128<ulong> y = Pclmulqdq.CarrylessMultiply(x, k.ReduceStep, 0x00) ^ Sse2.ShiftRightLogical128BitLane(x, 8);
        // Barrett: T = floor(Y_high·μ / x^64); R = (Y + T·P') mod x^64.
        Vector128<ulong> barrett = k.Barrett;
        Vector128<ulong> t = Pclmulqdq.CarrylessMultiply(y, barrett, 0x00);
        Vector128<ulong> u = Pclmulqdq.CarrylessMultiply(t, barrett, 0x10);
        return (y ^ u).GetElement(1) ^ (t.ToScalar() & k.BarrettLowTermMask);
    }
}

/// <summary>
/// CRC-32C: reflected, and the last lane is reduced with two <c>crc32</c> instructions
/// instead of a Barrett reduction (three dependent multiplies): the lane is sixteen bytes of
/// message whose CRC from zero is the register.
/// </summary>
internal readonly unsafe struct Crc32CBitOrder : ICrcBitOrder
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> Load128(byte* p) => ReflectedBitOrder.Load128(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ulong> Load256(byte* p) => ReflectedBitOrder.Load256(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> Load512(byte* p) => ReflectedBitOrder.Load512(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> Seed(ulong register) => ReflectedBitOrder.Seed(register);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Reduce(Vector128<ulong> x, CrcFoldingConstants k)
        => Sse42.X64.IsSupported
            ? Sse42.X64.Crc32(Sse42.X64.Crc32(0UL, x.ToScalar()), x.GetElement(1))
            : ReflectedBitOrder.Reduce(x, k);
}

/// <summary>
/// Normal (non-reflected) CRCs (CRC-16/T10-DIF): each 16-byte lane is byte-reversed so the
/// first message bit becomes the lane's top bit; the register sits at the top of the lane.
/// </summary>
internal readonly unsafe struct NormalBitOrder : ICrcBitOrder
{
    // Masks held in static fields: a composed or 64-argument Vector512.Create in a getter
    // is an inlining candidate the JIT may refuse under a large inline tree (seen with PGO),
    // and then every load pays a call.
    private static Vector128<byte> ReverseBytes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector128.Create((byte)15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    }

    private static readonly Vector256<byte> s_reverseBytes256 = Vector256.Create(ReverseBytes);
    private static readonly Vector512<byte> s_reverseBytes512 = Vector512.Create(ReverseBytes);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> Load128(byte* p) => Ssse3.Shuffle(Vector128.Load(p), ReverseBytes).AsUInt64();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ulong> Load256(byte* p)
        => Avx2.Shuffle(Vector256.Load(p), s_reverseBytes256).AsUInt64();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> Load512(byte* p)
        => Avx512BW.Shuffle(Vector512.Load(p), s_reverseBytes512).AsUInt64();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> Seed(ulong register) => Vector128.Create(0UL, register);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Reduce(Vector128<ulong> x, CrcFoldingConstants k)
    {
        // Y = X·x^64 folded to 128 bits: high quadword times x^128, plus the low one moved up.
        Vector128<ulong> y = Pclmulqdq.CarrylessMultiply(x, k.ReduceStep, 0x11) ^ Sse2.ShiftLeftLogical128BitLane(x, 8);
        // Barrett: T = Y_high + floor(Y_high·μ_low / x^64); R = Y_low + (T·P'_low mod x^64).
        Vector128<ulong> barrett = k.Barrett;
        Vector128<ulong> t = Sse2.ShiftRightLogical128BitLane(y ^ Pclmulqdq.CarrylessMultiply(y, barrett, 0x01), 8);
        return (y ^ Pclmulqdq.CarrylessMultiply(t, barrett, 0x10)).ToScalar();
    }
}
