using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace PolledNvme.Protection;

/// <summary>
/// CRC-32C with the SSE4.2 <c>crc32</c> instruction: independent streams over consecutive
/// segments keep the instruction's pipeline full (latency 3; one per cycle on Intel and AMD
/// before Zen 5, so three streams; two per cycle on Zen 5, so six), then the partial CRCs
/// are shifted into place and added (<see cref="Crc32CShifts"/>).
/// </summary>
internal static unsafe class Crc32CInstruction
{
    /// <summary>Longest segment per stream, in 8-byte words, per round.</summary>
    public const int MaxWordsPerStream = 256;

    public static bool IsSupported => Sse42.X64.IsSupported;

    /// <summary>Below this many words per stream one stream is faster than paying for the combination.</summary>
    private const int MinWordsPerStream = 4;

    /// <summary>
    /// Without PCLMULQDQ, segments shorter than this are cut to a length with byte tables
    /// (<see cref="Crc32CShifts.TableProduct"/>, four loads per stream); from here on the
    /// 16-multiply software product (<see cref="Crc32CShifts.SoftwareProduct"/>) is amortised.
    /// </summary>
    private const int SoftwareProductWords = 24;

    /// <summary>Advances the (already inverted) CRC-32C register over <paramref name="data"/> with <typeparamref name="TShape"/>'s streams.</summary>
    public static uint Update<TShape>(uint register, ReadOnlySpan<byte> data) where TShape : struct, ICrc32CHybridShape
    {
        fixed (byte* start = data)
            return Update<TShape>(register, start, data.Length);
    }

    /// <summary>
    /// The streams over <paramref name="length"/> bytes at <paramref name="p"/>: the bytes past
    /// whole words first, on the register; then rounds of S equal segments, where the last
    /// round's words short of a multiple of S go to stream 0 ahead of its segment, so no
    /// serial tail follows the combination (a 512-byte buffer on six streams: 4 + 10 words,
    /// then 5 × 10 words, instead of 6 × 10 and 4 words after the combination).
    /// </summary>
    /// <remarks>
    /// Tiered, not <see cref="MethodImplOptions.AggressiveOptimization"/>: compiled at the first
    /// call, the shift tables' class-initialisation check is a call after the loop, and with
    /// six CRCs live across a call the JIT kept three of them on the stack (a reload per word,
    /// half the speed at 512 B). Tier 1 compiles after the tables exist.
    /// </remarks>
    public static uint Update<TShape>(uint register, byte* p, int length) where TShape : struct, ICrc32CHybridShape
    {
        int streams = TShape.Streams;
        const int minWords = MinWordsPerStream;
        if (length < streams * 8 * minWords)
            return UpdateShort(register, p, length);
        int head = length & 7;
        ulong crc = UpdateShort(register, p, head);
        p += head;
        int wordsLeft = length >> 3;
        while (wordsLeft >= streams * minWords)
        {
            int words = Math.Min(wordsLeft / streams, MaxWordsPerStream);
            if (!Pclmulqdq.IsSupported && words < SoftwareProductWords)
                words = Crc32CShifts.TableSegmentWords(words);
            int extra = wordsLeft - streams * words;
            if (extra >= streams * minWords)
                extra = 0;
            wordsLeft -= streams * words + extra;
            for (; extra > 0; extra--, p += 8)
                crc = Sse42.X64.Crc32(crc, Unsafe.ReadUnaligned<ulong>(p));
            // Few live registers in the loop (the six CRCs, two pointers, the gap, the end): with
            // more, the JIT keeps some CRCs on the stack and every word waits for a reload.
            nint gap = 8 * words;
            byte* s = p;
            byte* t = p + 3 * gap;
            byte* end = p + gap;
            ulong c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0;
            do
            {
                Words<TShape>(ref crc, ref c1, ref c2, ref c3, ref c4, ref c5, s, t, gap, 0);
                s += 8;
                t += 8;
            }
            while (s < end);
            p = s + (streams - 1) * gap;
            // Each partial CRC moved to the end of the last segment: products added, reduced once.
            if (Pclmulqdq.IsSupported)
            {
                ulong products = Crc32CStreamConstants<TShape>.Products(crc, c1, c2, c3, c4, words);
                crc = Crc32CShifts.Reduce(products) ^ (TShape.Streams == 6 ? c5 : c2);
            }
            else if (words < SoftwareProductWords)
            {
                ulong products = Crc32CShifts.TableProduct(crc, (streams - 1) * words)
                    ^ Crc32CShifts.TableProduct(c1, (streams - 2) * words);
                if (TShape.Streams == 6)
                {
                    products ^= Crc32CShifts.TableProduct(c2, 3 * words)
                        ^ Crc32CShifts.TableProduct(c3, 2 * words)
                        ^ Crc32CShifts.TableProduct(c4, words);
                    crc = Crc32CShifts.Reduce(products) ^ c5;
                }
                else
                    crc = Crc32CShifts.Reduce(products) ^ c2;
            }
            else
            {
                ulong products = Crc32CShifts.Product(crc, Crc32CShifts.Words((streams - 1) * words))
                    ^ Crc32CShifts.Product(c1, Crc32CShifts.Words((streams - 2) * words));
                if (TShape.Streams == 6)
                {
                    products ^= Crc32CShifts.Product(c2, Crc32CShifts.Words(3 * words))
                        ^ Crc32CShifts.Product(c3, Crc32CShifts.Words(2 * words))
                        ^ Crc32CShifts.Product(c4, Crc32CShifts.Words(words));
                    crc = Crc32CShifts.Reduce(products) ^ c5;
                }
                else
                    crc = Crc32CShifts.Reduce(products) ^ c2;
            }
        }
        return UpdateShort((uint)crc, p, 8 * wordsLeft);
    }

