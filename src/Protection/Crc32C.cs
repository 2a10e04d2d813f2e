namespace PolledNvme.Protection;

/// <summary>
/// CRC-32C (Castagnoli; NVM CS 1.2 §5.3.1.3.2): reflected polynomial 0x82F63B78, init and
/// xor-out 0xFFFFFFFF; check("123456789") = 0xE3069283. The 32b guard of NVMe PI.
/// </summary>
/// <remarks>
/// <see cref="Update(uint, ReadOnlySpan{byte})"/> continues from a previous <em>final</em>
/// value (SPDK <c>spdk_crc32c_nvme</c>): <c>Update(Compute(a), b) == Compute(a + b)</c> and
/// <c>Update(0, a) == Compute(a)</c>. Buffers shorter than <see cref="ShortBufferLimit"/>
/// take <see cref="ShortBufferKernel"/> (the <c>crc32</c> instruction where available), longer
/// ones <see cref="Kernel"/>: each is the faster one at those sizes (measured with <c>pnvme crc --bench</c>).
/// </remarks>
public static class Crc32C
{
    /// <summary>The reflected polynomial.</summary>
    public const uint ReflectedPolynomial = 0x82F63B78;

    /// <summary>CRC of the ASCII bytes "123456789".</summary>
    public const uint CheckValue = 0xE3069283;

    /// <summary>
    /// The path chosen at start-up for buffers of at least <see cref="ShortBufferLimit"/> bytes:
    /// 512-bit folding where available; otherwise the 3-way <c>crc32</c> instruction, which
    /// measured as fast as or faster than 128/256-bit folding at every size; otherwise the best folding.
    /// </summary>
    public static CrcKernel Kernel { get; } = ChooseKernel();

    /// <summary>The path chosen at start-up for buffers shorter than <see cref="ShortBufferLimit"/>.</summary>
    public static CrcKernel ShortBufferKernel { get; } = Crc32CInstruction.IsSupported ? CrcKernel.Sse42 : Kernel;

    /// <summary>
    /// Length below which <see cref="ShortBufferKernel"/> is used: the carry-less-multiply
    /// reduction costs a fixed ~20 cycles that the <c>crc32</c> instruction does not pay.
    /// 128 is the measured crossover against 512-bit folding (Zen 4: 10 ns each at 128 B).
    /// </summary>
    public static int ShortBufferLimit { get; } = Kernel == CrcKernel.Vpclmul512 ? 128 : 0;

    private static CrcKernel ChooseKernel()
    {
        if (CrcKernels.IsFoldingSupported(CrcKernel.Vpclmul512))
            return CrcKernel.Vpclmul512;
        return Crc32CInstruction.IsSupported ? CrcKernel.Sse42 : CrcKernels.BestFolding();
    }

    /// <summary>Whether <paramref name="kernel"/> can run on this machine.</summary>
    public static bool IsSupported(CrcKernel kernel) => Crc32CParameters.IsSupported(kernel);

    /// <summary>CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Update(0, data);

    /// <summary>Continues a CRC from a previous final value (see the class remarks).</summary>
    public static uint Update(uint previous, ReadOnlySpan<byte> data)
        => Update(previous, data, data.Length < ShortBufferLimit ? ShortBufferKernel : Kernel);

    /// <summary>Continues a CRC on a forced path; throws <see cref="PlatformNotSupportedException"/> if it cannot run here.</summary>
    public static uint Update(uint previous, ReadOnlySpan<byte> data, CrcKernel kernel)
    {
        if (kernel == CrcKernel.Sse42 && Crc32CInstruction.IsSupported)
            return ~Crc32CInstruction.Update(~previous, data);
        return CrcEngine<uint, Crc32CParameters, ReflectedBitOrder>.Update(previous, data, kernel);
    }

    /// <summary>
    /// Computes the CRCs of <c>crcs.Length</c> equal-sized blocks in one call: block i is
    /// <c>source[(i * stride)..(i * stride + blockLength)]</c>. Folding paths take blocks four at a time.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative block length, or stride below the block length.</exception>
    /// <exception cref="ArgumentException">The source is too short for <c>crcs.Length</c> blocks.</exception>
    public static void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<uint> crcs)
        => ComputeBlocks(source, blockLength, stride, crcs, Kernel);

    /// <summary>Multi-block form on a forced path.</summary>
    public static unsafe void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<uint> crcs, CrcKernel kernel)
        => CrcEngine<uint, Crc32CParameters, ReflectedBitOrder>.ComputeBlocks(source, blockLength, stride, crcs, kernel, &Update);
}

/// <summary>CRC-32C as the shared engine sees it: the register is the inverted CRC in the low 32 bits.</summary>
internal readonly struct Crc32CParameters : ICrcParameters<uint>
{
    private static readonly ulong[] s_table = CrcTables.BuildReflected(Crc32C.ReflectedPolynomial);
    private static readonly CrcFoldingConstants s_constants = CrcFoldingConstants.ForReflected(Crc32C.ReflectedPolynomial, 32);

    public static string Name => "CRC-32C";
    public static CrcFoldingConstants Constants => s_constants;
    public static bool IsSupported(CrcKernel kernel)
        => kernel == CrcKernel.Table || CrcKernels.IsFoldingSupported(kernel) || (kernel == CrcKernel.Sse42 && Crc32CInstruction.IsSupported);
    public static ulong ToRegister(uint previous) => ~previous;
    public static uint FromRegister(ulong register) => ~(uint)register;
    public static ulong UpdateTable(ulong register, ReadOnlySpan<byte> data) => CrcTables.UpdateReflected(s_table, register, data);
}
