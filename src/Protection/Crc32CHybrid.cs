using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PolledNvme.Protection;

/// <summary>
/// The proportions of the <c>crc32</c> instruction paths on one CPU, as constants for the
/// JIT: how many streams keep the instruction busy, and how many words each stream takes in
/// the hybrid kernel per four-register fold so that both units finish together.
/// </summary>
internal interface ICrc32CHybridShape
{
    /// <summary>3 where crc32 issues once per cycle (latency 3), 6 where twice.</summary>
    static abstract int Streams { get; }

    /// <summary>Words of every stream per four-register fold (1 to 5).</summary>
    static abstract int WordsPerFold { get; }
}

/// <summary>AMD Zen 5: two crc32 per cycle; a 512/256/128-bit fold of four registers takes 16 cycles (one multiply per two cycles).</summary>
internal readonly struct SixByFive : ICrc32CHybridShape
{
    public static int Streams => 6;
    public static int WordsPerFold => 5;
}

/// <summary>AMD Zen 3 and 4: one crc32 per cycle; a four-register fold takes 16 cycles.</summary>
internal readonly struct ThreeByFive : ICrc32CHybridShape
{
    public static int Streams => 3;
    public static int WordsPerFold => 5;
}

/// <summary>Intel (and unknown vendors): one crc32 per cycle; a four-register fold takes 8 cycles where the multiplier issues once per cycle.</summary>
internal readonly struct ThreeByTwo : ICrc32CHybridShape
{
    public static int Streams => 3;
    public static int WordsPerFold => 2;
}

/// <summary>A shape as a value, for the dispatch plan and for people.</summary>
internal readonly record struct Crc32CHybridShape(int Streams, int WordsPerFold)
{
    /// <summary>Bytes of one loop iteration with <paramref name="vectorBytes"/>-byte registers; also the shortest buffer the kernel takes.</summary>
    public int IterationBytes(int vectorBytes) => 4 * vectorBytes + Streams * 8 * WordsPerFold;

    public static Crc32CHybridShape Of<TShape>() where TShape : struct, ICrc32CHybridShape => new(TShape.Streams, TShape.WordsPerFold);

    public override string ToString() => $"{Streams} crc32 streams x {WordsPerFold} words per fold";
}

/// <summary>
/// CRC-32C with the <c>crc32</c> instruction and carry-less-multiply folding working on one
/// buffer at once: they run on different execution units (integer ALU; vector multiplier),
/// so their throughputs add. The buffer is cut into S equal stream segments followed by a
/// vector part; one loop advances the folding four registers at a time and every stream a
/// few words; then each stream's CRC is shifted to the end of the buffer with a constant
/// derived from the polynomial (<see cref="Crc32CShifts"/>) and added to the vector part's.
/// </summary>
/// <remarks>
/// <code>
/// | stream 0      | stream 1 | ... | stream S−1 | vector part (16-byte lanes)       |
///   head (&lt; 16 B)   w words each, from zero       folded from zero; the last lane is
///   and w words                                   reduced with two crc32 instructions
///   from the register
/// result = crc32(crc32(0, last lane.lo), last lane.hi) + crc32(0, Σ clmul(crc_i, x^(64·d_i − 33)))
/// </code>
/// The streams come first so that only their (short) combination waits for a multiply: the
/// vector part, which finishes last, needs no shift.
/// </remarks>
internal static unsafe class Crc32CHybrid
{
    /// <summary>
    /// Advances the CRC-32C register over <paramref name="length"/> bytes at <paramref name="p"/>
    /// (at least <see cref="Crc32CHybridShape.IterationBytes"/>; shorter buffers take another
    /// path). Buffers over a mebibyte go in pieces computed from zero and shifted in, so the
    /// shift distances stay within <see cref="Crc32CShifts.MaxWords"/>.
    /// </summary>
    public static uint Update<TWidth, TVector, TShape>(uint register, byte* p, nint length, CrcFoldingConstants k)
        where TWidth : struct, ICrcFoldWidth<TVector>
        where TVector : struct
        where TShape : struct, ICrc32CHybridShape
    {
        const int MaxPiece = 1 << 20;
        int perFold = TShape.WordsPerFold;
        int iteration = Crc32CHybridShape.Of<TShape>().IterationBytes(TWidth.Bytes);
        if (length >= MaxPiece + iteration)
        {
            ulong pieceShift = Crc32CShifts.Words(MaxPiece / 8);
            int pieceWords = WordsFor<TWidth, TVector, TShape>(MaxPiece);
            register = Piece<TWidth, TVector, TShape>(register, p, MaxPiece, pieceWords, k);
            p += MaxPiece;
            length -= MaxPiece;
            while (length >= MaxPiece + iteration)
            {
                uint next = Piece<TWidth, TVector, TShape>(0, p, MaxPiece, pieceWords, k);
                register = (uint)Crc32CShifts.Shift(register, pieceShift) ^ next;
                p += MaxPiece;
                length -= MaxPiece;
            }
        }
        int rest = (int)length;
        return Piece<TWidth, TVector, TShape>(register, p, rest, WordsFor<TWidth, TVector, TShape>(rest), k);
    }