    /// <summary>
    /// One word of every stream of <typeparamref name="TShape"/>, <paramref name="offset"/>
    /// bytes on: streams 0..2 at <paramref name="s"/> + 0, 1, 2 × <paramref name="gap"/>,
    /// streams 3..5 likewise at <paramref name="t"/>. Inlined, the registers stay registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Words<TShape>(ref ulong c0, ref ulong c1, ref ulong c2, ref ulong c3, ref ulong c4, ref ulong c5,
        byte* s, byte* t, nint gap, int offset)
        where TShape : struct, ICrc32CHybridShape
    {
        c0 = Sse42.X64.Crc32(c0, Unsafe.ReadUnaligned<ulong>(s + offset));
        c1 = Sse42.X64.Crc32(c1, Unsafe.ReadUnaligned<ulong>(s + gap + offset));
        c2 = Sse42.X64.Crc32(c2, Unsafe.ReadUnaligned<ulong>(s + 2 * gap + offset));
        if (TShape.Streams == 6)
        {
            c3 = Sse42.X64.Crc32(c3, Unsafe.ReadUnaligned<ulong>(t + offset));
            c4 = Sse42.X64.Crc32(c4, Unsafe.ReadUnaligned<ulong>(t + gap + offset));
            c5 = Sse42.X64.Crc32(c5, Unsafe.ReadUnaligned<ulong>(t + 2 * gap + offset));
        }
    }

    /// <summary>One stream: for short buffers and tails.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint UpdateShort(uint register, ReadOnlySpan<byte> data)
    {
        fixed (byte* start = data)
            return UpdateShort(register, start, data.Length);
    }

    /// <summary>One stream over <paramref name="length"/> bytes at <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint UpdateShort(uint register, byte* p, int length)
    {
        {
            ulong crc = register;
            for (; length >= 8; p += 8, length -= 8)
                crc = Sse42.X64.Crc32(crc, Unsafe.ReadUnaligned<ulong>(p));
            uint c = (uint)crc;
            if ((length & 4) != 0)
            {
                c = Sse42.Crc32(c, Unsafe.ReadUnaligned<uint>(p));
                p += 4;
            }
            if ((length & 2) != 0)
            {
                c = Sse42.Crc32(c, Unsafe.ReadUnaligned<ushort>(p));
                p += 2;
            }
            if ((length & 1) != 0)
                c = Sse42.Crc32(c, *p);
            return c;
        }
    }
}
