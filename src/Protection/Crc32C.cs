namespace PolledNvme.Protection;

/// <summary>
/// CRC-32C (Castagnoli; NVM CS 1.2 §5.3.1.3.2): reflected polynomial 0x82F63B78, init and
/// xor-out 0xFFFFFFFF; check("123456789") = 0xE3069283. The 32b guard of NVMe PI.
/// </summary>
/// <remarks>
/// <see cref="Update(uint, ReadOnlySpan{byte})"/> continues from a previous <em>final</em>
/// value (SPDK <c>spdk_crc32c_nvme</c>): <c>Update(Compute(a), b) == Compute(a + b)</c> and
/// <c>Update(0, a) == Compute(a)</c>.
/// </remarks>
public static class Crc32C
{
    /// <summary>The reflected polynomial.</summary>
    public const uint ReflectedPolynomial = 0x82F63B78;

    /// <summary>CRC of the ASCII bytes "123456789".</summary>
    public const uint CheckValue = 0xE3069283;

    private static readonly ulong[] s_table = CrcTables.BuildReflected(ReflectedPolynomial);

    /// <summary>The path chosen at start-up for this machine.</summary>
    public static CrcKernel Kernel { get; } = CrcKernel.Table;

    /// <summary>Whether <paramref name="kernel"/> can run on this machine.</summary>
    public static bool IsSupported(CrcKernel kernel) => kernel == CrcKernel.Table;

    /// <summary>CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Update(0, data);

    /// <summary>Continues a CRC from a previous final value (see the class remarks).</summary>
    public static uint Update(uint previous, ReadOnlySpan<byte> data) => Update(previous, data, Kernel);

    /// <summary>Continues a CRC on a forced path; throws if the path is not supported here.</summary>
    public static uint Update(uint previous, ReadOnlySpan<byte> data, CrcKernel kernel)
    {
        if (!IsSupported(kernel))
            throw new PlatformNotSupportedException($"CRC-32C kernel {kernel} is not supported on this machine.");
        return ~(uint)CrcTables.UpdateReflected(s_table, ~previous, data);
    }

    /// <summary>
    /// Computes the CRCs of <c>crcs.Length</c> equal-sized blocks in one call: block i is
    /// <c>source[(i * stride)..(i * stride + blockLength)]</c>.
    /// </summary>
    public static void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<uint> crcs)
        => ComputeBlocks(source, blockLength, stride, crcs, Kernel);

    /// <summary>Multi-block form on a forced path.</summary>
    public static void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<uint> crcs, CrcKernel kernel)
    {
        CrcBlocks.Validate(source.Length, blockLength, stride, crcs.Length);
        for (int i = 0; i < crcs.Length; i++)
            crcs[i] = Update(0, source.Slice(i * stride, blockLength), kernel);
    }
}
