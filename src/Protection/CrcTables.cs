using System.Runtime.CompilerServices;

namespace PolledNvme.Protection;

/// <summary>
/// Slice-by-8 lookup tables and the scalar loops that use them: the fallback path of every
/// CRC, and the tail finisher of the vector kernels. Tables are derived from the polynomial,
/// never typed in.
/// </summary>
internal static class CrcTables
{
    /// <summary>Eight 256-entry tables for a reflected CRC of width up to 64 (CRC-32C, CRC-64/NVME).</summary>
    public static ulong[] BuildReflected(ulong reflectedPoly)
    {
        var t = new ulong[8 * 256];
        for (int b = 0; b < 256; b++)
        {
            ulong c = (ulong)b;
            for (int i = 0; i < 8; i++)
                c = (c & 1) != 0 ? (c >> 1) ^ reflectedPoly : c >> 1;
            t[b] = c;
        }
        for (int k = 1; k < 8; k++)
            for (int b = 0; b < 256; b++)
            {
                ulong prev = t[(k - 1) * 256 + b];
                t[k * 256 + b] = (prev >> 8) ^ t[(int)(prev & 0xFF)];
            }
        return t;
    }

    /// <summary>Eight 256-entry tables for a non-reflected 16-bit CRC (CRC-16/T10-DIF).</summary>
    public static ushort[] BuildNormal16(ushort poly)
    {
        var t = new ushort[8 * 256];
        for (int b = 0; b < 256; b++)
        {
            uint c = (uint)b << 8;
            for (int i = 0; i < 8; i++)
                c = (c & 0x8000) != 0 ? (c << 1) ^ poly : c << 1;
            t[b] = (ushort)c;
        }
        for (int k = 1; k < 8; k++)
            for (int b = 0; b < 256; b++)
            {
                ushort prev = t[(k - 1) * 256 + b];
                t[k * 256 + b] = (ushort)((prev << 8) ^ t[prev >> 8]);
            }
        return t;
    }

    /// <summary>
    /// Advances a reflected CRC register (not inverted: callers handle init and xor-out) over
    /// <paramref name="data"/>, eight bytes per step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong UpdateReflected(ReadOnlySpan<ulong> t, ulong crc, ReadOnlySpan<byte> data)
    {
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            ulong v = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(i)) ^ crc;
            crc = t[7 * 256 + (int)(v & 0xFF)]
                ^ t[6 * 256 + (int)((v >> 8) & 0xFF)]
                ^ t[5 * 256 + (int)((v >> 16) & 0xFF)]
                ^ t[4 * 256 + (int)((v >> 24) & 0xFF)]
                ^ t[3 * 256 + (int)((v >> 32) & 0xFF)]
                ^ t[2 * 256 + (int)((v >> 40) & 0xFF)]
                ^ t[1 * 256 + (int)((v >> 48) & 0xFF)]
                ^ t[(int)(v >> 56)];
        }
        for (; i < data.Length; i++)
            crc = t[(int)((crc ^ data[i]) & 0xFF)] ^ (crc >> 8);
        return crc;
    }

    /// <summary>Advances a non-reflected 16-bit CRC register over <paramref name="data"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ushort UpdateNormal16(ReadOnlySpan<ushort> t, ushort crc, ReadOnlySpan<byte> data)
    {
        int i = 0;
        uint c = crc;
        for (; i + 8 <= data.Length; i += 8)
        {
            ReadOnlySpan<byte> d = data.Slice(i, 8);
            c = (uint)(t[7 * 256 + (d[0] ^ (int)(c >> 8))]
                ^ t[6 * 256 + (d[1] ^ (int)(c & 0xFF))]
                ^ t[5 * 256 + d[2]]
                ^ t[4 * 256 + d[3]]
                ^ t[3 * 256 + d[4]]
                ^ t[2 * 256 + d[5]]
                ^ t[1 * 256 + d[6]]
                ^ t[d[7]]);
        }
        for (; i < data.Length; i++)
            c = ((c << 8) ^ t[(int)((c >> 8) ^ data[i]) & 0xFF]) & 0xFFFF;
        return (ushort)c;
    }
}
