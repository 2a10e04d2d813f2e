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
    private const int MaxWordsPerStream = 256;

    public static bool IsSupported => Sse42.X64.IsSupported;

    /// <summary>
    /// Below this many words per stream one stream is faster than paying for the combination:
    /// a carry-less multiply per stream with PCLMULQDQ, a 16-multiply software product without
    /// (<see cref="Crc32CShifts.SoftwareProduct"/>).
    /// </summary>
    private static int MinWordsPerStream => Pclmulqdq.IsSupported ? 4 : 24;

    /// <summary>Advances the (already inverted) CRC-32C register over <paramref name="data"/> with <typeparamref name="TShape"/>'s streams.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static uint Update<TShape>(uint register, ReadOnlySpan<byte> data) where TShape : struct, ICrc32CHybridShape
    {
        fixed (byte* start = data)
        {
            byte* p = start;
            int length = data.Length;
            ulong crc = register;
            int streams = TShape.Streams;
            while (length >= streams * 8 * MinWordsPerStream)
            {
                int words = Math.Min(length / (8 * streams), MaxWordsPerStream);
                nint segment = words * 8;
                byte* q = p + 3 * segment;
                ulong c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0;
                for (nint i = 0; i < segment; i += 8)
                    Words<TShape>(ref crc, ref c1, ref c2, ref c3, ref c4, ref c5, p + i, q + i, segment, 0);
                // Each partial CRC moved to the end of the last segment: products added, reduced once.
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
                p += streams * segment;
                length -= streams * (int)segment;
            }
            return UpdateShort((uint)crc, new ReadOnlySpan<byte>(p, length));
        }
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
