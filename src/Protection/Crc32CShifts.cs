using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PolledNvme.Protection;

/// <summary>
/// Moves CRC-32C registers forward over zero bytes, so that the CRCs of pieces of one buffer
/// computed side by side can be combined. The carry-less product of a 32-bit register and
/// the constant of a distance, reduced by one <c>crc32</c> instruction, is the register
/// advanced over that distance; products of several registers may be added first and reduced
/// once. Constants are derived from the polynomial at start-up.
/// </summary>
/// <remarks>
/// The constant of d words (8 bytes each) is x^(64·d − 33) mod P, bit-reflected: the product
/// of two reflected 32-bit values carries one extra factor x, and <c>crc32</c> multiplies by
/// x^32. Distances below <see cref="NearWords"/> come from one table; longer ones are the
/// product of a far and a near constant, reduced the same way (one more multiply, which
/// depends only on the length, so it runs alongside the data).
/// </remarks>
internal static class Crc32CShifts
{
    /// <summary>Distances (in words) with a constant of their own.</summary>
    public const int NearWords = 1024;

    /// <summary>Longest distance, in words, a constant exists for (4 MiB).</summary>
    public const int MaxWords = 64 * NearWords * 8;

    private const int FarCount = MaxWords / NearWords;

    // s_near[d] = x^(64·d − 33); s_far[j] = x^(64·NearWords·j − 33): near · far · x^33 = x^(64·(j·NearWords + d) − 33).
    private static readonly ulong[] s_near = BuildPowers(NearWords, 1);
    private static readonly ulong[] s_far = BuildPowers(FarCount, NearWords);


