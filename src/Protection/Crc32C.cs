using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PolledNvme.Protection;

/// <summary>
/// CRC-32C (Castagnoli; NVM CS 1.2 §5.3.1.3.2): reflected polynomial 0x82F63B78, init and
/// xor-out 0xFFFFFFFF; check("123456789") = 0xE3069283. The 32b guard of NVMe PI.
/// </summary>
/// <remarks>
/// <see cref="Update(uint, ReadOnlySpan{byte})"/> continues from a previous <em>final</em>
/// value (SPDK <c>spdk_crc32c_nvme</c>): <c>Update(Compute(a), b) == Compute(a + b)</c> and
/// <c>Update(0, a) == Compute(a)</c>. The path depends on the CPU and the length
/// (<see cref="KernelFor"/>, <see cref="CrcDispatch"/>): the <c>crc32</c> instruction for
/// short buffers, carry-less-multiply folding for medium ones, both at once on one buffer
/// (<see cref="CrcKernel.Hybrid512"/> and its narrower forms) for long ones.
/// </remarks>
public static class Crc32C
{
    /// <summary>The reflected polynomial.</summary>
    public const uint ReflectedPolynomial = 0x82F63B78;

    /// <summary>CRC of the ASCII bytes "123456789".</summary>
    public const uint CheckValue = 0xE3069283;

    // The dispatch, copied into static readonly fields: constants to the JIT, so the default
    // path is two compares and a direct call.
    private static readonly int s_foldFrom = CrcDispatch.Plan.Crc32CFoldFrom;
    private static readonly int s_hybridFrom = CrcDispatch.Plan.Crc32CHybridFrom;
    private static readonly CrcKernel s_short = CrcDispatch.Plan.Crc32CShort;
    private static readonly CrcKernel s_fold = CrcDispatch.Plan.Crc32CFold;
    private static readonly CrcKernel s_hybrid = CrcDispatch.Plan.Crc32CHybrid;
    private static readonly Crc32CShapeId s_shape = CrcDispatch.Plan.Shape;
    private static readonly CrcKernel s_blocks = CrcDispatch.Plan.Crc32CBlocks;
    private static readonly int s_sixStreamsFrom = CrcDispatch.Plan.Crc32CSixStreamsFrom;

    /// <summary>The path chosen at start-up for long buffers (see <see cref="KernelFor"/>).</summary>
    public static CrcKernel Kernel => CrcDispatch.Plan.Crc32CKernelFor(int.MaxValue);

    /// <summary>The path chosen at start-up for buffers shorter than <see cref="ShortBufferLimit"/>.</summary>
    public static CrcKernel ShortBufferKernel => s_short;

    /// <summary>Length from which buffers leave <see cref="ShortBufferKernel"/> (<see cref="int.MaxValue"/>: it takes every length).</summary>
    public static int ShortBufferLimit => Math.Min(s_foldFrom, s_hybridFrom);

    /// <summary>The path <see cref="Update(uint, ReadOnlySpan{byte})"/> takes for a buffer of <paramref name="length"/> bytes on this CPU.</summary>
    public static CrcKernel KernelFor(int length) => CrcDispatch.Plan.Crc32CKernelFor(length);

    /// <summary>Whether <paramref name="kernel"/> can run on this machine.</summary>
    public static bool IsSupported(CrcKernel kernel) => Crc32CParameters.IsSupported(kernel);

    /// <summary>CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Update(0, data);

    /// <summary>Continues a CRC from a previous final value (see the class remarks).</summary>
    public static uint Update(uint previous, ReadOnlySpan<byte> data)
    {
        int length = data.Length;
        if (length >= s_hybridFrom)
            return ~Run(~previous, data, s_hybrid);
        if (length >= s_foldFrom)
            return ~Run(~previous, data, s_fold);
        return ~Run(~previous, data, s_short);
    }

    /// <summary>Continues a CRC on a forced path; throws <see cref="PlatformNotSupportedException"/> if it cannot run here.</summary>
    public static uint Update(uint previous, ReadOnlySpan<byte> data, CrcKernel kernel)
    {
        if (!Crc32CParameters.IsSupported(kernel))
            ThrowUnsupported(kernel);
        return ~Run(~previous, data, kernel);
    }

