using System.Runtime.InteropServices;

namespace PolledNvme.Driver.Spec;

/// <summary>One LBA Format entry of Identify Namespace (NVM CS 1.0 §4.1.5.1, Fig 98): MS [15:0], LBADS [23:16], RP [25:24].</summary>
public readonly record struct LbaFormat(uint Value)
{
    /// <summary>Metadata Size in bytes per logical block.</summary>
    public int MetadataSize => (int)(Value & 0xFFFF);
    /// <summary>LBA Data Size as a power of two (9 = 512 bytes); 0 = format not supported.</summary>
    public int DataSizeShift => (int)((Value >> 16) & 0xFF);
    /// <summary>Relative Performance (0 best).</summary>
    public int RelativePerformance => (int)((Value >> 24) & 3);
    /// <summary>Logical block size in bytes, or 0 when the format is not supported.</summary>
    public int BlockSize => DataSizeShift == 0 ? 0 : 1 << DataSizeShift;

    /// <summary>Builds an entry.</summary>
    public static LbaFormat Create(int metadataSize, int dataSizeShift, int relativePerformance = 0)
        => new((uint)(ushort)metadataSize | ((uint)(byte)dataSizeShift << 16) | ((uint)(relativePerformance & 3) << 24));
}

/// <summary>
/// Identify Namespace data structure, CNS 00h (NVM CS 1.0 §4.1.5.1, Fig 97), 4096 bytes. Field
/// positions: PI.md §3.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public unsafe struct IdentifyNamespace
{
    /// <summary>Size of the page.</summary>
    public const int Size = 4096;
    /// <summary>Number of LBA format slots.</summary>
    public const int MaxLbaFormats = 64;

    /// <summary>FLBAS bit 4: metadata is transferred at the end of each LBA (extended LBA).</summary>
    public const byte FlbasExtended = 1 << 4;
    /// <summary>MC bit 0: extended LBA metadata supported.</summary>
    public const byte McExtended = 1 << 0;
    /// <summary>MC bit 1: separate metadata buffer supported.</summary>
    public const byte McSeparate = 1 << 1;
    /// <summary>DPC bit 3: PI in the first bytes of metadata supported.</summary>
    public const byte DpcFirst = 1 << 3;
    /// <summary>DPC bit 4: PI in the last bytes of metadata supported.</summary>
    public const byte DpcLast = 1 << 4;
    /// <summary>DPS bit 3: PI is in the first bytes of metadata (PIP).</summary>
    public const byte DpsFirst = 1 << 3;
    /// <summary>NSFEAT bit 2: Deallocated or Unwritten Logical Block error supported.</summary>
    public const byte NsfeatDulbe = 1 << 2;
    /// <summary>NSATTR bit 0: the namespace is currently write protected (NVMe Base 2.0 Fig 276); all writes fail.</summary>
    public const byte NsattrWriteProtected = 1 << 0;

    /// <summary>Namespace Size in logical blocks.</summary>
    [FieldOffset(0)] public ulong Nsze;
    /// <summary>Namespace Capacity in logical blocks.</summary>
    [FieldOffset(8)] public ulong Ncap;
    /// <summary>Namespace Utilization in logical blocks.</summary>
    [FieldOffset(16)] public ulong Nuse;
    /// <summary>Namespace Features.</summary>
    [FieldOffset(24)] public byte Nsfeat;
    /// <summary>Number of LBA Formats, 0's based.</summary>
    [FieldOffset(25)] public byte Nlbaf;
    /// <summary>Formatted LBA Size: [3:0] index low, [4] extended metadata, [6:5] index high.</summary>
    [FieldOffset(26)] public byte Flbas;
    /// <summary>Metadata Capabilities.</summary>
    [FieldOffset(27)] public byte Mc;
    /// <summary>End-to-end Data Protection Capabilities: bits 0-2 types 1-3, bit 3 first, bit 4 last.</summary>
    [FieldOffset(28)] public byte Dpc;
    /// <summary>End-to-end Data Protection Type Settings: [2:0] type, bit 3 PI first.</summary>
    [FieldOffset(29)] public byte Dps;
    /// <summary>Namespace Multi-path I/O and Namespace Sharing Capabilities.</summary>
    [FieldOffset(30)] public byte Nmic;
    /// <summary>Reservation Capabilities.</summary>
    [FieldOffset(31)] public byte Rescap;
    /// <summary>Format Progress Indicator: bit 7 supported, [6:0] percent remaining.</summary>
    [FieldOffset(32)] public byte Fpi;
    /// <summary>Deallocate Logical Block Features: [2:0] read value (1 zeros, 2 FFh), bit 3 Write Zeroes DEAC, bit 4 GDS.</summary>
    [FieldOffset(33)] public byte Dlfeat;
    /// <summary>Namespace Atomic Write Unit Normal, 0's based blocks.</summary>
    [FieldOffset(34)] public ushort Nawun;
    /// <summary>Namespace Atomic Write Unit Power Fail, 0's based blocks.</summary>
    [FieldOffset(36)] public ushort Nawupf;
    /// <summary>Namespace Atomic Compare &amp; Write Unit, 0's based blocks.</summary>
    [FieldOffset(38)] public ushort Nacwu;
    /// <summary>Namespace Atomic Boundary Size Normal.</summary>
    [FieldOffset(40)] public ushort Nabsn;
    /// <summary>Namespace Atomic Boundary Offset.</summary>
    [FieldOffset(42)] public ushort Nabo;
    /// <summary>Namespace Atomic Boundary Size Power Fail.</summary>
    [FieldOffset(44)] public ushort Nabspf;
    /// <summary>Namespace Optimal I/O Boundary, blocks (0 = not reported).</summary>
    [FieldOffset(46)] public ushort Noiob;
    /// <summary>NVM Capacity in bytes, low 64 bits of the 128-bit field.</summary>
    [FieldOffset(48)] public ulong NvmcapLow;
    /// <summary>NVM Capacity in bytes, high 64 bits.</summary>
    [FieldOffset(56)] public ulong NvmcapHigh;
    /// <summary>Namespace Preferred Write Granularity, 0's based (valid when NSFEAT bit 4).</summary>
    [FieldOffset(64)] public ushort Npwg;
    /// <summary>Namespace Preferred Write Alignment, 0's based.</summary>
    [FieldOffset(66)] public ushort Npwa;
    /// <summary>Namespace Preferred Deallocate Granularity, 0's based.</summary>
    [FieldOffset(68)] public ushort Npdg;
    /// <summary>Namespace Preferred Deallocate Alignment, 0's based.</summary>
    [FieldOffset(70)] public ushort Npda;
    /// <summary>Namespace Optimal Write Size, 0's based.</summary>
    [FieldOffset(72)] public ushort Nows;
    /// <summary>Maximum Single Source Range Length (Copy).</summary>
    [FieldOffset(74)] public ushort Mssrl;
    /// <summary>Maximum Copy Length.</summary>
    [FieldOffset(76)] public uint Mcl;
    /// <summary>Maximum Source Range Count, 0's based (Copy).</summary>
    [FieldOffset(80)] public byte Msrc;
    /// <summary>Number of Unique Capability LBA Formats.</summary>
    [FieldOffset(82)] public byte Nulbaf;
    /// <summary>ANA Group Identifier.</summary>
    [FieldOffset(92)] public uint Anagrpid;
    /// <summary>Namespace Attributes: bit 0 write protected.</summary>
    [FieldOffset(99)] public byte Nsattr;
    /// <summary>NVM Set Identifier.</summary>
    [FieldOffset(100)] public ushort Nvmsetid;
    /// <summary>Endurance Group Identifier.</summary>
    [FieldOffset(102)] public ushort Endgid;
    /// <summary>Namespace Globally Unique Identifier.</summary>
    [FieldOffset(104)] internal fixed byte Nguid[16];
    /// <summary>IEEE Extended Unique Identifier, in page order.</summary>
    [FieldOffset(120)] internal fixed byte Eui64[8];
    /// <summary>LBA Format 0..63, raw dwords.</summary>
    [FieldOffset(128)] internal fixed uint Lbaf[MaxLbaFormats];
    /// <summary>Vendor Specific.</summary>
    [FieldOffset(384)] internal fixed byte Vs[3712];

    /// <summary>NVM Capacity in bytes (NVMCAP).</summary>
    public readonly UInt128 Nvmcap => new(NvmcapHigh, NvmcapLow);
    /// <summary>The NGUID bytes in page order.</summary>
    public readonly byte[] NguidBytes { get { fixed (byte* p = Nguid) return new ReadOnlySpan<byte>(p, 16).ToArray(); } }
    /// <summary>The EUI-64 bytes in page order.</summary>
    public readonly byte[] Eui64Bytes { get { fixed (byte* p = Eui64) return new ReadOnlySpan<byte>(p, 8).ToArray(); } }
    /// <summary>The vendor specific area (bytes 384..4095).</summary>
    public readonly byte[] VendorSpecific { get { fixed (byte* p = Vs) return new ReadOnlySpan<byte>(p, 3712).ToArray(); } }

    /// <summary>Index of the format in use (FLBAS bits [3:0] and [6:5]).</summary>
    public readonly int FormatIndex => (Flbas & 0xF) | (((Flbas >> 5) & 3) << 4);
    /// <summary>Whether metadata travels at the end of each block (FLBAS bit 4).</summary>
    public readonly bool ExtendedMetadata => (Flbas & FlbasExtended) != 0;
    /// <summary>The PI type in use (0 = none).</summary>
    public readonly int PiType => Dps & 7;
    /// <summary>Whether PI occupies the first bytes of metadata (DPS.PIP).</summary>
    public readonly bool PiFirst => (Dps & DpsFirst) != 0;
    /// <summary>Number of LBA formats (NLBAF + 1).</summary>
    public readonly int FormatCount => Nlbaf + 1;

    /// <summary>LBA format <paramref name="index"/>.</summary>
    public readonly LbaFormat GetLbaFormat(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, MaxLbaFormats);
        fixed (uint* p = Lbaf) return new LbaFormat(p[index]);
    }

    /// <summary>Sets LBA format <paramref name="index"/>.</summary>
    public void SetLbaFormat(int index, LbaFormat format)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, MaxLbaFormats);
        fixed (uint* p = Lbaf) p[index] = format.Value;
    }

    /// <summary>Sets FLBAS from a format index and the extended-metadata flag.</summary>
    public void SetFormatIndex(int index, bool extendedMetadata)
        => Flbas = (byte)((index & 0xF) | (((index >> 4) & 3) << 5) | (extendedMetadata ? FlbasExtended : 0));
}