    /// <summary>The constant that moves a register forward over <paramref name="words"/> words (0 ≤ words &lt; <see cref="MaxWords"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Words(int words)
    {
        ulong near = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(s_near), words & (NearWords - 1));
        if (words < NearWords)
            return near;
        ulong far = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(s_far), words / NearWords);
        return Shift(near, far);
    }

    /// <summary>The constant that moves a register forward over <paramref name="bytes"/> bytes (any length; start-up use).</summary>
    public static ulong Bytes(long bytes) => CrcPolynomialMath.Reflect(Power(8 * bytes - 33), 32);

    /// <summary>
    /// The carry-less product of a register and a shift constant, still to be reduced with
    /// <c>crc32(0, product)</c> (see <see cref="Reduce"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Product(ulong register, ulong constant)
    {
        if (Pclmulqdq.IsSupported)
            return Pclmulqdq.CarrylessMultiply(Vector128.CreateScalar(register), Vector128.CreateScalar(constant), 0x00).ToScalar();
        return SoftwareProduct((uint)register, (uint)constant);
    }

    /// <summary>The register a (sum of) <see cref="Product"/>(s) stands for.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Reduce(ulong products) => Sse42.X64.Crc32(0UL, products);

    /// <summary>Moves <paramref name="register"/> forward by the distance of <paramref name="constant"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Shift(ulong register, ulong constant) => Reduce(Product(register, constant));

    /// <summary>
    /// The sum of the products of the <typeparamref name="TShape"/> stream registers
    /// c0..c(S−1) with the constants of their distances to the end, where stream i is
    /// followed by S − 1 − i streams of <paramref name="words"/> words and
    /// <paramref name="tailWords"/> more words. Where VPCLMULQDQ runs, the registers go four to a
    /// multiply: two instructions for six streams instead of six (the multiplier is the busy unit).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong StreamProducts<TShape>(ulong c0, ulong c1, ulong c2, ulong c3, ulong c4, ulong c5, int words, int tailWords)
        where TShape : struct, ICrc32CHybridShape
    {
        int t = tailWords;
        if (TShape.Streams == 6)
        {
            if (Pclmulqdq.V512.IsSupported)
                return Sum(Pclmulqdq.V512.CarrylessMultiply(
                        Vector512.Create(c0, 0, c1, 0, c2, 0, c3, 0),
                        Vector512.Create(Words(5 * words + t), 0, Words(4 * words + t), 0, Words(3 * words + t), 0, Words(2 * words + t), 0), 0x00))
                    ^ Sum(Pclmulqdq.V256.CarrylessMultiply(
                        Vector256.Create(c4, 0, c5, 0), Vector256.Create(Words(words + t), 0, Words(t), 0), 0x00));
            if (Pclmulqdq.V256.IsSupported)
                return Sum(Pclmulqdq.V256.CarrylessMultiply(
                        Vector256.Create(c0, 0, c1, 0), Vector256.Create(Words(5 * words + t), 0, Words(4 * words + t), 0), 0x00))
                    ^ Sum(Pclmulqdq.V256.CarrylessMultiply(
                        Vector256.Create(c2, 0, c3, 0), Vector256.Create(Words(3 * words + t), 0, Words(2 * words + t), 0), 0x00))
                    ^ Sum(Pclmulqdq.V256.CarrylessMultiply(
                        Vector256.Create(c4, 0, c5, 0), Vector256.Create(Words(words + t), 0, Words(t), 0), 0x00));
            return Product(c0, Words(5 * words + t)) ^ Product(c1, Words(4 * words + t)) ^ Product(c2, Words(3 * words + t))
                ^ Product(c3, Words(2 * words + t)) ^ Product(c4, Words(words + t)) ^ Product(c5, Words(t));
        }
        if (Pclmulqdq.V512.IsSupported)
            return Sum(Pclmulqdq.V512.CarrylessMultiply(
                Vector512.Create(c0, 0, c1, 0, c2, 0, 0, 0),
                Vector512.Create(Words(2 * words + t), 0, Words(words + t), 0, Words(t), 0, 0, 0), 0x00));
        if (Pclmulqdq.V256.IsSupported)
            return Sum(Pclmulqdq.V256.CarrylessMultiply(
                    Vector256.Create(c0, 0, c1, 0), Vector256.Create(Words(2 * words + t), 0, Words(words + t), 0), 0x00))
                ^ Product(c2, Words(t));
        return Product(c0, Words(2 * words + t)) ^ Product(c1, Words(words + t)) ^ Product(c2, Words(t));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Sum(Vector512<ulong> products)
    {
        Vector256<ulong> half = products.GetLower() ^ products.GetUpper();
        return (half.GetLower() ^ half.GetUpper()).ToScalar();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Sum(Vector256<ulong> products) => (products.GetLower() ^ products.GetUpper()).ToScalar();

    /// <summary>
    /// Carry-less 32×32 multiply for CPUs without PCLMULQDQ, on the integer multiplier: each
    /// operand is split into four classes of bits four positions apart, so an integer product
    /// of two classes adds at most eight partial products per bit position and its carries
    /// stay inside the three-bit holes; the bits of one class of the result are the sum
    /// (xor) of four such products, masked. 16 multiplies instead of a 32-step loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong SoftwareProduct(uint a, uint b)
    {
        const ulong M0 = 0x1111111111111111, M1 = M0 << 1, M2 = M0 << 2, M3 = M0 << 3;
        ulong a0 = a & M0, a1 = a & M1, a2 = a & M2, a3 = a & M3;
        ulong b0 = b & M0, b1 = b & M1, b2 = b & M2, b3 = b & M3;
        ulong c0 = (a0 * b0) ^ (a1 * b3) ^ (a2 * b2) ^ (a3 * b1);
        ulong c1 = (a0 * b1) ^ (a1 * b0) ^ (a2 * b3) ^ (a3 * b2);
        ulong c2 = (a0 * b2) ^ (a1 * b1) ^ (a2 * b0) ^ (a3 * b3);
        ulong c3 = (a0 * b3) ^ (a1 * b2) ^ (a2 * b1) ^ (a3 * b0);
        return (c0 & M0) | (c1 & M1) | (c2 & M2) | (c3 & M3);
    }

    /// <summary>Segment lengths (words) with byte tables for <see cref="TableProduct"/>.</summary>
    public static ReadOnlySpan<int> TableSegments => [4, 6, 8, 10, 12, 16, 20];

    /// <summary>The longest of <see cref="TableSegments"/> not above <paramref name="words"/> (at least 4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TableSegmentWords(int words) => words >= 20 ? 20 : words >= 16 ? 16 : words >= 12 ? 12 : Math.Max(4, words & ~1);

    /// <summary>
    /// The carry-less product of <paramref name="register"/> and the constant of
    /// <paramref name="words"/> words (k · w, k ≤ 5, w a <see cref="TableSegmentWords"/> length)
    /// without a multiplier: the sum of the byte products shifted to their places, four loads
    /// from a 2 KiB table instead of 16 multiplies (<see cref="SoftwareProduct"/>). Reduce as for
    /// <see cref="Product"/>. For CPUs without PCLMULQDQ; the tables (19 of 2 KiB) are built on
    /// the first call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong TableProduct(ulong register, int words)
    {
        ref ulong t = ref MemoryMarshal.GetArrayDataReference(ByteTables.Tables[words]);
        uint r = (uint)register;
        return Unsafe.Add(ref t, (int)(r & 0xFF))
            ^ (Unsafe.Add(ref t, (int)((r >> 8) & 0xFF)) << 8)
            ^ (Unsafe.Add(ref t, (int)((r >> 16) & 0xFF)) << 16)
            ^ (Unsafe.Add(ref t, (int)(r >> 24)) << 24);
    }

    /// <summary>Tables[d][b] = the carry-less product of byte b and the constant of d words, for every stream distance of a table segment; null elsewhere.</summary>
    private static class ByteTables
    {
        public static readonly ulong[][] Tables = Build();

        private static ulong[][] Build()
        {
            var tables = new ulong[5 * 20 + 1][];
            foreach (int w in TableSegments)
                for (int k = 1; k <= 5; k++)
                {
                    if (tables[k * w] is not null)
                        continue;
                    uint constant = (uint)Words(k * w);
                    var table = new ulong[256];
                    for (uint b = 0; b < 256; b++)
                        table[b] = SoftwareProduct(b, constant);
                    tables[k * w] = table;
                }
            return tables;
        }
    }

    private static ulong Poly => CrcPolynomialMath.Reflect(Crc32C.ReflectedPolynomial, 32);

    /// <summary>x^e mod P (normal bit order) for any e, negative included (x is invertible: P has an x^0 term).</summary>
    private static ulong Power(long exponent)
    {
        ulong poly = Poly;
        // x^-1 = (P + 1) / x.
        ulong inverse = (1UL << 31) | ((poly ^ 1) >> 1);
        ulong square = exponent < 0 ? inverse : CrcPolynomialMath.XPowMod(1, poly, 32);
        ulong result = 1;
        for (long e = Math.Abs(exponent); e > 0; e >>= 1)
        {
            if ((e & 1) != 0)
                result = CrcPolynomialMath.MultiplyMod(result, square, poly, 32);
            square = CrcPolynomialMath.MultiplyMod(square, square, poly, 32);
        }
        return result;
    }

    /// <summary>[i] = x^(64·step·i − 33), reflected.</summary>
    private static ulong[] BuildPowers(int count, int step)
    {
        ulong poly = Poly;
        ulong stride = Power(64L * step);
        ulong power = Power(-33);
        var table = new ulong[count];
        for (int i = 0; i < count; i++)
        {
            table[i] = CrcPolynomialMath.Reflect(power, 32);
            power = CrcPolynomialMath.MultiplyMod(power, stride, poly, 32);
        }
        return table;
    }
}
