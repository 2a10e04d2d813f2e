using PolledNvme.Protection;

namespace PolledNvme.Bench.Native;

/// <summary>
/// The ISA-L CRC functions its own dispatch would run on a CPU of a given class. ISA-L decides
/// from CPUID, not from what the .NET runtime allows, so with <c>DOTNET_EnableAVX512=0</c> its
/// entry points would still run AVX-512 code; binding the variant by name compares like with
/// like. Choices as in ISA-L 2.30's crc_multibinary.asm / crc64_multibinary.asm, and the
/// 256-bit <c>*_avx2</c> variants of later releases where the library has them.
/// </summary>
internal sealed unsafe class IsaLClassVariants
{
    private IsaLClassVariants(string crc16Name, nint crc16, string crc32Name, nint crc32, string? crc64Name, nint crc64)
    {
        Crc16Name = crc16Name;
        Crc16 = (delegate* unmanaged<ushort, byte*, ulong, ushort>)crc16;
        Crc32Name = crc32Name;
        Crc32 = (delegate* unmanaged<byte*, int, uint, uint>)crc32;
        Crc64Name = crc64Name;
        Crc64 = (delegate* unmanaged<ulong, byte*, ulong, ulong>)crc64;
    }

    public string Crc16Name { get; }
    public delegate* unmanaged<ushort, byte*, ulong, ushort> Crc16 { get; }
    public string Crc32Name { get; }
    public delegate* unmanaged<byte*, int, uint, uint> Crc32 { get; }

    /// <summary>The reflected CRC-64 (rocksoft where the library has it, else ecma as a speed stand-in); null if neither.</summary>
    public string? Crc64Name { get; }
    public delegate* unmanaged<ulong, byte*, ulong, ulong> Crc64 { get; }

    /// <summary>The variants for <paramref name="cpuClass"/>; null without ISA-L (or when a variant is missing).</summary>
    public static IsaLClassVariants? For(CrcCpuClass cpuClass)
    {
        if (!IsaL.IsAvailable)
            return null;
        string crc64Family = IsaL.Crc64IsNvme ? "crc64_rocksoft_refl" : "crc64_ecma_refl";
        (string[] crc16, string[] crc32, string[] crc64) = cpuClass switch
        {
            // Its entry points: on this CPU ISA-L itself picks the AVX-512 + VPCLMULQDQ kernels.
            CrcCpuClass.Avx512Vpclmul => (new[] { "crc16_t10dif" }, new[] { "crc32_iscsi" }, new[] { crc64Family }),
            CrcCpuClass.Avx2Vpclmul => (new[] { "crc16_t10dif_avx2", "crc16_t10dif_02" }, new[] { "crc32_iscsi_avx2", "crc32_iscsi_01" },
                new[] { crc64Family + "_avx2", crc64Family + "_by8" }),
            CrcCpuClass.Pclmul => (new[] { "crc16_t10dif_02" }, new[] { "crc32_iscsi_01" }, new[] { crc64Family + "_by8" }),
            CrcCpuClass.Sse42 => (new[] { "crc16_t10dif_base" }, new[] { "crc32_iscsi_00" }, new[] { crc64Family + "_base" }),
            _ => (new[] { "crc16_t10dif_base" }, new[] { "crc32_iscsi_base" }, new[] { crc64Family + "_base" }),
        };
        if (!TryFirst(crc16, out string crc16Name, out nint crc16Address) || !TryFirst(crc32, out string crc32Name, out nint crc32Address))
            return null;
        bool hasCrc64 = TryFirst(crc64, out string crc64Name, out nint crc64Address);
        return new IsaLClassVariants(crc16Name, crc16Address, crc32Name, crc32Address, hasCrc64 ? crc64Name : null, crc64Address);
    }

    private static bool TryFirst(string[] names, out string name, out nint address)
    {
        foreach (string candidate in names)
            if (IsaL.TryGetExport(candidate, out address))
            {
                name = candidate;
                return true;
            }
        name = "";
        address = 0;
        return false;
    }
}
