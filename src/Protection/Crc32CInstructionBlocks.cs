using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace PolledNvme.Protection;

/// <summary>
/// Multi-block CRC-32C on the <c>crc32</c> instruction alone (the SSE4.2 class's
/// <c>ComputeBlocks</c>): three or six blocks at a time, one dependency chain per block,
/// interleaved word by word. The instruction's latency is hidden by the other blocks' chains
/// instead of by streams within a block, so no stream has to be shifted and combined: for
/// 512 B blocks the combination cost as much as the words.
/// </summary>
internal static unsafe class Crc32CInstructionBlocks
{
    /// <summary>
    /// The CRCs of the leading whole groups of blocks (block i at <c>p + i * stride</c>, each
    /// <paramref name="blockLength"/> bytes), six per group where <paramref name="six"/>, then
    /// three; returns how many blocks were done (the rest, fewer than three, is the caller's).
    /// </summary>
    public static int Compute(byte* p, int blockLength, int stride, Span<uint> crcs, bool six)
    {
        int count = crcs.Length;
        int done = 0;
        if (six)
            for (; done + 6 <= count; done += 6)
                Six(p + (nint)done * stride, blockLength, stride, crcs.Slice(done, 6));
        for (; done + 3 <= count; done += 3)
            Three(p + (nint)done * stride, blockLength, stride, crcs.Slice(done, 3));
        return done;
    }

    private static void Three(byte* a, int blockLength, nint stride, Span<uint> crcs)
    {
        byte* b = a + stride, c = b + stride;
        ulong ca = uint.MaxValue, cb = uint.MaxValue, cc = uint.MaxValue;
        nint whole = blockLength & ~7;
        for (nint o = 0; o < whole; o += 8)
        {
            ca = Sse42.X64.Crc32(ca, Unsafe.ReadUnaligned<ulong>(a + o));
            cb = Sse42.X64.Crc32(cb, Unsafe.ReadUnaligned<ulong>(b + o));
            cc = Sse42.X64.Crc32(cc, Unsafe.ReadUnaligned<ulong>(c + o));
        }
        int tail = blockLength & 7;
        crcs[0] = Finish(ca, a + whole, tail);
        crcs[1] = Finish(cb, b + whole, tail);
        crcs[2] = Finish(cc, c + whole, tail);
    }

    private static void Six(byte* a, int blockLength, nint stride, Span<uint> crcs)
    {
        byte* b = a + stride, c = b + stride, d = c + stride, e = d + stride, f = e + stride;
        ulong ca = uint.MaxValue, cb = uint.MaxValue, cc = uint.MaxValue, cd = uint.MaxValue, ce = uint.MaxValue, cf = uint.MaxValue;
        nint whole = blockLength & ~7;
        for (nint o = 0; o < whole; o += 8)
        {
            ca = Sse42.X64.Crc32(ca, Unsafe.ReadUnaligned<ulong>(a + o));
            cb = Sse42.X64.Crc32(cb, Unsafe.ReadUnaligned<ulong>(b + o));
            cc = Sse42.X64.Crc32(cc, Unsafe.ReadUnaligned<ulong>(c + o));
            cd = Sse42.X64.Crc32(cd, Unsafe.ReadUnaligned<ulong>(d + o));
            ce = Sse42.X64.Crc32(ce, Unsafe.ReadUnaligned<ulong>(e + o));
            cf = Sse42.X64.Crc32(cf, Unsafe.ReadUnaligned<ulong>(f + o));
        }
        int tail = blockLength & 7;
        crcs[0] = Finish(ca, a + whole, tail);
        crcs[1] = Finish(cb, b + whole, tail);
        crcs[2] = Finish(cc, c + whole, tail);
        crcs[3] = Finish(cd, d + whole, tail);
        crcs[4] = Finish(ce, e + whole, tail);
        crcs[5] = Finish(cf, f + whole, tail);
    }

    /// <summary>The block's last bytes (under 8) and the final inversion.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Finish(ulong register, byte* p, int tail) => ~Crc32CInstruction.UpdateShort((uint)register, p, tail);
}
