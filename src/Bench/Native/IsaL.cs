using System.Runtime.InteropServices;

namespace PolledNvme.Bench.Native;

/// <summary>
/// Optional binding to Intel ISA-L's CRC functions (Debian package <c>libisal-dev</c>,
/// <c>libisal.so.2</c>), used only as a speed and correctness yardstick by the benchmarks
/// and tests. Resolved lazily; absent library or symbols are reported, never fatal.
/// </summary>
internal static unsafe class IsaL
{
    /// <summary>The Debian package that provides the library.</summary>
    public const string Package = "libisal-dev";

    private static readonly delegate* unmanaged<ushort, byte*, ulong, ushort> s_crc16T10Dif;
    private static readonly delegate* unmanaged<byte*, int, uint, uint> s_crc32Iscsi;
    private static readonly delegate* unmanaged<ulong, byte*, ulong, ulong> s_crc64Refl;

    private static readonly nint s_library;

    static IsaL()
    {
        if (!NativeLibrary.TryLoad("libisal.so.2", out nint library) && !NativeLibrary.TryLoad("libisal.so", out library))
        {
            MissingReason = $"ISA-L (libisal.so.2) not found; install it with 'apt-get install {Package}'.";
            return;
        }
        if (!NativeLibrary.TryGetExport(library, "crc16_t10dif", out nint crc16)
            || !NativeLibrary.TryGetExport(library, "crc32_iscsi", out nint crc32))
        {
            MissingReason = "libisal.so.2 lacks crc16_t10dif or crc32_iscsi.";
            return;
        }
        s_crc16T10Dif = (delegate* unmanaged<ushort, byte*, ulong, ushort>)crc16;
        s_crc32Iscsi = (delegate* unmanaged<byte*, int, uint, uint>)crc32;
        // crc64_rocksoft_refl is CRC-64/NVME (ISA-L 2.31+). Older releases have no NVME
        // polynomial; crc64_ecma_refl runs the same code with other constants, so it stands
        // in for the speed comparison only.
        if (NativeLibrary.TryGetExport(library, "crc64_rocksoft_refl", out nint crc64))
        {
            Crc64Function = "crc64_rocksoft_refl";
            Crc64IsNvme = true;
        }
        else if (NativeLibrary.TryGetExport(library, "crc64_ecma_refl", out crc64))
            Crc64Function = "crc64_ecma_refl";
        s_crc64Refl = (delegate* unmanaged<ulong, byte*, ulong, ulong>)crc64;
        s_library = library;
        IsAvailable = true;
    }

    /// <summary>The address of <paramref name="symbol"/> in the loaded library (false when absent or the library is unusable).</summary>
    public static bool TryGetExport(string symbol, out nint address)
    {
        address = 0;
        return IsAvailable && NativeLibrary.TryGetExport(s_library, symbol, out address);
    }

    /// <summary>Whether crc16_t10dif and crc32_iscsi could be bound.</summary>
    public static bool IsAvailable { get; }

    /// <summary>Why the library is unusable, when it is.</summary>
    public static string? MissingReason { get; }

    /// <summary>The reflected CRC-64 bound: crc64_rocksoft_refl, or crc64_ecma_refl as a same-speed stand-in; null if neither.</summary>
    public static string? Crc64Function { get; }

    /// <summary>Whether <see cref="Crc64Function"/> computes CRC-64/NVME itself (rather than standing in for its speed).</summary>
    public static bool Crc64IsNvme { get; }

    /// <summary>ISA-L <c>crc16_t10dif(init, buf, len)</c>: CRC-16/T10-DIF continuing from <paramref name="init"/>.</summary>
    public static ushort Crc16T10Dif(ushort init, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
            return s_crc16T10Dif(init, p, (ulong)data.Length);
    }

    /// <summary>Unchecked raw form for benchmark loops.</summary>
    public static ushort Crc16T10Dif(ushort init, byte* p, int length) => s_crc16T10Dif(init, p, (ulong)length);

    /// <summary>CRC-32C through ISA-L: <c>crc32_iscsi(buf, len, 0xFFFFFFFF) ^ 0xFFFFFFFF</c>.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
            return Crc32C(p, data.Length);
    }

    /// <summary>Unchecked raw form for benchmark loops.</summary>
    public static uint Crc32C(byte* p, int length) => s_crc32Iscsi(p, length, 0xFFFFFFFF) ^ 0xFFFFFFFF;

    /// <summary>The bound reflected CRC-64 (<see cref="Crc64Function"/>) from 0.</summary>
    public static ulong Crc64(ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
            return Crc64(p, data.Length);
    }

    /// <summary>Unchecked raw form for benchmark loops.</summary>
    public static ulong Crc64(byte* p, int length)
    {
        if (Crc64Function is null)
            throw new InvalidOperationException("This libisal.so.2 exports neither crc64_rocksoft_refl nor crc64_ecma_refl.");
        return s_crc64Refl(0, p, (ulong)length);
    }
}
