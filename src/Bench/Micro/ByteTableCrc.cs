namespace PolledNvme.Bench.Micro;

/// <summary>
/// The naive starting point: one 256-entry table, one byte per step. Kept only as the
/// benchmarks' "before" column.
/// </summary>
internal static unsafe class ByteTableCrc
{
    private static readonly ushort[] s_t10Dif = BuildNormal16(0x8BB7);
    private static readonly uint[] s_crc32C = BuildReflected32(0x82F63B78);
    private static readonly ulong[] s_crc64Nvme = BuildReflected64(0x9A6C9329AC4BC9B5);

    public static ulong T10Dif(byte* p, int n)
    {
        ushort crc = 0;
        for (int i = 0; i < n; i++)
            crc = (ushort)((crc << 8) ^ s_t10Dif[(crc >> 8) ^ p[i]]);
        return crc;
    }

    public static ulong Crc32C(byte* p, int n)
    {
        uint crc = uint.MaxValue;
        for (int i = 0; i < n; i++)
            crc = (crc >> 8) ^ s_crc32C[(byte)(crc ^ p[i])];
        return ~crc;
    }

    public static ulong Crc64Nvme(byte* p, int n)
    {
        ulong crc = ulong.MaxValue;
        for (int i = 0; i < n; i++)
            crc = (crc >> 8) ^ s_crc64Nvme[(byte)(crc ^ p[i])];
        return ~crc;
    }

    private static ushort[] BuildNormal16(ushort poly)
    {
        var t = new ushort[256];
        for (int b = 0; b < 256; b++)
        {
            int c = b << 8;
            for (int i = 0; i < 8; i++)
                c = (c & 0x8000) != 0 ? (c << 1) ^ poly : c << 1;
            t[b] = (ushort)c;
        }
        return t;
    }

    private static uint[] BuildReflected32(uint poly)
    {
        var t = new uint[256];
        for (uint b = 0; b < 256; b++)
        {
            uint c = b;
            for (int i = 0; i < 8; i++)
                c = (c & 1) != 0 ? (c >> 1) ^ poly : c >> 1;
            t[b] = c;
        }
        return t;
    }

    private static ulong[] BuildReflected64(ulong poly)
    {
        var t = new ulong[256];
        for (ulong b = 0; b < 256; b++)
        {
            ulong c = b;
            for (int i = 0; i < 8; i++)
                c = (c & 1) != 0 ? (c >> 1) ^ poly : c >> 1;
            t[b] = c;
        }
        return t;
    }
}
