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
    /// <summary>Independent accumulators of the single-buffer main loop: enough to cover the carry-less multiply latency.</summary>
    private const int Accumulators = 4;

    /// <summary>Blocks folded side by side by <see cref="UpdateFourBlocks{TWidth, TVector, TOrder}"/>.</summary>
    public const int InterleavedBlocks = 4;

    /// <summary>
    /// Advances <paramref name="register"/> over the first <c>length / 16 * 16</c> bytes at
    /// <paramref name="p"/> (nothing if <paramref name="length"/> &lt; 16).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong Update<TWidth, TVector, TOrder>(ulong register, byte* p, int length, CrcFoldingConstants k, out int consumed)
        where TWidth : struct, ICrcFoldWidth<TVector>
        where TVector : struct
        where TOrder : struct, ICrcBitOrder
    {
        if (length < 16)
        {
            consumed = 0;
            return register;
        }
        byte* start = p;
        int bytes = TWidth.Bytes;
        Vector128<ulong> x;
        if (length >= bytes)
        {
            TVector acc;
            if (length >= Accumulators * bytes)
            {
                TVector a0 = TWidth.Xor(TWidth.Load<TOrder>(p), TWidth.FirstLane(TOrder.Seed(register)));
                TVector a1 = TWidth.Load<TOrder>(p + bytes);
                TVector a2 = TWidth.Load<TOrder>(p + 2 * bytes);
                TVector a3 = TWidth.Load<TOrder>(p + 3 * bytes);
                p += Accumulators * bytes;
                length -= Accumulators * bytes;
                TVector k4 = TWidth.Broadcast(k.Fold(Accumulators * TWidth.Lanes));
                while (length >= Accumulators * bytes)
                {
                    a0 = TWidth.Fold(a0, TWidth.Load<TOrder>(p), k4);
                    a1 = TWidth.Fold(a1, TWidth.Load<TOrder>(p + bytes), k4);
                    a2 = TWidth.Fold(a2, TWidth.Load<TOrder>(p + 2 * bytes), k4);
                    a3 = TWidth.Fold(a3, TWidth.Load<TOrder>(p + 3 * bytes), k4);
                    p += Accumulators * bytes;
                    length -= Accumulators * bytes;
                }
                // The three products are independent; only the additions chain.
                acc = TWidth.Fold(a0, TWidth.Fold(a1, TWidth.Fold(a2, a3,
                    TWidth.Broadcast(k.Fold(TWidth.Lanes))),
                    TWidth.Broadcast(k.Fold(2 * TWidth.Lanes))),
                    TWidth.Broadcast(k.Fold(3 * TWidth.Lanes)));
            }
            else
            {
                acc = TWidth.Xor(TWidth.Load<TOrder>(p), TWidth.FirstLane(TOrder.Seed(register)));
                p += bytes;
                length -= bytes;
            }
            TVector k1 = TWidth.Broadcast(k.Fold(TWidth.Lanes));
            while (length >= bytes)
            {
                acc = TWidth.Fold(acc, TWidth.Load<TOrder>(p), k1);
                p += bytes;
                length -= bytes;
            }
            x = TWidth.Collapse(acc, k);
        }
        else
        {
            x = TOrder.Load128(p) ^ TOrder.Seed(register);
            p += 16;
            length -= 16;
        }
        Vector128<ulong> kLane = k.Fold(1);
        while (length >= 16)
        {
            x = FoldWidth128.Fold(x, TOrder.Load128(p), kLane);
            p += 16;
            length -= 16;
        }
        consumed = (int)(p - start);
        return TOrder.Reduce(x, k);
    }

    /// <summary>
    /// Advances four registers over four equal-length blocks at <paramref name="p"/> +
    /// i·<paramref name="stride"/>, their fold chains interleaved so the multiplier latency of
    /// one block hides behind the others. Requires <paramref name="length"/> ≥ one register;
    /// consumes <c>length / 16 * 16</c> bytes of each block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
