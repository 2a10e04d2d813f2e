using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PolledNvme.Protection;

/// <summary>
/// The one dispatch point from a <see cref="CrcKernel"/> to a folding kernel
/// specialisation, and what this machine supports.
/// </summary>
internal static unsafe class CrcKernels
{
    /// <summary>Whether the carry-less-multiply folding path <paramref name="kernel"/> can run here.</summary>
    public static bool IsFoldingSupported(CrcKernel kernel) => kernel switch
    {
        // Ssse3/Avx2/Avx512BW: the byte shuffle of the normal (T10-DIF) bit order.
        CrcKernel.Pclmul128 => Pclmulqdq.IsSupported && Ssse3.IsSupported,
        CrcKernel.Vpclmul256 => Pclmulqdq.IsSupported && Pclmulqdq.V256.IsSupported && Avx2.IsSupported,
        CrcKernel.Vpclmul512 => Pclmulqdq.IsSupported && Pclmulqdq.V512.IsSupported && Avx512BW.IsSupported,
        _ => false,
    };

    /// <summary>Bit i set: <see cref="CrcKernel"/> i is the table or a folding path that runs here (shared by every CRC).</summary>
    public static uint SupportedMask { get; } = Mask(k => k == CrcKernel.Table || IsFoldingSupported(k));

    /// <summary>The bit mask of the kernels <paramref name="isSupported"/> accepts.</summary>
    public static uint Mask(Func<CrcKernel, bool> isSupported)
    {
        uint mask = 0;
        foreach (CrcKernel kernel in Enum.GetValues<CrcKernel>())
            if (isSupported(kernel))
                mask |= 1u << (int)kernel;
        return mask;
    }

    /// <summary>Whether <paramref name="kernel"/> is in <paramref name="mask"/> (false for values outside the enum).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool InMask(uint mask, CrcKernel kernel) => (uint)kernel < 32 && ((mask >> (int)kernel) & 1) != 0;

    /// <summary>Runs the folding kernel of <paramref name="kernel"/> (a supported folding path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Fold<TOrder>(CrcKernel kernel, ulong register, byte* p, int length, CrcFoldingConstants k, out int consumed)
        where TOrder : struct, ICrcBitOrder => kernel switch
    {
        CrcKernel.Vpclmul512 => CrcFolding.Update<FoldWidth512, Vector512<ulong>, TOrder>(register, p, length, k, out consumed),
        CrcKernel.Vpclmul256 => CrcFolding.Update<FoldWidth256, Vector256<ulong>, TOrder>(register, p, length, k, out consumed),
        _ => CrcFolding.Update<FoldWidth128, Vector128<ulong>, TOrder>(register, p, length, k, out consumed),
    };

    /// <summary>
    /// Folds four blocks side by side on <paramref name="kernel"/>, narrowing the register
    /// width for blocks shorter than one register. Requires <paramref name="length"/> ≥ 16.
    /// </summary>
    public static int FoldFourBlocks<TOrder>(CrcKernel kernel, ulong* registers, byte* p, int length, nint stride, CrcFoldingConstants k)
        where TOrder : struct, ICrcBitOrder
    {
        if (kernel == CrcKernel.Vpclmul512 && length >= 64)
            return CrcFolding.UpdateFourBlocks<FoldWidth512, Vector512<ulong>, TOrder>(registers, p, length, stride, k);
        if (kernel is CrcKernel.Vpclmul512 or CrcKernel.Vpclmul256 && length >= 32)
            return CrcFolding.UpdateFourBlocks<FoldWidth256, Vector256<ulong>, TOrder>(registers, p, length, stride, k);
        return CrcFolding.UpdateFourBlocks<FoldWidth128, Vector128<ulong>, TOrder>(registers, p, length, stride, k);
    }
}
