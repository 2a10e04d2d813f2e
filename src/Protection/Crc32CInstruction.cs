using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PolledNvme.Protection;

/// <summary>
/// CRC-32C with the SSE4.2 <c>crc32</c> instruction: three independent streams over three
/// consecutive segments keep the instruction's pipeline full (latency 3, one per cycle),
/// then the partial CRCs are recombined by shifting with a carry-less multiply.
/// </summary>
internal static unsafe class Crc32CInstruction
{
    /// <summary>Longest segment per stream, in 8-byte words; one shift constant per length.</summary>
    private const int MaxWordsPerStream = 256;

    /// <summary>Below this many words per stream one stream is faster than paying for the recombination.</summary>
    private const int MinWordsPerStream = 4;

    // s_shift[w] = x^(64w − 33) mod P, bit-reflected: multiplying a reflected 32-bit CRC by it
    // (the product carries one extra x) and reducing with crc32 (which multiplies by x^32)
    // advances the CRC over 64w zero bits.
    private static readonly ulong[] s_shift = BuildShiftConstants();

    public static bool IsSupported => Sse42.X64.IsSupported && Pclmulqdq.IsSupported;

    /// <summary>Advances the (already inverted) CRC-32C register over <paramref name="data"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static uint Update(uint register, ReadOnlySpan<byte> data)
    {
        fixed (byte* start = data)
        {
            byte* p = start;
            int length = data.Length;
            ulong crc = register;
            while (length >= 3 * 8 * MinWordsPerStream)
            {
                int words = Math.Min(length / 24, MaxWordsPerStream);
                int segment = words * 8;
                ulong c1 = 0, c2 = 0;
                for (int i = 0; i < segment; i += 8)
                {
                    crc = Sse42.X64.Crc32(crc, Unsafe.ReadUnaligned<ulong>(p + i));
                    c1 = Sse42.X64.Crc32(c1, Unsafe.ReadUnaligned<ulong>(p + segment + i));
                    c2 = Sse42.X64.Crc32(c2, Unsafe.ReadUnaligned<ulong>(p + 2 * segment + i));
                }
                ulong k = s_shift[words];
                crc = Shift(crc, k) ^ c1;
                crc = Shift(crc, k) ^ c2;
                p += 3 * segment;
                length -= 3 * segment;
            }
            for (; length >= 8; p += 8, length -= 8)
                crc = Sse42.X64.Crc32(crc, Unsafe.ReadUnaligned<ulong>(p));
            uint c = (uint)crc;
            for (; length > 0; p++, length--)
                c = Sse42.Crc32(c, *p);
            return c;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Shift(ulong crc, ulong constant)
        => Sse42.X64.Crc32(0UL, Pclmulqdq.CarrylessMultiply(Vector128.CreateScalar(crc), Vector128.CreateScalar(constant), 0x00).ToScalar());

    private static ulong[] BuildShiftConstants()
    {
        ulong poly = CrcPolynomialMath.Reflect(Crc32C.ReflectedPolynomial, 32);
        var shift = new ulong[MaxWordsPerStream + 1];
        ulong power = CrcPolynomialMath.XPowMod(64 - 33, poly, 32);
        for (int words = 1; words <= MaxWordsPerStream; words++)
        {
            shift[words] = CrcPolynomialMath.Reflect(power, 32);
            for (int i = 0; i < 64; i++)
                power = CrcPolynomialMath.MultiplyByX(power, poly, 32, uint.MaxValue);
        }
        return shift;
    }
}
