using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PolledNvme.Protection;

/// <summary>
/// The shift constants of one round of <typeparamref name="TShape"/>'s <c>crc32</c> streams, per
/// segment length, laid out as the carry-less multiplies read them: the combination at the
/// end of a round is then two or three loads and multiplies, not a table walk and a vector
/// assembled lane by lane per stream (which cost as much as the crc32s at 512 B).
/// </summary>
/// <remarks>
/// Entry w (segment of w words) is <see cref="Stride"/> ulongs: stream i's constant moves it
/// over the S − 1 − i segments after it, in lanes 0 and 2 of 256-bit pairs
/// <c>[k0, 0, k1, 0], [k2, 0, k3, 0], ...</c>; the last stream needs none. Built once per shape
/// from <see cref="Crc32CShifts.Words"/>: about 25 KiB for six streams, 8 KiB for three.
/// </remarks>
internal static class Crc32CStreamConstants<TShape> where TShape : struct, ICrc32CHybridShape
{
    /// <summary>ulongs per segment length: 4 per pair of streams, the last stream's slot left zero.</summary>
    public static int Stride => TShape.Streams == 6 ? 12 : 4;

    private static readonly ulong[] s_table = Build(Crc32CInstruction.MaxWordsPerStream);

    private static ulong[] Build(int maxWords)
    {
        int streams = TShape.Streams;
        var table = new ulong[(maxWords + 1) * Stride];
        for (int w = 0; w <= maxWords; w++)
            for (int i = 0; i < streams - 1; i++)
                table[w * Stride + 2 * i] = Crc32CShifts.Words((streams - 1 - i) * w);
        return table;
    }

    /// <summary>
    /// The sum of the products of the stream CRCs c0..c(S−2) with their constants for segments
    /// of <paramref name="words"/> words (at most <see cref="Crc32CInstruction.MaxWordsPerStream"/>);
    /// reduced with <see cref="Crc32CShifts.Reduce"/> and added to the last stream's CRC, it is
    /// the CRC of the round. Needs PCLMULQDQ.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe ulong Products(ulong c0, ulong c1, ulong c2, ulong c3, ulong c4, int words)
    {
        ref ulong k = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(s_table), words * Stride);
        if (Pclmulqdq.V256.IsSupported)
        {
            Vector256<ulong> sum = Pclmulqdq.V256.CarrylessMultiply(Vector256.Create(c0, 0, c1, 0), Vector256.LoadUnsafe(ref k), 0x00);
            if (TShape.Streams == 6)
                sum ^= Pclmulqdq.V256.CarrylessMultiply(Vector256.Create(c2, 0, c3, 0), Vector256.LoadUnsafe(ref k, 4), 0x00);
            ulong products = (sum.GetLower() ^ sum.GetUpper()).ToScalar();
            return TShape.Streams == 6 ? products ^ Product(c4, Unsafe.Add(ref k, 8)) : products;
        }
        ulong p = Product(c0, k) ^ Product(c1, Unsafe.Add(ref k, 2));
        if (TShape.Streams == 6)
            p ^= Product(c2, Unsafe.Add(ref k, 4)) ^ Product(c3, Unsafe.Add(ref k, 6)) ^ Product(c4, Unsafe.Add(ref k, 8));
        return p;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Product(ulong register, ulong constant)
        => Pclmulqdq.CarrylessMultiply(Vector128.CreateScalar(register), Vector128.CreateScalar(constant), 0x00).ToScalar();
}
