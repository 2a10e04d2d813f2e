namespace PolledNvme.Protection;

/// <summary>
/// The code paths a CRC can run on. Each CRC picks the fastest supported one once, at
/// start-up; benchmarks and tests may force any path that <see cref="CrcKernels.IsSupported"/>
/// reports as available.
/// </summary>
public enum CrcKernel
{
    /// <summary>Slice-by-8 table lookup; runs everywhere.</summary>
    Table,

    /// <summary>SSE4.2 <c>crc32</c> instruction, three streams interleaved (CRC-32C only).</summary>
    Sse42,

    /// <summary>128-bit carry-less-multiply folding (PCLMULQDQ).</summary>
    Pclmul128,

    /// <summary>256-bit carry-less-multiply folding (VPCLMULQDQ on YMM registers).</summary>
    Vpclmul256,

    /// <summary>512-bit carry-less-multiply folding (VPCLMULQDQ on ZMM registers).</summary>
    Vpclmul512,
}
