namespace PolledNvme.Protection;

/// <summary>
/// CRC-64/NVME (NVM CS 1.2 §5.3.1.3.3): reflected polynomial 0x9A6C9329AC4BC9B5, init and
/// xor-out all ones; check("123456789") = 0xAE8B14860A799888. The 64b guard of NVMe PI.
/// </summary>
/// <remarks>
/// <see cref="Update(ulong, ReadOnlySpan{byte})"/> continues from a previous <em>final</em>
/// value, as Linux <c>crc64_nvme(crc, p, len)</c> and SPDK <c>spdk_crc64_nvme</c> do:
/// <c>Update(Compute(a), b) == Compute(a + b)</c> and <c>Update(0, a) == Compute(a)</c>.
/// </remarks>
public static class Crc64Nvme
{
    /// <summary>The reflected polynomial.</summary>
    public const ulong ReflectedPolynomial = 0x9A6C9329AC4BC9B5;

    /// <summary>CRC of the ASCII bytes "123456789".</summary>
    public const ulong CheckValue = 0xAE8B14860A799888;

    /// <summary>The path chosen at start-up for this machine, at every length: the widest carry-less-multiply folding available (<see cref="CrcDispatch"/>).</summary>
    public static CrcKernel Kernel { get; } = CrcDispatch.Plan.Folding;

    /// <summary>Whether <paramref name="kernel"/> can run on this machine (<see cref="CrcKernel.Sse42"/> never: it is CRC-32C's).</summary>
    public static bool IsSupported(CrcKernel kernel) => Crc64NvmeParameters.IsSupported(kernel);

    /// <summary>CRC-64/NVME of <paramref name="data"/>.</summary>
    public static ulong Compute(ReadOnlySpan<byte> data) => CrcEngine<ulong, Crc64NvmeParameters, ReflectedBitOrder>.UpdateKnown(0, data, Kernel);

    /// <summary>Continues a CRC from a previous final value (see the class remarks).</summary>
    public static ulong Update(ulong previous, ReadOnlySpan<byte> data) => CrcEngine<ulong, Crc64NvmeParameters, ReflectedBitOrder>.UpdateKnown(previous, data, Kernel);

    /// <summary>Continues a CRC on a forced path; throws <see cref="PlatformNotSupportedException"/> if it cannot run here.</summary>
    public static ulong Update(ulong previous, ReadOnlySpan<byte> data, CrcKernel kernel)
        => CrcEngine<ulong, Crc64NvmeParameters, ReflectedBitOrder>.Update(previous, data, kernel);

    /// <summary>
    /// Computes the CRCs of <c>crcs.Length</c> equal-sized blocks in one call: block i is
    /// <c>source[(i * stride)..(i * stride + blockLength)]</c>, so interleaved data+metadata
    /// is covered with <c>stride = blockLength + gap</c>. Blocks are folded four at a time.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative block length, or stride below the block length.</exception>
    /// <exception cref="ArgumentException">The source is too short for <c>crcs.Length</c> blocks.</exception>
    public static void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<ulong> crcs)
        => ComputeBlocks(source, blockLength, stride, crcs, Kernel);

    /// <summary>Multi-block form on a forced path.</summary>
    public static unsafe void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<ulong> crcs, CrcKernel kernel)
        => CrcEngine<ulong, Crc64NvmeParameters, ReflectedBitOrder>.ComputeBlocks(source, blockLength, stride, crcs, kernel, &Update);
}

/// <summary>CRC-64/NVME as the shared engine sees it: the register is the inverted CRC.</summary>
internal readonly struct Crc64NvmeParameters : ICrcParameters<ulong>
{
    private static readonly ulong[] s_table = CrcTables.BuildReflected(Crc64Nvme.ReflectedPolynomial);
    private static readonly CrcFoldingConstants s_constants = CrcFoldingConstants.ForReflected(Crc64Nvme.ReflectedPolynomial, 64);

    public static string Name => "CRC-64/NVME";
    public static CrcFoldingConstants Constants => s_constants;
    public static bool IsSupported(CrcKernel kernel) => CrcKernels.InMask(CrcKernels.SupportedMask, kernel);
    public static ulong ToRegister(ulong previous) => ~previous;
    public static ulong FromRegister(ulong register) => ~register;
    public static ulong UpdateTable(ulong register, ReadOnlySpan<byte> data) => CrcTables.UpdateReflected(s_table, register, data);
    public static ulong UpdateTail(ulong register, ReadOnlySpan<byte> data) => UpdateTable(register, data);
}
