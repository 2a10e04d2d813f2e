using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace PolledNvme.Protection;

/// <summary>
/// Carry-less-multiply folding kernels, written once and specialised by the JIT per register
/// width (<see cref="ICrcFoldWidth{TVector}"/>) and bit order (<see cref="ICrcBitOrder"/>).
/// They work on the 64-bit register of <see cref="CrcPolynomialMath"/>, consume whole
/// 16-byte lanes and report how much they consumed; the caller's table loop finishes the tail.
/// </summary>
internal static unsafe class CrcFolding
{
    /// <summary>
    /// Independent accumulators of the single-buffer main loop: enough to cover the carry-less
    /// multiply latency (eight measured no faster on Zen 5, where the multiplier's throughput,
    /// one instruction per two cycles at any width, is the limit).
    /// </summary>
    private const int Accumulators = 4;

    /// <summary>Blocks folded side by side by <see cref="UpdateFourBlocks{TWidth, TVector, TOrder}"/>.</summary>
    public const int InterleavedBlocks = 4;

    /// <summary>
    /// Advances <paramref name="register"/> over the first <c>length / 16 * 16</c> bytes at
    /// <paramref name="p"/> (nothing if <paramref name="length"/> &lt; 16).
    /// </summary>
    /// <remarks>
    /// Four accumulators fold the data a group of four registers at a time while more than
    /// two groups remain. What is left then (the accumulators and up to one more group of
    /// data) goes in one final layer: every register is multiplied by the constants of its
    /// lanes' distances to the last lane and the products are added, so the tail costs one
    /// multiply latency instead of a chain of folds (at 512 B that chain was most of the time).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static ulong Update<TWidth, TVector, TOrder>(ulong register, byte* p, int length, CrcFoldingConstants k, out int consumed)
        where TWidth : struct, ICrcFoldWidth<TVector>
        where TVector : struct
        where TOrder : struct, ICrcBitOrder
    {
        int lanes = length >> 4;
        consumed = lanes << 4;
        if (lanes == 0)
            return register;
        Vector128<ulong> seed = TOrder.Seed(register);
        if (lanes == 1)
            return TOrder.Reduce(TOrder.Load128(p) ^ seed, k);
        int bytes = TWidth.Bytes;
        int group = Accumulators * bytes;
        int left = consumed;
        Vector128<ulong> x;
        if (left >= 2 * group)
        {
            TVector a0 = TWidth.Xor(TWidth.Load<TOrder>(p), TWidth.FirstLane(seed));
            TVector a1 = TWidth.Load<TOrder>(p + bytes);
            TVector a2 = TWidth.Load<TOrder>(p + 2 * bytes);
            TVector a3 = TWidth.Load<TOrder>(p + 3 * bytes);
            p += group;
            left -= group;
            TVector k4 = TWidth.Broadcast(k.Fold(Accumulators * TWidth.Lanes));
            while (left > group)
            {
                FoldGroup<TWidth, TVector, TOrder>(ref a0, ref a1, ref a2, ref a3, p, k4);
                p += group;
                left -= group;
            }
            x = FinalLayer<TWidth, TVector, TOrder>(a0, a1, a2, a3, p, left, k);
        }
        else if (left >= bytes)
        {
            // Less than two groups: one layer over all of it, the register seeded first.
            int distance = lanes - 1;
            TVector first = TWidth.Xor(TWidth.Load<TOrder>(p), TWidth.FirstLane(seed));
            TVector sum = TWidth.Multiply(first, TWidth.LoadConstants(k.ByDistance(distance)));
            x = FinalRegisters<TWidth, TVector, TOrder>(sum, p + bytes, left - bytes, distance - TWidth.Lanes, k);
        }
        else
        {
            // Two to (lanes per register − 1) lanes: lane by lane, still one layer.
            int distance = lanes - 1;
            x = FoldWidth128.Multiply(TOrder.Load128(p) ^ seed, Vector128.Load((ulong*)k.ByDistance(distance)));
            x = FinalLanes<TOrder>(x, p + 16, left - 16, distance - 1, k);
        }
        return TOrder.Reduce(x, k);
    }

    /// <summary>
    /// Folds four accumulators forward by a group of four registers and adds the group at
    /// <paramref name="p"/> (<paramref name="k"/>: the constants of that distance). Inlined,
    /// the accumulators stay registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FoldGroup<TWidth, TVector, TOrder>(ref TVector a0, ref TVector a1, ref TVector a2, ref TVector a3, byte* p, TVector k)
        where TWidth : struct, ICrcFoldWidth<TVector>
        where TVector : struct
        where TOrder : struct, ICrcBitOrder
    {
        int bytes = TWidth.Bytes;
        a0 = TWidth.Fold(a0, TWidth.Load<TOrder>(p), k);
        a1 = TWidth.Fold(a1, TWidth.Load<TOrder>(p + bytes), k);
        a2 = TWidth.Fold(a2, TWidth.Load<TOrder>(p + 2 * bytes), k);
        a3 = TWidth.Fold(a3, TWidth.Load<TOrder>(p + 3 * bytes), k);
    }

