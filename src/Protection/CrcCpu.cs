using System.Runtime.Intrinsics.X86;

namespace PolledNvme.Protection;

/// <summary>The instruction-set classes the CRC dispatch tells apart (see <see cref="CrcDispatch"/>).</summary>
public enum CrcCpuClass
{
    /// <summary>No usable CRC instructions (not x86-64, or disabled in the runtime): slice-by-8 tables.</summary>
    Portable,

    /// <summary>SSE4.2 <c>crc32</c> but no carry-less multiply (Intel Nehalem, or PCLMULQDQ disabled).</summary>
    Sse42,

    /// <summary>PCLMULQDQ on 128-bit registers, no VPCLMULQDQ (Intel Westmere to Comet Lake, AMD Zen 1 and 2).</summary>
    Pclmul,

    /// <summary>AVX2 and VPCLMULQDQ on 256-bit registers, no AVX-512 (AMD Zen 3, Intel client cores from Alder Lake).</summary>
    Avx2Vpclmul,

    /// <summary>AVX-512BW and VPCLMULQDQ on 512-bit registers (Intel Ice Lake and later server cores, AMD Zen 4 and 5).</summary>
    Avx512Vpclmul,
}

/// <summary>CPU vendors whose micro-architectures the dispatch tunes for.</summary>
internal enum CrcCpuVendor
{
    Other,
    Intel,
    Amd,
}

/// <summary>
/// What the CRC dispatch decides from: the instruction sets the runtime lets us use (which
/// the <c>DOTNET_Enable*</c> switches can narrow) and the vendor and family from CPUID (for
/// execution-port differences within one instruction-set class).
/// </summary>
/// <param name="Crc32">SSE4.2 <c>crc32</c> on 64-bit operands.</param>
/// <param name="Pclmul">PCLMULQDQ with SSSE3 (128-bit folding of both bit orders).</param>
/// <param name="Vpclmul256">VPCLMULQDQ on YMM with AVX2.</param>
/// <param name="Vpclmul512">VPCLMULQDQ on ZMM with AVX-512BW.</param>
/// <param name="Vendor">CPU vendor.</param>
/// <param name="Family">Display family (base + extended).</param>
/// <param name="Model">Display model (base + extended).</param>
internal readonly record struct CrcCpu(bool Crc32, bool Pclmul, bool Vpclmul256, bool Vpclmul512, CrcCpuVendor Vendor, int Family, int Model)
{
    /// <summary>The instruction-set class.</summary>
    public CrcCpuClass Class
        => Vpclmul512 ? CrcCpuClass.Avx512Vpclmul
        : Vpclmul256 ? CrcCpuClass.Avx2Vpclmul
        : Pclmul ? CrcCpuClass.Pclmul
        : Crc32 ? CrcCpuClass.Sse42
        : CrcCpuClass.Portable;

    /// <summary>
    /// Whether the <c>crc32</c> instruction issues twice per cycle: AMD Zen 5 (family 1Ah),
    /// measured (two per cycle at latency 3). Intel cores and AMD cores before Zen 5 issue it
    /// once per cycle (port 1 on Intel).
    /// </summary>
    public bool DualCrc32 => Crc32 && Vendor == CrcCpuVendor.Amd && Family >= 0x1A;

    /// <summary>This machine.</summary>
    public static CrcCpu Detect()
    {
        CrcCpuVendor vendor = CrcCpuVendor.Other;
        int family = 0, model = 0;
        if (X86Base.IsSupported)
        {
            (int _, int ebx, int ecx, int edx) = X86Base.CpuId(0, 0);
            // "GenuineIntel" / "AuthenticAMD" in EBX, EDX, ECX.
            vendor = (ebx, edx, ecx) switch
            {
                (0x756E6547, 0x49656E69, 0x6C65746E) => CrcCpuVendor.Intel,
                (0x68747541, 0x69746E65, 0x444D4163) => CrcCpuVendor.Amd,
                _ => CrcCpuVendor.Other,
            };
            int eax = X86Base.CpuId(1, 0).Eax;
            int baseFamily = (eax >> 8) & 0xF;
            family = baseFamily == 0xF ? baseFamily + ((eax >> 20) & 0xFF) : baseFamily;
            model = (eax >> 4) & 0xF;
            if (baseFamily is 0x6 or 0xF)
                model |= ((eax >> 16) & 0xF) << 4;
        }
        return new CrcCpu(
            Sse42.X64.IsSupported,
            CrcKernels.IsFoldingSupported(CrcKernel.Pclmul128),
            CrcKernels.IsFoldingSupported(CrcKernel.Vpclmul256),
            CrcKernels.IsFoldingSupported(CrcKernel.Vpclmul512),
            vendor, family, model);
    }

    /// <summary>For people: class, vendor, family/model, and the crc32 issue rate the dispatch assumed.</summary>
    public override string ToString()
    {
        string isa = Class switch
        {
            CrcCpuClass.Avx512Vpclmul => "AVX-512 + VPCLMULQDQ",
            CrcCpuClass.Avx2Vpclmul => "AVX2 + VPCLMULQDQ (no AVX-512)",
            CrcCpuClass.Pclmul => "PCLMULQDQ (no VPCLMULQDQ)",
            CrcCpuClass.Sse42 => "SSE4.2 crc32 (no carry-less multiply)",
            _ => "portable (no CRC instructions)",
        };
        string who = Vendor switch
        {
            CrcCpuVendor.Amd => $"AMD family {Family:X2}h model {Model:X2}h",
            CrcCpuVendor.Intel => $"Intel family {Family} model {Model:X2}h",
            _ => Family == 0 ? "vendor unknown" : $"other vendor, family {Family:X2}h",
        };
        string crc32 = !Crc32 ? "no crc32" : DualCrc32 ? "crc32 issues 2 per cycle" : "crc32 issues 1 per cycle";
        return $"{Class} ({isa}); {who}; {crc32}";
    }
}