    /// <summary>
    /// Words per stream for a piece of <paramref name="length"/> bytes: the loop's proportion,
    /// floor(length · w / iteration), at most what leaves the folded part four registers; with
    /// an even number of streams, rounded down (by at most <see cref="ICrcFoldWidth{TVector}.Lanes"/>
    /// − 1) to where the folded part is whole registers.
    /// </summary>
    /// <remarks>
    /// One multiply by a 32-bit reciprocal, not a quotient and a remainder: every stream's
    /// address waits on this value, and the streams are a latency-bound chain (three cycles a
    /// word), so each cycle here is a cycle of the whole kernel (the division chain cost a
    /// sixth of a 4 KiB call on Zen 5). The reciprocal is rounded down, so the result never
    /// exceeds the exact quotient. Whole registers leave the folding's tail no 16-byte lanes to
    /// fold one after another (4 KiB on six streams: 40 words instead of 41, 1-2 % faster).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int WordsFor<TWidth, TVector, TShape>(int length)
        where TWidth : struct, ICrcFoldWidth<TVector>
        where TVector : struct
        where TShape : struct, ICrc32CHybridShape
    {
        ulong iteration = (ulong)Crc32CHybridShape.Of<TShape>().IterationBytes(TWidth.Bytes);
        ulong reciprocal = ((ulong)TShape.WordsPerFold << 32) / iteration;
        int balanced = (int)(((ulong)(uint)length * reciprocal) >> 32);
        int words = Math.Min(balanced, (length - 4 * TWidth.Bytes) / (8 * TShape.Streams));
        if (TShape.Streams % 2 == 0 && TWidth.Lanes > 1)
        {
            // Lanes (16 bytes) left to the folding: those past the head, less S/2 per word.
            int lanes = length >> 4;
            for (int i = 1; i < TWidth.Lanes && words > 0 && ((lanes - TShape.Streams / 2 * words) & (TWidth.Lanes - 1)) != 0; i++)
                words--;
        }
        return words;
    }

    /// <summary>One piece: <paramref name="words"/> words per stream, the rest (at least four registers) folded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static uint Piece<TWidth, TVector, TShape>(uint register, byte* p, int length, int words, CrcFoldingConstants k)
        where TWidth : struct, ICrcFoldWidth<TVector>
        where TVector : struct
        where TShape : struct, ICrc32CHybridShape
    {
        int bytes = TWidth.Bytes;
        int group = 4 * bytes;
        nint segment = 8 * words;
        int vectorBytes = length - TShape.Streams * (int)segment;
        // The bytes past whole lanes, taken by stream 0 first. With an even number of streams
        // the streams cover whole lanes, so this is length's remainder: the first stream's
        // address then does not wait on the words per stream.
        int head = (TShape.Streams % 2 == 0 ? length : vectorBytes) & 15;
        vectorBytes -= head;

        ulong c0 = Crc32CInstruction.UpdateShort(register, p, head);
        byte* s = p + head;           // streams 0..2 at s, s + segment, s + 2·segment
        byte* t = s + 3 * segment;    // streams 3..5 likewise (six streams only)
        byte* v = s + TShape.Streams * segment;
        ulong c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0;
        int wordsLeft = words;

        TVector a0 = TWidth.Load<ReflectedBitOrder>(v);
        TVector a1 = TWidth.Load<ReflectedBitOrder>(v + bytes);
        TVector a2 = TWidth.Load<ReflectedBitOrder>(v + 2 * bytes);
        TVector a3 = TWidth.Load<ReflectedBitOrder>(v + 3 * bytes);
        v += group;
        int left = vectorBytes - group;
        TVector kGroup = TWidth.Broadcast(k.Fold(4 * TWidth.Lanes));
        while (true)
        {
            if (wordsLeft >= TShape.WordsPerFold)
            {
                // Unrolled (the shape is a constant): a loop here costs a mispredicted exit per fold.
                Crc32CInstruction.Words<TShape>(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, s, t, segment, 0);
                if (TShape.WordsPerFold > 1)
                    Crc32CInstruction.Words<TShape>(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, s, t, segment, 8);
                if (TShape.WordsPerFold > 2)
                    Crc32CInstruction.Words<TShape>(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, s, t, segment, 16);
                if (TShape.WordsPerFold > 3)
                    Crc32CInstruction.Words<TShape>(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, s, t, segment, 24);
                if (TShape.WordsPerFold > 4)
                    Crc32CInstruction.Words<TShape>(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, s, t, segment, 32);
                s += 8 * TShape.WordsPerFold;
                t += 8 * TShape.WordsPerFold;
                wordsLeft -= TShape.WordsPerFold;
            }
            if (left <= group)
                break;
            CrcFolding.FoldGroup<TWidth, TVector, ReflectedBitOrder>(ref a0, ref a1, ref a2, ref a3, v, kGroup);
            v += group;
            left -= group;
        }
        // The streams' last few words, while the folding finishes out of order.
        for (; wordsLeft > 0; wordsLeft--, s += 8, t += 8)
            Crc32CInstruction.Words<TShape>(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, s, t, segment, 0);
        // The accumulators are consumed before the stream products: those read the shift tables,
        // whose class-initialisation check is a call in optimised-at-first-call code, and a
        // call with four 512-bit accumulators live made the JIT keep them on the stack through
        // the whole loop (stores and reloads each fold, 40 % slower at 4 KiB).
        Vector128<ulong> x = CrcFolding.FinalLayer<TWidth, TVector, ReflectedBitOrder>(a0, a1, a2, a3, v, left, k);
        // Each stream's CRC moved over the streams after it and the folded part: d_i = (S − 1 − i)·w + v words.
        ulong products = Crc32CShifts.StreamProducts<TShape>(c0, c1, c2, c3, c4, c5, words, vectorBytes / 8);
        return (uint)(Crc32CBitOrder.Reduce(x, k) ^ Crc32CShifts.Reduce(products));
    }
}
