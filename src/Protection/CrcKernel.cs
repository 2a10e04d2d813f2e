namespace PolledNvme.Protection;

/// <summary>
/// The code paths a CRC can run on. Each CRC picks the fastest supported one once, at
/// start-up (its <c>Kernel</c> property); benchmarks and tests may force any path that the
/// CRC's <c>IsSupported</c> reports as available here.
/// </summary>
public enum CrcKernel
{
    /// <summary>Slice-by-8 table lookup; runs everywhere (and finishes the tails of the others).</summary>
    Table,

    /// <summary>SSE4.2 <c>crc32</c> instruction, three streams interleaved and recombined with PCLMULQDQ (CRC-32C only).</summary>
    Sse42,

    /// <summary>128-bit carry-less-multiply folding (PCLMULQDQ).</summary>
    Pclmul128,

    /// <summary>256-bit carry-less-multiply folding (VPCLMULQDQ on YMM registers).</summary>
    Vpclmul256,

    /// <summary>512-bit carry-less-multiply folding (VPCLMULQDQ on ZMM registers).</summary>
    Vpclmul512,

    /// <summary>CRC-32C only: <c>crc32</c> instruction streams and 128-bit folding side by side on one buffer.</summary>
    Hybrid128,

    /// <summary>CRC-32C only: <c>crc32</c> instruction streams and 256-bit folding side by side on one buffer.</summary>
    Hybrid256,

    /// <summary>CRC-32C only: <c>crc32</c> instruction streams and 512-bit folding side by side on one buffer.</summary>
    Hybrid512,
}
