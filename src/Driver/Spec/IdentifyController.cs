using System.Runtime.InteropServices;
using System.Text;

namespace PolledNvme.Driver.Spec;

/// <summary>
/// Identify Controller data structure, CNS 01h (NVMe Base 2.0 §5.17.2.1, Fig 275), 4096 bytes.
/// Every field nvme-cli's <c>id-ctrl</c> reports is named; 128-bit fields are split into Low/High
/// halves (a UInt128 field would need 16-byte alignment these offsets do not have).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public unsafe struct IdentifyController
{
    /// <summary>Size of the page.</summary>
    public const int Size = 4096;
    /// <summary>Power state descriptor slots (NPSS is 0's based, at most 31).</summary>
    public const int MaxPowerStates = 32;

    /// <summary>CTRATT bit 15: Extended LBA Formats Supported.</summary>
    public const uint CtrattExtendedLbaFormats = 1u << 15;
    /// <summary>ONCS bit 0: Compare.</summary>
    public const ushort OncsCompare = 1 << 0;
    /// <summary>ONCS bit 2: Dataset Management.</summary>
    public const ushort OncsDatasetManagement = 1 << 2;
    /// <summary>ONCS bit 3: Write Zeroes.</summary>
    public const ushort OncsWriteZeroes = 1 << 3;
    /// <summary>ONCS bit 7: Verify.</summary>
    public const ushort OncsVerify = 1 << 7;

    /// <summary>PCI Vendor ID.</summary>
    [FieldOffset(0)] public ushort Vid;
    /// <summary>PCI Subsystem Vendor ID.</summary>
    [FieldOffset(2)] public ushort Ssvid;
    /// <summary>Serial Number, ASCII, space padded.</summary>
    [FieldOffset(4)] internal fixed byte Sn[20];
    /// <summary>Model Number, ASCII, space padded.</summary>
    [FieldOffset(24)] internal fixed byte Mn[40];
    /// <summary>Firmware Revision, ASCII, space padded.</summary>
    [FieldOffset(64)] internal fixed byte Fr[8];
    /// <summary>Recommended Arbitration Burst.</summary>
    [FieldOffset(72)] public byte Rab;
    /// <summary>IEEE OUI Identifier (least significant byte first).</summary>
    [FieldOffset(73)] internal fixed byte Ieee[3];
    /// <summary>Controller Multi-Path I/O and Namespace Sharing Capabilities.</summary>
    [FieldOffset(76)] public byte Cmic;
    /// <summary>Maximum Data Transfer Size: 2^MDTS units of CAP.MPSMIN; 0 = no limit.</summary>
    [FieldOffset(77)] public byte Mdts;
    /// <summary>Controller ID.</summary>
    [FieldOffset(78)] public ushort Cntlid;
    /// <summary>Version (same encoding as the VS register).</summary>
    [FieldOffset(80)] public uint Ver;
    /// <summary>RTD3 Resume Latency, microseconds (0 = not reported).</summary>
    [FieldOffset(84)] public uint Rtd3r;
    /// <summary>RTD3 Entry Latency, microseconds (0 = not reported).</summary>
    [FieldOffset(88)] public uint Rtd3e;
    /// <summary>Optional Asynchronous Events Supported.</summary>
    [FieldOffset(92)] public uint Oaes;
    /// <summary>Controller Attributes (bit 15 ELBAS).</summary>
    [FieldOffset(96)] public uint Ctratt;
    /// <summary>Read Recovery Levels Supported (bit n = level n).</summary>
    [FieldOffset(100)] public ushort Rrls;
    /// <summary>Controller Type (1 = I/O controller).</summary>
    [FieldOffset(111)] public byte Cntrltype;
    /// <summary>FRU Globally Unique Identifier.</summary>
    [FieldOffset(112)] internal fixed byte Fguid[16];
    /// <summary>Command Retry Delay Time 1, units of 100 ms.</summary>
    [FieldOffset(128)] public ushort Crdt1;
    /// <summary>Command Retry Delay Time 2, units of 100 ms.</summary>
    [FieldOffset(130)] public ushort Crdt2;
    /// <summary>Command Retry Delay Time 3, units of 100 ms.</summary>
    [FieldOffset(132)] public ushort Crdt3;
    /// <summary>NVM Subsystem Report (NVMe-MI: NVMESD, NVMEE).</summary>
    [FieldOffset(253)] public byte Nvmsr;
    /// <summary>VPD Write Cycle Information.</summary>
    [FieldOffset(254)] public byte Vwci;
    /// <summary>Management Endpoint Capabilities.</summary>
    [FieldOffset(255)] public byte Mec;
    /// <summary>Optional Admin Command Support (bit 1 Format NVM, bit 8 Doorbell Buffer Config).</summary>
    [FieldOffset(256)] public ushort Oacs;
    /// <summary>Abort Command Limit, 0's based.</summary>
    [FieldOffset(258)] public byte Acl;
    /// <summary>Asynchronous Event Request Limit, 0's based.</summary>
    [FieldOffset(259)] public byte Aerl;
    /// <summary>Firmware Updates.</summary>
    [FieldOffset(260)] public byte Frmw;
    /// <summary>Log Page Attributes.</summary>
    [FieldOffset(261)] public byte Lpa;
    /// <summary>Error Log Page Entries, 0's based.</summary>
    [FieldOffset(262)] public byte Elpe;
    /// <summary>Number of Power States Support, 0's based.</summary>
    [FieldOffset(263)] public byte Npss;
    /// <summary>Admin Vendor Specific Command Configuration.</summary>
    [FieldOffset(264)] public byte Avscc;
    /// <summary>Autonomous Power State Transition Attributes.</summary>
    [FieldOffset(265)] public byte Apsta;
    /// <summary>Warning Composite Temperature Threshold (K).</summary>
    [FieldOffset(266)] public ushort Wctemp;
    /// <summary>Critical Composite Temperature Threshold (K).</summary>
    [FieldOffset(268)] public ushort Cctemp;
    /// <summary>Maximum Time for Firmware Activation, units of 100 ms.</summary>
    [FieldOffset(270)] public ushort Mtfa;
    /// <summary>Host Memory Buffer Preferred Size, 4 KiB units.</summary>
    [FieldOffset(272)] public uint Hmpre;
    /// <summary>Host Memory Buffer Minimum Size, 4 KiB units.</summary>
    [FieldOffset(276)] public uint Hmmin;
    /// <summary>Total NVM Capacity in bytes, low 64 bits of the 128-bit field.</summary>
    [FieldOffset(280)] public ulong TnvmcapLow;
    /// <summary>Total NVM Capacity in bytes, high 64 bits.</summary>
    [FieldOffset(288)] public ulong TnvmcapHigh;
    /// <summary>Unallocated NVM Capacity in bytes, low 64 bits of the 128-bit field.</summary>
    [FieldOffset(296)] public ulong UnvmcapLow;
    /// <summary>Unallocated NVM Capacity in bytes, high 64 bits.</summary>
    [FieldOffset(304)] public ulong UnvmcapHigh;
    /// <summary>Replay Protected Memory Block Support.</summary>
    [FieldOffset(312)] public uint Rpmbs;
    /// <summary>Extended Device Self-test Time, minutes.</summary>
    [FieldOffset(316)] public ushort Edstt;
    /// <summary>Device Self-test Options.</summary>
    [FieldOffset(318)] public byte Dsto;
    /// <summary>Firmware Update Granularity, 4 KiB units (FFh = no restriction).</summary>
    [FieldOffset(319)] public byte Fwug;
    /// <summary>Keep Alive Support, units of 100 ms (0 = not supported).</summary>
    [FieldOffset(320)] public ushort Kas;
    /// <summary>Host Controlled Thermal Management Attributes.</summary>
    [FieldOffset(322)] public ushort Hctma;
    /// <summary>Minimum Thermal Management Temperature (K).</summary>
    [FieldOffset(324)] public ushort Mntmt;
    /// <summary>Maximum Thermal Management Temperature (K).</summary>
    [FieldOffset(326)] public ushort Mxtmt;
    /// <summary>Sanitize Capabilities.</summary>
    [FieldOffset(328)] public uint Sanicap;
    /// <summary>Host Memory Buffer Minimum Descriptor Entry Size, 4 KiB units.</summary>
    [FieldOffset(332)] public uint Hmminds;
    /// <summary>Host Memory Maximum Descriptors Entries.</summary>
    [FieldOffset(336)] public ushort Hmmaxd;
    /// <summary>NVM Set Identifier Maximum.</summary>
    [FieldOffset(338)] public ushort Nsetidmax;
    /// <summary>Endurance Group Identifier Maximum.</summary>
    [FieldOffset(340)] public ushort Endgidmax;
    /// <summary>ANA Transition Time, seconds.</summary>
    [FieldOffset(342)] public byte Anatt;
    /// <summary>Asymmetric Namespace Access Capabilities.</summary>
    [FieldOffset(343)] public byte Anacap;
    /// <summary>ANA Group Identifier Maximum.</summary>
    [FieldOffset(344)] public uint Anagrpmax;
    /// <summary>Number of ANA Group Identifiers.</summary>
    [FieldOffset(348)] public uint Nanagrpid;
    /// <summary>Persistent Event Log Size, 64 KiB units.</summary>
    [FieldOffset(352)] public uint Pels;
    /// <summary>Domain Identifier.</summary>
    [FieldOffset(356)] public ushort Domainid;
    /// <summary>Max Endurance Group Capacity in bytes, low 64 bits of the 128-bit field.</summary>
    [FieldOffset(368)] public ulong MegcapLow;
    /// <summary>Max Endurance Group Capacity in bytes, high 64 bits.</summary>
    [FieldOffset(376)] public ulong MegcapHigh;
    /// <summary>Submission Queue Entry Size: [3:0] required, [7:4] maximum (log2).</summary>
    [FieldOffset(512)] public byte Sqes;
    /// <summary>Completion Queue Entry Size: [3:0] required, [7:4] maximum (log2).</summary>
    [FieldOffset(513)] public byte Cqes;
    /// <summary>Maximum Outstanding Commands.</summary>
    [FieldOffset(514)] public ushort Maxcmd;
    /// <summary>Number of Namespaces (largest valid NSID).</summary>
    [FieldOffset(516)] public uint Nn;
    /// <summary>Optional NVM Command Support.</summary>
    [FieldOffset(520)] public ushort Oncs;
    /// <summary>Fused Operation Support.</summary>
    [FieldOffset(522)] public ushort Fuses;
    /// <summary>Format NVM Attributes.</summary>
    [FieldOffset(524)] public byte Fna;
    /// <summary>Volatile Write Cache (bit 0 present).</summary>
    [FieldOffset(525)] public byte Vwc;
    /// <summary>Atomic Write Unit Normal, 0's based blocks.</summary>
    [FieldOffset(526)] public ushort Awun;
    /// <summary>Atomic Write Unit Power Fail, 0's based blocks.</summary>
    [FieldOffset(528)] public ushort Awupf;
    /// <summary>I/O Command Set Vendor Specific Command Configuration.</summary>
    [FieldOffset(530)] public byte Icsvscc;
    /// <summary>Namespace Write Protection Capabilities.</summary>
    [FieldOffset(531)] public byte Nwpc;
    /// <summary>Atomic Compare &amp; Write Unit, 0's based blocks.</summary>
    [FieldOffset(532)] public ushort Acwu;
    /// <summary>Optional Copy Formats Supported.</summary>
    [FieldOffset(534)] public ushort Ocfs;
    /// <summary>SGL Support (0 = SGLs not supported).</summary>
    [FieldOffset(536)] public uint Sgls;
    /// <summary>Maximum Number of Allowed Namespaces.</summary>
    [FieldOffset(540)] public uint Mnan;
    /// <summary>Maximum Domain Namespace Attachments, low 64 bits of the 128-bit field.</summary>
    [FieldOffset(544)] public ulong MaxdnaLow;
    /// <summary>Maximum Domain Namespace Attachments, high 64 bits.</summary>
    [FieldOffset(552)] public ulong MaxdnaHigh;
    /// <summary>Maximum I/O Controller Namespace Attachments.</summary>
    [FieldOffset(560)] public uint Maxcna;
    /// <summary>NVM Subsystem NVMe Qualified Name, UTF-8, NUL padded.</summary>
    [FieldOffset(768)] internal fixed byte Subnqn[256];
    /// <summary>I/O Queue Command Capsule Supported Size, 16-byte units (fabrics).</summary>
    [FieldOffset(1792)] public uint Ioccsz;
    /// <summary>I/O Queue Response Capsule Supported Size, 16-byte units (fabrics).</summary>
    [FieldOffset(1796)] public uint Iorcsz;
    /// <summary>In Capsule Data Offset, 16-byte units (fabrics).</summary>
    [FieldOffset(1800)] public ushort Icdoff;
    /// <summary>Fabrics Controller Attributes.</summary>
    [FieldOffset(1802)] public byte Fcatt;
    /// <summary>Maximum SGL Data Block Descriptors (fabrics).</summary>
    [FieldOffset(1803)] public byte Msdbd;
    /// <summary>Optional Fabric Commands Support.</summary>
    [FieldOffset(1804)] public ushort Ofcs;
    /// <summary>Power State Descriptors 0..31 (see GetPowerState).</summary>
    [FieldOffset(2048)] internal fixed byte Psd[PowerStateDescriptor.Size * MaxPowerStates];
    /// <summary>Vendor Specific.</summary>
    [FieldOffset(3072)] internal fixed byte Vs[1024];

    /// <summary>Total NVM Capacity in bytes (TNVMCAP).</summary>
    public readonly UInt128 Tnvmcap => new(TnvmcapHigh, TnvmcapLow);
    /// <summary>Unallocated NVM Capacity in bytes (UNVMCAP).</summary>
    public readonly UInt128 Unvmcap => new(UnvmcapHigh, UnvmcapLow);
    /// <summary>Max Endurance Group Capacity in bytes (MEGCAP).</summary>
    public readonly UInt128 Megcap => new(MegcapHigh, MegcapLow);
    /// <summary>Maximum Domain Namespace Attachments (MAXDNA).</summary>
    public readonly UInt128 Maxdna => new(MaxdnaHigh, MaxdnaLow);
    /// <summary>The IEEE OUI as one number (byte 73 is the least significant).</summary>
    public readonly uint IeeeOui { get { fixed (byte* p = Ieee) return (uint)(p[0] | p[1] << 8 | p[2] << 16); } }

    /// <summary>The FRU GUID bytes in page order.</summary>
    public readonly byte[] FruGuid { get { fixed (byte* p = Fguid) return new ReadOnlySpan<byte>(p, 16).ToArray(); } }

    /// <summary>The vendor specific area (bytes 3072..4095).</summary>
    public readonly byte[] VendorSpecific { get { fixed (byte* p = Vs) return new ReadOnlySpan<byte>(p, 1024).ToArray(); } }

    /// <summary>Power state descriptor <paramref name="index"/> (0..31; NPSS + 1 are valid).</summary>
    public readonly PowerStateDescriptor GetPowerState(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, MaxPowerStates);
        fixed (byte* p = Psd) return MemoryMarshal.Read<PowerStateDescriptor>(new ReadOnlySpan<byte>(p + index * PowerStateDescriptor.Size, PowerStateDescriptor.Size));
    }

    /// <summary>Sets power state descriptor <paramref name="index"/>.</summary>
    public void SetPowerState(int index, in PowerStateDescriptor descriptor)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, MaxPowerStates);
        fixed (byte* p = Psd) MemoryMarshal.Write(new Span<byte>(p + index * PowerStateDescriptor.Size, PowerStateDescriptor.Size), in descriptor);
    }

    /// <summary>The serial number as stored (up to the first NUL, padding kept), as nvme-cli prints it.</summary>
    public readonly string SerialNumberField { get { fixed (byte* p = Sn) return IdentifyText.ReadField(p, 20); } }
    /// <summary>The model number as stored (padding kept).</summary>
    public readonly string ModelNumberField { get { fixed (byte* p = Mn) return IdentifyText.ReadField(p, 40); } }
    /// <summary>The firmware revision as stored (padding kept).</summary>
    public readonly string FirmwareRevisionField { get { fixed (byte* p = Fr) return IdentifyText.ReadField(p, 8); } }
    /// <summary>The subsystem NQN as stored (up to the first NUL).</summary>
    public readonly string SubsystemNqnField { get { fixed (byte* p = Subnqn) return IdentifyText.ReadField(p, 256); } }

    /// <summary>The serial number, trimmed.</summary>
    public readonly string SerialNumber { get { fixed (byte* p = Sn) return IdentifyText.Read(p, 20); } }
    /// <summary>The model number, trimmed.</summary>
    public readonly string ModelNumber { get { fixed (byte* p = Mn) return IdentifyText.Read(p, 40); } }
    /// <summary>The firmware revision, trimmed.</summary>
    public readonly string FirmwareRevision { get { fixed (byte* p = Fr) return IdentifyText.Read(p, 8); } }
    /// <summary>The subsystem NQN.</summary>
    public readonly string SubsystemNqn { get { fixed (byte* p = Subnqn) return IdentifyText.Read(p, 256); } }

    /// <summary>Sets the serial number (space padded).</summary>
    public void SetSerialNumber(string value) { fixed (byte* p = Sn) IdentifyText.Write(p, 20, value, (byte)' '); }
    /// <summary>Sets the model number (space padded).</summary>
    public void SetModelNumber(string value) { fixed (byte* p = Mn) IdentifyText.Write(p, 40, value, (byte)' '); }
    /// <summary>Sets the firmware revision (space padded).</summary>
    public void SetFirmwareRevision(string value) { fixed (byte* p = Fr) IdentifyText.Write(p, 8, value, (byte)' '); }
    /// <summary>Sets the subsystem NQN (NUL padded).</summary>
    public void SetSubsystemNqn(string value) { fixed (byte* p = Subnqn) IdentifyText.Write(p, 256, value, 0); }

    /// <summary>Whether the controller supports extended LBA formats (CTRATT.ELBAS).</summary>
    public readonly bool ExtendedLbaFormatsSupported => (Ctratt & CtrattExtendedLbaFormats) != 0;

    /// <summary>OACS bit 8: the controller supports the Doorbell Buffer Config command (shadow doorbells, §5.9).</summary>
    public const ushort OacsDoorbellBufferConfig = 1 << 8;

    /// <summary>Whether the controller supports Doorbell Buffer Config (OACS bit 8).</summary>
    public readonly bool DoorbellBufferConfigSupported => (Oacs & OacsDoorbellBufferConfig) != 0;
}

/// <summary>Fixed-width ASCII fields of Identify pages.</summary>
internal static unsafe class IdentifyText
{
    public static string Read(byte* p, int length)
        => Encoding.ASCII.GetString(new ReadOnlySpan<byte>(p, length)).TrimEnd(' ', '\0');

    /// <summary>The bytes up to the first NUL, untrimmed; Latin-1 so that every byte value survives.</summary>
    public static string ReadField(byte* p, int length)
    {
        var field = new ReadOnlySpan<byte>(p, length);
        int nul = field.IndexOf((byte)0);
        return Encoding.Latin1.GetString(nul < 0 ? field : field[..nul]);
    }

    public static void Write(byte* p, int length, string value, byte pad)
    {
        var field = new Span<byte>(p, length);
        field.Fill(pad);
        int n = Encoding.ASCII.GetBytes(value.AsSpan(0, Math.Min(value.Length, length)), field);
        _ = n;
    }
}
