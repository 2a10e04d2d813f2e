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

    /// <summary>The path chosen at start-up for this machine, at every length: the widest carry-less-multiply folding available (<see cref="CrcDispatch"/>).</summary>
    public static CrcKernel Kernel { get; } = CrcDispatch.Plan.Folding;

    /// <summary>Whether <paramref name="kernel"/> can run on this machine (<see cref="CrcKernel.Sse42"/> never: it is CRC-32C's).</summary>
    public static bool IsSupported(CrcKernel kernel) => Crc16T10DifParameters.IsSupported(kernel);

    /// <summary>CRC-16/T10-DIF of <paramref name="data"/>.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => CrcEngine<ushort, Crc16T10DifParameters, NormalBitOrder>.UpdateKnown(0, data, Kernel);

    /// <summary>Continues a CRC from a previous final value (see the class remarks).</summary>
    public static ushort Update(ushort previous, ReadOnlySpan<byte> data) => CrcEngine<ushort, Crc16T10DifParameters, NormalBitOrder>.UpdateKnown(previous, data, Kernel);

    /// <summary>Continues a CRC on a forced path; throws <see cref="PlatformNotSupportedException"/> if it cannot run here.</summary>
    public static ushort Update(ushort previous, ReadOnlySpan<byte> data, CrcKernel kernel)
        => CrcEngine<ushort, Crc16T10DifParameters, NormalBitOrder>.Update(previous, data, kernel);

    /// <summary>
    /// Computes the CRCs of <c>crcs.Length</c> equal-sized blocks in one call: block i is
    /// <c>source[(i * stride)..(i * stride + blockLength)]</c>. Blocks are folded four at a time.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative block length, or stride below the block length.</exception>
    /// <exception cref="ArgumentException">The source is too short for <c>crcs.Length</c> blocks.</exception>
    public static void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<ushort> crcs)
        => ComputeBlocks(source, blockLength, stride, crcs, Kernel);

    /// <summary>Multi-block form on a forced path.</summary>
    public static unsafe void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, Span<ushort> crcs, CrcKernel kernel)
        => CrcEngine<ushort, Crc16T10DifParameters, NormalBitOrder>.ComputeBlocks(source, blockLength, stride, crcs, kernel, &Update);
}

/// <summary>CRC-16/T10-DIF as the shared engine sees it: the 16-bit CRC sits in the register's top bits.</summary>
internal readonly struct Crc16T10DifParameters : ICrcParameters<ushort>
{
    private const int Shift = 64 - 16;
    private static readonly ushort[] s_table = CrcTables.BuildNormal16(Crc16T10Dif.Polynomial);
    private static readonly CrcFoldingConstants s_constants = CrcFoldingConstants.ForNormal(Crc16T10Dif.Polynomial, 16);

    public static string Name => "CRC-16/T10-DIF";
    public static CrcFoldingConstants Constants => s_constants;
    public static bool IsSupported(CrcKernel kernel) => CrcKernels.InMask(CrcKernels.SupportedMask, kernel);
    public static ulong ToRegister(ushort previous) => (ulong)previous << Shift;
    public static ushort FromRegister(ulong register) => (ushort)(register >> Shift);
    public static ulong UpdateTable(ulong register, ReadOnlySpan<byte> data)
        => (ulong)CrcTables.UpdateNormal16(s_table, (ushort)(register >> Shift), data) << Shift;
    public static ulong UpdateTail(ulong register, ReadOnlySpan<byte> data) => UpdateTable(register, data);
}