/// <summary>One Extended LBA Format entry of the NVM CS Identify Namespace (NVM CS 1.0 Fig 114): STS [6:0], PIF [8:7], QPIF [12:9].</summary>
public readonly record struct ExtendedLbaFormat(uint Value)
{
    /// <summary>Storage Tag Size in bits.</summary>
    public int StorageTagSize => (int)(Value & 0x7F);
    /// <summary>Protection Information Format: 0 16b guard, 1 32b guard, 2 64b guard, 3 qualified.</summary>
    public int ProtectionFormat => (int)((Value >> 7) & 3);
    /// <summary>Qualified Protection Information Format (when PIF = 3).</summary>
    public int QualifiedProtectionFormat => (int)((Value >> 9) & 0xF);

    /// <summary>Builds an entry.</summary>
    public static ExtendedLbaFormat Create(int storageTagSize, int protectionFormat)
        => new((uint)(storageTagSize & 0x7F) | ((uint)(protectionFormat & 3) << 7));
}

/// <summary>
/// I/O Command Set specific Identify Namespace for the NVM command set, CNS 05h CSI 00h
/// (NVM CS 1.0 §4.1.5.3, Fig 114), 4096 bytes. Field positions: PI.md §3.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public unsafe struct NvmIdentifyNamespace
{
    /// <summary>Size of the page.</summary>
    public const int Size = 4096;

    /// <summary>PIC bit 0: 16b guard PI with storage tag supported.</summary>
    public const byte Pic16bPiStorageTag = 1 << 0;
    /// <summary>PIC bit 1: 16b guard PI storage tag mask supported.</summary>
    public const byte Pic16bPiStorageTagMask = 1 << 1;
    /// <summary>PIC bit 2: Storage Tag Check Read Support.</summary>
    public const byte PicStorageTagCheckRead = 1 << 2;

    /// <summary>Logical Block Storage Tag Mask.</summary>
    [FieldOffset(0)] public ulong Lbstm;
    /// <summary>Protection Information Capabilities.</summary>
    [FieldOffset(8)] public byte Pic;
    /// <summary>Protection Information Format Attribute (1.1+): [3:0] storage tag masking level.</summary>
    [FieldOffset(9)] public byte Pifa;
    /// <summary>Extended LBA Format 0..63, raw dwords.</summary>
    [FieldOffset(12)] internal fixed uint Elbaf[IdentifyNamespace.MaxLbaFormats];

    /// <summary>Extended LBA format <paramref name="index"/>.</summary>
    public readonly ExtendedLbaFormat GetExtendedLbaFormat(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, IdentifyNamespace.MaxLbaFormats);
        fixed (uint* p = Elbaf) return new ExtendedLbaFormat(p[index]);
    }

    /// <summary>Sets extended LBA format <paramref name="index"/>.</summary>
    public void SetExtendedLbaFormat(int index, ExtendedLbaFormat format)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, IdentifyNamespace.MaxLbaFormats);
        fixed (uint* p = Elbaf) p[index] = format.Value;
    }
}
