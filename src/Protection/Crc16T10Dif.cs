namespace PolledNvme.Protection;

/// <summary>
/// CRC-16/T10-DIF (NVM CS 1.2 §5.3.1.3.1): polynomial 0x8BB7, not reflected, init 0, no
/// xor-out; check("123456789") = 0xD0DB. The 16b guard of NVMe PI.
/// </summary>
/// <remarks>
/// <see cref="Update(ushort, ReadOnlySpan{byte})"/> continues from a previous final value, as
/// Linux <c>crc_t10dif_update</c> does: <c>Update(Compute(a), b) == Compute(a + b)</c> and
/// <c>Update(0, a) == Compute(a)</c>.
/// </remarks>
public static class Crc16T10Dif
{
    /// <summary>The (normal, not reflected) polynomial.</summary>
    public const ushort Polynomial = 0x8BB7;

    /// <summary>CRC of the ASCII bytes "123456789".</summary>
    public const ushort CheckValue = 0xD0DB;

    private static readonly ushort[] s_table = CrcTables.BuildNormal16(Polynomial);

    /// <summary>The path chosen at start-up for this machine.</summary>
    public static CrcKernel Kernel { get; } = CrcKernel.Table;

    /// <summary>Whether <paramref name="kernel"/> can run on this machine.</summary>
    public static bool IsSupported(CrcKernel kernel) => kernel == CrcKernel.Table;

    /// <summary>CRC-16/T10-DIF of <paramref name="data"/>.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Update(0, data);

    /// <summary>Continues a CRC from a previous final value (see the class remarks).</summary>
    public static ushort Update(ushort previous, ReadOnlySpan<byte> data) => Update(previous, data, Kernel);

    /// <summary>Continues a CRC on a forced path; throws if the path is not supported here.</summary>
    public static ushort Update(ushort previous, ReadOnlySpan<byte> data, CrcKernel kernel)
    {
        if (!IsSupported(kernel))
            throw new PlatformNotSupportedException($"CRC-16/T10-DIF kernel {kernel} is not supported on this machine.");
        return CrcTables.UpdateNormal16(s_table, previous, data);
    }

    /// <summary>
    /// Computes the CRCs of <c>crcs.Length</c> equal-sized blocks in one call: block i is
    /// <c>source[(i * stride)..(i * stride + blockLength)]</c>.
    /// </summary>
    public static void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<ushort> crcs)
        => ComputeBlocks(source, blockLength, stride, crcs, Kernel);

    /// <summary>Multi-block form on a forced path.</summary>
    public static void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<ushort> crcs, CrcKernel kernel)
    {
        CrcBlocks.Validate(source.Length, blockLength, stride, crcs.Length);
        for (int i = 0; i < crcs.Length; i++)
            crcs[i] = Update(0, source.Slice(i * stride, blockLength), kernel);
    }
}