    /// <summary>
    /// Computes the CRCs of <c>crcs.Length</c> equal-sized blocks in one call: block i is
    /// <c>source[(i * stride)..(i * stride + blockLength)]</c>. Folding paths take blocks four
    /// at a time; hybrid paths also run further blocks on the <c>crc32</c> instruction meanwhile.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative block length, or stride below the block length.</exception>
    /// <exception cref="ArgumentException">The source is too short for <c>crcs.Length</c> blocks.</exception>
    public static void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<uint> crcs)
        => ComputeBlocks(source, blockLength, stride, crcs, s_blocks);

    /// <summary>Multi-block form on a forced path.</summary>
    public static unsafe void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<uint> crcs, CrcKernel kernel)
    {
        CrcBlocks.Validate(source.Length, blockLength, stride, crcs.Length);
        if (!Crc32CParameters.IsSupported(kernel))
            ThrowUnsupported(kernel);
        int done = 0;
        if (kernel is CrcKernel.Hybrid128 or CrcKernel.Hybrid256 or CrcKernel.Hybrid512)
        {
            fixed (byte* p = source)
                done = kernel switch
                {
                    CrcKernel.Hybrid512 => HybridBlocks<FoldWidth512, Vector512<ulong>>(p, blockLength, stride, crcs),
                    CrcKernel.Hybrid256 => HybridBlocks<FoldWidth256, Vector256<ulong>>(p, blockLength, stride, crcs),
                    _ => HybridBlocks<FoldWidth128, Vector128<ulong>>(p, blockLength, stride, crcs),
                };
            if (done == crcs.Length)
                return;
            // The blocks short of a round: folding of the same width.
            kernel = kernel switch
            {
                CrcKernel.Hybrid512 => CrcKernel.Vpclmul512,
                CrcKernel.Hybrid256 => CrcKernel.Vpclmul256,
                _ => CrcKernel.Pclmul128,
            };
        }
        else if (kernel == CrcKernel.Sse42)
        {
            // The crc32 instruction alone: one chain per block, three or six blocks interleaved.
            fixed (byte* p = source)
                done = Crc32CInstructionBlocks.Compute(p, blockLength, stride, crcs, s_shape == Crc32CShapeId.SixByFive);
            if (done == crcs.Length)
                return;
        }
        CrcEngine<uint, Crc32CParameters, Crc32CBitOrder>.ComputeBlocks(
            source.Slice(done * stride), blockLength, stride, crcs.Slice(done), kernel, &Update);
    }

    private static unsafe int HybridBlocks<TWidth, TVector>(byte* p, int blockLength, int stride, Span<uint> crcs)
        where TWidth : struct, ICrcFoldWidth<TVector>
        where TVector : struct
        => s_shape switch
        {
            Crc32CShapeId.SixByFive => Crc32CBlocks.Update<TWidth, TVector, SixByFive>(p, blockLength, stride, crcs, Crc32CParameters.Constants),
            Crc32CShapeId.ThreeByFive => Crc32CBlocks.Update<TWidth, TVector, ThreeByFive>(p, blockLength, stride, crcs, Crc32CParameters.Constants),
            _ => Crc32CBlocks.Update<TWidth, TVector, ThreeByTwo>(p, blockLength, stride, crcs, Crc32CParameters.Constants),
        };

    /// <summary>Advances the inverted register on a supported <paramref name="kernel"/> (a constant where the dispatch chose it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Run(uint register, ReadOnlySpan<byte> data, CrcKernel kernel)
    {
        switch (kernel)
        {
            case CrcKernel.Sse42:
                return s_shape == Crc32CShapeId.SixByFive && data.Length >= s_sixStreamsFrom
                    ? Crc32CInstruction.Update<SixByFive>(register, data)
                    : Crc32CInstruction.Update<ThreeByFive>(register, data);
            case CrcKernel.Hybrid512:
                return RunHybrid<FoldWidth512, Vector512<ulong>>(register, data);
            case CrcKernel.Hybrid256:
                return RunHybrid<FoldWidth256, Vector256<ulong>>(register, data);
            case CrcKernel.Hybrid128:
                return RunHybrid<FoldWidth128, Vector128<ulong>>(register, data);
            default:
                return (uint)CrcEngine<uint, Crc32CParameters, Crc32CBitOrder>.UpdateRegister(register, data, kernel);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint RunHybrid<TWidth, TVector>(uint register, ReadOnlySpan<byte> data)
        where TWidth : struct, ICrcFoldWidth<TVector>
        where TVector : struct
        => s_shape switch
        {
            Crc32CShapeId.SixByFive => RunHybrid<TWidth, TVector, SixByFive>(register, data),
            Crc32CShapeId.ThreeByFive => RunHybrid<TWidth, TVector, ThreeByFive>(register, data),
            _ => RunHybrid<TWidth, TVector, ThreeByTwo>(register, data),
        };

    private static unsafe uint RunHybrid<TWidth, TVector, TShape>(uint register, ReadOnlySpan<byte> data)
        where TWidth : struct, ICrcFoldWidth<TVector>
        where TVector : struct
        where TShape : struct, ICrc32CHybridShape
    {
        // A forced hybrid path on a buffer too short for one loop iteration: the crc32 streams alone.
        if (data.Length < Crc32CHybridShape.Of<TShape>().IterationBytes(TWidth.Bytes))
            return Crc32CInstruction.Update<TShape>(register, data);
        fixed (byte* p = data)
            return Crc32CHybrid.Update<TWidth, TVector, TShape>(register, p, data.Length, Crc32CParameters.Constants);
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowUnsupported(CrcKernel kernel)
    {
        if (!Enum.IsDefined(kernel))
            throw new ArgumentOutOfRangeException(nameof(kernel), kernel, $"Not a {nameof(CrcKernel)} value.");
        throw new PlatformNotSupportedException(
            $"CRC-32C kernel {kernel} is not supported on this machine ({CrcDispatch.CpuDescription}); check Crc32C.IsSupported first.");
    }
}

/// <summary>CRC-32C as the shared engine sees it: the register is the inverted CRC in the low 32 bits.</summary>
internal readonly struct Crc32CParameters : ICrcParameters<uint>
{
    private static readonly ulong[] s_table = CrcTables.BuildReflected(Crc32C.ReflectedPolynomial);
    private static readonly CrcFoldingConstants s_constants = CrcFoldingConstants.ForReflected(Crc32C.ReflectedPolynomial, 32);

    // The folding paths, the crc32 streams (with a software multiply where PCLMULQDQ is
    // missing), and the hybrids where both halves run.
    private static readonly uint s_supported = CrcKernels.Mask(kernel => kernel switch
    {
        CrcKernel.Sse42 => Crc32CInstruction.IsSupported,
        CrcKernel.Hybrid128 => Crc32CInstruction.IsSupported && CrcKernels.IsFoldingSupported(CrcKernel.Pclmul128),
        CrcKernel.Hybrid256 => Crc32CInstruction.IsSupported && CrcKernels.IsFoldingSupported(CrcKernel.Vpclmul256),
        CrcKernel.Hybrid512 => Crc32CInstruction.IsSupported && CrcKernels.IsFoldingSupported(CrcKernel.Vpclmul512),
        _ => CrcKernels.InMask(CrcKernels.SupportedMask, kernel),
    });

    public static string Name => "CRC-32C";
    public static CrcFoldingConstants Constants => s_constants;
    public static bool IsSupported(CrcKernel kernel) => CrcKernels.InMask(s_supported, kernel);
    public static ulong ToRegister(uint previous) => ~previous;
    public static uint FromRegister(ulong register) => ~(uint)register;
    public static ulong UpdateTable(ulong register, ReadOnlySpan<byte> data) => CrcTables.UpdateReflected(s_table, register, data);
    public static ulong UpdateTail(ulong register, ReadOnlySpan<byte> data)
        => Sse42.X64.IsSupported ? Crc32CInstruction.UpdateShort((uint)register, data) : UpdateTable(register, data);
}
