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

    private static readonly ulong[] s_table = CrcTables.BuildReflected(ReflectedPolynomial);

    /// <summary>The path chosen at start-up for this machine.</summary>
    public static CrcKernel Kernel { get; } = CrcKernel.Table;

    /// <summary>Whether <paramref name="kernel"/> can run on this machine.</summary>
    public static bool IsSupported(CrcKernel kernel) => kernel == CrcKernel.Table;

    /// <summary>CRC-64/NVME of <paramref name="data"/>.</summary>
    public static ulong Compute(ReadOnlySpan<byte> data) => Update(0, data);

    /// <summary>Continues a CRC from a previous final value (see the class remarks).</summary>
    public static ulong Update(ulong previous, ReadOnlySpan<byte> data) => Update(previous, data, Kernel);

    /// <summary>Continues a CRC on a forced path; throws if the path is not supported here.</summary>
    public static ulong Update(ulong previous, ReadOnlySpan<byte> data, CrcKernel kernel)
    {
        if (!IsSupported(kernel))
            throw new PlatformNotSupportedException($"CRC-64/NVME kernel {kernel} is not supported on this machine.");
        return ~CrcTables.UpdateReflected(s_table, ~previous, data);
    }

    /// <summary>
    /// Computes the CRCs of <c>crcs.Length</c> equal-sized blocks in one call: block i is
    /// <c>source[(i * stride)..(i * stride + blockLength)]</c>, so interleaved data+metadata
    /// is covered with <c>stride = blockLength + gap</c>.
    /// </summary>
    public static void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<ulong> crcs)
        => ComputeBlocks(source, blockLength, stride, crcs, Kernel);

    /// <summary>Multi-block form on a forced path.</summary>
    public static void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<ulong> crcs, CrcKernel kernel)
    {
        CrcBlocks.Validate(source.Length, blockLength, stride, crcs.Length);
        for (int i = 0; i < crcs.Length; i++)
            crcs[i] = Update(0, source.Slice(i * stride, blockLength), kernel);
    }
}
