using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PolledNvme.Protection;

/// <summary>
/// The hybrid multi-block CRC-32C: in each round, four blocks are folded side by side (one
/// register of each per step, as <see cref="CrcFolding.UpdateFourBlocks{TWidth, TVector, TOrder}"/>)
/// while S more blocks each run as one <c>crc32</c> stream, advanced the same number of bytes
/// per step. A stream that covers a whole block needs no combination: its register is the
/// block's CRC. PI blocks (512 or 4096 bytes, interleaved with metadata) are the use.
/// </summary>
/// <remarks>
/// A step is four folds (8 multiplies: 16 cycles at one per two cycles) and
/// <c>width / 8</c> words of every stream (at 512 bits, 8 words: 24 cycles of crc32 latency).
/// On AMD Zen 5 (six streams) a round of ten 512-byte blocks takes about 8 × 24 cycles, where
/// folding alone takes 8 × 16 cycles for four.
/// </remarks>
internal static unsafe class Crc32CBlocks
{
    /// <summary>Blocks per round: four folded, the shape's streams on the crc32 instruction.</summary>
    public static int BlocksPerRound<TShape>() where TShape : struct, ICrc32CHybridShape => 4 + TShape.Streams;

    /// <summary>
    /// CRCs (final values, from 0) of whole rounds of blocks; returns how many blocks it did
    /// (a multiple of <see cref="BlocksPerRound{TShape}"/>; none if a block is shorter than one register).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static int Update<TWidth, TVector, TShape>(byte* p, int blockLength, nint stride, Span<uint> crcs, CrcFoldingConstants k)
        where TWidth : struct, ICrcFoldWidth<TVector>
        where TVector : struct
        where TShape : struct, ICrc32CHybridShape
    {
        int bytes = TWidth.Bytes;
        int registers = blockLength / bytes;
        int perRound = 4 + TShape.Streams;
        if (registers == 0)
            return 0;
        int done = 0;
        TVector k1 = TWidth.Broadcast(k.Fold(TWidth.Lanes));
        TVector seed = TWidth.FirstLane(ReflectedBitOrder.Seed(uint.MaxValue));
        for (; done + perRound <= crcs.Length; done += perRound, p += perRound * stride)
        {
            byte* v = p;                     // folded blocks: v, v + stride, v + 2·stride, w
            byte* w = p + 3 * stride;
            byte* s = p + 4 * stride;        // streamed blocks 0..2: s, s + stride, s + 2·stride
            byte* t = p + 7 * stride;        // streamed blocks 3..5 (six streams only)
            TVector a0 = TWidth.Xor(TWidth.Load<ReflectedBitOrder>(v), seed);
            TVector a1 = TWidth.Xor(TWidth.Load<ReflectedBitOrder>(v + stride), seed);
            TVector a2 = TWidth.Xor(TWidth.Load<ReflectedBitOrder>(v + 2 * stride), seed);
            TVector a3 = TWidth.Xor(TWidth.Load<ReflectedBitOrder>(w), seed);
            ulong c0 = uint.MaxValue, c1 = uint.MaxValue, c2 = uint.MaxValue, c3 = uint.MaxValue, c4 = uint.MaxValue, c5 = uint.MaxValue;
            for (int r = 0; ; )
            {
                // The streams take a register's worth of bytes per step (unrolled: the width is a constant).
                Crc32CInstruction.Words<TShape>(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, s, t, stride, 0);
                Crc32CInstruction.Words<TShape>(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, s, t, stride, 8);
                if (bytes >= 32)
                {
                    Crc32CInstruction.Words<TShape>(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, s, t, stride, 16);
                    Crc32CInstruction.Words<TShape>(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, s, t, stride, 24);
                }
                if (bytes >= 64)
                {
                    Crc32CInstruction.Words<TShape>(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, s, t, stride, 32);
                    Crc32CInstruction.Words<TShape>(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, s, t, stride, 40);
                    Crc32CInstruction.Words<TShape>(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, s, t, stride, 48);
                    Crc32CInstruction.Words<TShape>(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, s, t, stride, 56);
                }
                s += bytes;
                t += bytes;
                v += bytes;
                w += bytes;
                if (++r == registers)
                    break;
                a0 = TWidth.Fold(a0, TWidth.Load<ReflectedBitOrder>(v), k1);
                a1 = TWidth.Fold(a1, TWidth.Load<ReflectedBitOrder>(v + stride), k1);
                a2 = TWidth.Fold(a2, TWidth.Load<ReflectedBitOrder>(v + 2 * stride), k1);
                a3 = TWidth.Fold(a3, TWidth.Load<ReflectedBitOrder>(w), k1);
            }
            // What is left of each block after its whole registers: lanes, then bytes.
            int rest = blockLength - registers * bytes;
            crcs[done] = ~Finish<TWidth, TVector>(a0, v, rest, k);
            crcs[done + 1] = ~Finish<TWidth, TVector>(a1, v + stride, rest, k);
            crcs[done + 2] = ~Finish<TWidth, TVector>(a2, v + 2 * stride, rest, k);
            crcs[done + 3] = ~Finish<TWidth, TVector>(a3, w, rest, k);
            crcs[done + 4] = ~Crc32CInstruction.UpdateShort((uint)c0, new ReadOnlySpan<byte>(s, rest));
            crcs[done + 5] = ~Crc32CInstruction.UpdateShort((uint)c1, new ReadOnlySpan<byte>(s + stride, rest));
            crcs[done + 6] = ~Crc32CInstruction.UpdateShort((uint)c2, new ReadOnlySpan<byte>(s + 2 * stride, rest));
            if (TShape.Streams == 6)
            {
                crcs[done + 7] = ~Crc32CInstruction.UpdateShort((uint)c3, new ReadOnlySpan<byte>(t, rest));
                crcs[done + 8] = ~Crc32CInstruction.UpdateShort((uint)c4, new ReadOnlySpan<byte>(t + stride, rest));
                crcs[done + 9] = ~Crc32CInstruction.UpdateShort((uint)c5, new ReadOnlySpan<byte>(t + 2 * stride, rest));
            }
        }
        return done;
    }

    /// <summary>A folded block's register at <paramref name="p"/>: its lanes collapsed, the whole lanes and bytes after it added.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Finish<TWidth, TVector>(TVector acc, byte* p, int rest, CrcFoldingConstants k)
        where TWidth : struct, ICrcFoldWidth<TVector>
        where TVector : struct
    {
        Vector128<ulong> x = TWidth.Collapse(acc, k);
        Vector128<ulong> kLane = k.Fold(1);
        for (; rest >= 16; rest -= 16, p += 16)
            x = FoldWidth128.Fold(x, ReflectedBitOrder.Load128(p), kLane);
        uint register = (uint)Crc32CBitOrder.Reduce(x, k);
        return rest == 0 ? register : Crc32CInstruction.UpdateShort(register, new ReadOnlySpan<byte>(p, rest));
    }
}