    /// <summary>
    /// Folds four accumulators (standing for the group of registers just before
    /// <paramref name="p"/>) and the <paramref name="left"/> bytes at <paramref name="p"/>
    /// (whole lanes, at most one group) onto the last lane, in one layer; returns that lane.
    /// The last lane must not hold the seed unless it is in the data (left &gt; 0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> FinalLayer<TWidth, TVector, TOrder>(TVector a0, TVector a1, TVector a2, TVector a3, byte* p, int left, CrcFoldingConstants k)
        where TWidth : struct, ICrcFoldWidth<TVector>
        where TVector : struct
        where TOrder : struct, ICrcBitOrder
    {
        int distance = (Accumulators * TWidth.Bytes + left) / 16 - 1;
        TVector sum = TWidth.Multiply(a0, TWidth.LoadConstants(k.ByDistance(distance)));
        sum = TWidth.Fold(a1, sum, TWidth.LoadConstants(k.ByDistance(distance - TWidth.Lanes)));
        sum = TWidth.Fold(a2, sum, TWidth.LoadConstants(k.ByDistance(distance - 2 * TWidth.Lanes)));
        sum = TWidth.Fold(a3, sum, TWidth.LoadConstants(k.ByDistance(distance - 3 * TWidth.Lanes)));
        return FinalRegisters<TWidth, TVector, TOrder>(sum, p, left, distance - 4 * TWidth.Lanes, k);
    }

    /// <summary>
    /// Adds <paramref name="left"/> bytes of data (whole lanes, the first at
    /// <paramref name="distance"/> lanes from the last) to a sum of lanes already moved to the
    /// last lane; returns the last lane's content.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> FinalRegisters<TWidth, TVector, TOrder>(TVector sum, byte* p, int left, int distance, CrcFoldingConstants k)
        where TWidth : struct, ICrcFoldWidth<TVector>
        where TVector : struct
        where TOrder : struct, ICrcBitOrder
    {
        int bytes = TWidth.Bytes;
        for (; left >= bytes; left -= bytes, p += bytes, distance -= TWidth.Lanes)
            sum = TWidth.Fold(TWidth.Load<TOrder>(p), sum, TWidth.LoadConstants(k.ByDistance(distance)));
        return FinalLanes<TOrder>(TWidth.SumLanes(sum), p, left, distance, k);
    }

    /// <summary>
    /// Adds the last lanes one by one and then the very last lane itself, whose constant
    /// (distance 0) was zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> FinalLanes<TOrder>(Vector128<ulong> x, byte* p, int left, int distance, CrcFoldingConstants k)
        where TOrder : struct, ICrcBitOrder
    {
        for (; left >= 16; left -= 16, p += 16, distance--)
            x = FoldWidth128.Fold(TOrder.Load128(p), x, Vector128.Load((ulong*)k.ByDistance(distance)));
        return x ^ TOrder.Load128(p - 16);
    }

    /// <summary>
    /// Advances four registers over four equal-length blocks at <paramref name="p"/> +
    /// i·<paramref name="stride"/>, their fold chains interleaved so the multiplier latency of
    /// one block hides behind the others. Requires <paramref name="length"/> ≥ one register;
    /// consumes <c>length / 16 * 16</c> bytes of each block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static int UpdateFourBlocks<TWidth, TVector, TOrder>(ulong* registers, byte* p, int length, nint stride, CrcFoldingConstants k)
        where TWidth : struct, ICrcFoldWidth<TVector>
        where TVector : struct
        where TOrder : struct, ICrcBitOrder
    {
        int bytes = TWidth.Bytes;
        byte* p0 = p, p1 = p + stride, p2 = p + 2 * stride, p3 = p + 3 * stride;
        TVector a0 = TWidth.Xor(TWidth.Load<TOrder>(p0), TWidth.FirstLane(TOrder.Seed(registers[0])));
        TVector a1 = TWidth.Xor(TWidth.Load<TOrder>(p1), TWidth.FirstLane(TOrder.Seed(registers[1])));
        TVector a2 = TWidth.Xor(TWidth.Load<TOrder>(p2), TWidth.FirstLane(TOrder.Seed(registers[2])));
        TVector a3 = TWidth.Xor(TWidth.Load<TOrder>(p3), TWidth.FirstLane(TOrder.Seed(registers[3])));
        int offset = bytes;
        TVector k1 = TWidth.Broadcast(k.Fold(TWidth.Lanes));
        for (; offset + bytes <= length; offset += bytes)
        {
            a0 = TWidth.Fold(a0, TWidth.Load<TOrder>(p0 + offset), k1);
            a1 = TWidth.Fold(a1, TWidth.Load<TOrder>(p1 + offset), k1);
            a2 = TWidth.Fold(a2, TWidth.Load<TOrder>(p2 + offset), k1);
            a3 = TWidth.Fold(a3, TWidth.Load<TOrder>(p3 + offset), k1);
        }
        Vector128<ulong> x0 = TWidth.Collapse(a0, k), x1 = TWidth.Collapse(a1, k);
        Vector128<ulong> x2 = TWidth.Collapse(a2, k), x3 = TWidth.Collapse(a3, k);
        Vector128<ulong> kLane = k.Fold(1);
        for (; offset + 16 <= length; offset += 16)
        {
            x0 = FoldWidth128.Fold(x0, TOrder.Load128(p0 + offset), kLane);
            x1 = FoldWidth128.Fold(x1, TOrder.Load128(p1 + offset), kLane);
            x2 = FoldWidth128.Fold(x2, TOrder.Load128(p2 + offset), kLane);
            x3 = FoldWidth128.Fold(x3, TOrder.Load128(p3 + offset), kLane);
        }
        registers[0] = TOrder.Reduce(x0, k);
        registers[1] = TOrder.Reduce(x1, k);
        registers[2] = TOrder.Reduce(x2, k);
        registers[3] = TOrder.Reduce(x3, k);
        return offset;
    }
}
