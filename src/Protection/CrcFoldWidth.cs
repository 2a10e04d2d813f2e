using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PolledNvme.Protection;

/// <summary>
/// One register width of the folding kernels (128, 256 or 512 bits = 1, 2 or 4 lanes of
/// 128 bits). The kernels in <see cref="CrcFolding"/> are written once, generic over this.
/// </summary>
internal unsafe interface ICrcFoldWidth<TVector> where TVector : struct
{
    /// <summary>Bytes per register.</summary>
    static abstract int Bytes { get; }

    /// <summary>128-bit lanes per register.</summary>
    static abstract int Lanes { get; }

    static abstract TVector Load<TOrder>(byte* p) where TOrder : ICrcBitOrder;

    /// <summary>A register whose first lane is <paramref name="lane"/> and the rest zero.</summary>
    static abstract TVector FirstLane(Vector128<ulong> lane);

    static abstract TVector Xor(TVector a, TVector b);

    /// <summary>The same constant pair in every lane.</summary>
    static abstract TVector Broadcast(Vector128<ulong> pair);

    /// <summary>Folds every lane of <paramref name="acc"/> forward by the distance of <paramref name="k"/> and adds <paramref name="next"/>.</summary>
    static abstract TVector Fold(TVector acc, TVector next, TVector k);

    /// <summary>Folds all lanes of one register onto its last lane.</summary>
    static abstract Vector128<ulong> Collapse(TVector acc, CrcFoldingConstants k);

    /// <summary>Constant pairs for every lane of a register, from consecutive pairs at <paramref name="pairs"/>.</summary>
    static abstract TVector LoadConstants(Vector128<ulong>* pairs);

    /// <summary>Multiplies every lane by its constant pair (a fold without the addition).</summary>
    static abstract TVector Multiply(TVector lanes, TVector k);

    /// <summary>The sum of all lanes (lanes already moved to the same place).</summary>
    static abstract Vector128<ulong> SumLanes(TVector v);
}

/// <summary>128-bit registers: PCLMULQDQ.</summary>
internal readonly unsafe struct FoldWidth128 : ICrcFoldWidth<Vector128<ulong>>
{
    public static int Bytes => 16;
    public static int Lanes => 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> Load<TOrder>(byte* p) where TOrder : ICrcBitOrder => TOrder.Load128(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> FirstLane(Vector128<ulong> lane) => lane;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> Xor(Vector128<ulong> a, Vector128<ulong> b) => a ^ b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> Broadcast(Vector128<ulong> pair) => pair;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> Fold(Vector128<ulong> acc, Vector128<ulong> next, Vector128<ulong> k)
        => Pclmulqdq.CarrylessMultiply(acc, k, 0x00) ^ Pclmulqdq.CarrylessMultiply(acc, k, 0x11) ^ next;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> Collapse(Vector128<ulong> acc, CrcFoldingConstants k) => acc;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> LoadConstants(Vector128<ulong>* pairs) => Vector128.Load((ulong*)pairs);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> Multiply(Vector128<ulong> lanes, Vector128<ulong> k)
        => Pclmulqdq.CarrylessMultiply(lanes, k, 0x00) ^ Pclmulqdq.CarrylessMultiply(lanes, k, 0x11);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> SumLanes(Vector128<ulong> v) => v;
}

/// <summary>256-bit registers: VPCLMULQDQ on YMM.</summary>
internal readonly unsafe struct FoldWidth256 : ICrcFoldWidth<Vector256<ulong>>
{
    public static int Bytes => 32;
    public static int Lanes => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ulong> Load<TOrder>(byte* p) where TOrder : ICrcBitOrder => TOrder.Load256(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ulong> FirstLane(Vector128<ulong> lane) => lane.ToVector256();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ulong> Xor(Vector256<ulong> a, Vector256<ulong> b) => a ^ b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ulong> Broadcast(Vector128<ulong> pair) => Vector256.Create(pair);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ulong> Fold(Vector256<ulong> acc, Vector256<ulong> next, Vector256<ulong> k)
        => Pclmulqdq.V256.CarrylessMultiply(acc, k, 0x00) ^ Pclmulqdq.V256.CarrylessMultiply(acc, k, 0x11) ^ next;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> Collapse(Vector256<ulong> acc, CrcFoldingConstants k)
    {
        Vector256<ulong> c = k.Collapse256;
        Vector256<ulong> m = Pclmulqdq.V256.CarrylessMultiply(acc, c, 0x00) ^ Pclmulqdq.V256.CarrylessMultiply(acc, c, 0x11);
        return m.GetLower() ^ acc.GetUpper();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ulong> LoadConstants(Vector128<ulong>* pairs) => Vector256.Load((ulong*)pairs);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ulong> Multiply(Vector256<ulong> lanes, Vector256<ulong> k)
        => Pclmulqdq.V256.CarrylessMultiply(lanes, k, 0x00) ^ Pclmulqdq.V256.CarrylessMultiply(lanes, k, 0x11);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> SumLanes(Vector256<ulong> v) => v.GetLower() ^ v.GetUpper();
}

/// <summary>512-bit registers: VPCLMULQDQ on ZMM.</summary>
internal readonly unsafe struct FoldWidth512 : ICrcFoldWidth<Vector512<ulong>>
{
    public static int Bytes => 64;
    public static int Lanes => 4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> Load<TOrder>(byte* p) where TOrder : ICrcBitOrder => TOrder.Load512(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> FirstLane(Vector128<ulong> lane) => lane.ToVector256().ToVector512();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> Xor(Vector512<ulong> a, Vector512<ulong> b) => a ^ b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> Broadcast(Vector128<ulong> pair) => Vector512.Create(pair);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> Fold(Vector512<ulong> acc, Vector512<ulong> next, Vector512<ulong> k)
        => Pclmulqdq.V512.CarrylessMultiply(acc, k, 0x00) ^ Pclmulqdq.V512.CarrylessMultiply(acc, k, 0x11) ^ next;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> Collapse(Vector512<ulong> acc, CrcFoldingConstants k)
    {
        Vector512<ulong> c = k.Collapse512;
        Vector512<ulong> m = Pclmulqdq.V512.CarrylessMultiply(acc, c, 0x00) ^ Pclmulqdq.V512.CarrylessMultiply(acc, c, 0x11);
        Vector256<ulong> half = m.GetLower() ^ m.GetUpper();
        return half.GetLower() ^ half.GetUpper() ^ acc.GetUpper().GetUpper();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> LoadConstants(Vector128<ulong>* pairs) => Vector512.Load((ulong*)pairs);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> Multiply(Vector512<ulong> lanes, Vector512<ulong> k)
        => Pclmulqdq.V512.CarrylessMultiply(lanes, k, 0x00) ^ Pclmulqdq.V512.CarrylessMultiply(lanes, k, 0x11);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ulong> SumLanes(Vector512<ulong> v)
    {
        Vector256<ulong> half = v.GetLower() ^ v.GetUpper();
        return half.GetLower() ^ half.GetUpper();
    }
}
