using System.Runtime.InteropServices;
using System.Text;

namespace PolledNvme.Driver.Spec;

/// <summary>
/// Identify Controller data structure, CNS 01h (NVMe Base 2.0 §5.17.2.1, Fig 275), 4096 bytes.
/// Only the fields this project reads or fills are named; the rest stays reserved bytes.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public unsafe struct IdentifyController
{
    /// <summary>Size of the page.</summary>
    public const int Size = 4096;

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
    [FieldOffset(4)] public fixed byte Sn[20];
    /// <summary>Model Number, ASCII, space padded.</summary>
    [FieldOffset(24)] public fixed byte Mn[40];
    /// <summary>Firmware Revision, ASCII, space padded.</summary>
    [FieldOffset(64)] public fixed byte Fr[8];
    /// <summary>Recommended Arbitration Burst.</summary>
    [FieldOffset(72)] public byte Rab;
    /// <summary>IEEE OUI Identifier.</summary>
    [FieldOffset(73)] public fixed byte Ieee[3];
    /// <summary>Controller Multi-Path I/O and Namespace Sharing Capabilities.</summary>
    [FieldOffset(76)] public byte Cmic;
    /// <summary>Maximum Data Transfer Size: 2^MDTS units of CAP.MPSMIN; 0 = no limit.</summary>
    [FieldOffset(77)] public byte Mdts;
    /// <summary>Controller ID.</summary>
    [FieldOffset(78)] public ushort Cntlid;
    /// <summary>Version (same encoding as the VS register).</summary>
    [FieldOffset(80)] public uint Ver;
    /// <summary>Optional Asynchronous Events Supported.</summary>
    [FieldOffset(92)] public uint Oaes;
    /// <summary>Controller Attributes (bit 15 ELBAS).</summary>
    [FieldOffset(96)] public uint Ctratt;
    /// <summary>Controller Type (1 = I/O controller).</summary>
    [FieldOffset(111)] public byte Cntrltype;
    /// <summary>Optional Admin Command Support (bit 1 Format NVM).</summary>
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
    /// <summary>Warning Composite Temperature Threshold (K).</summary>
    [FieldOffset(266)] public ushort Wctemp;
    /// <summary>Critical Composite Temperature Threshold (K).</summary>
    [FieldOffset(268)] public ushort Cctemp;
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
    /// <summary>SGL Support (0 = SGLs not supported).</summary>
    [FieldOffset(536)] public uint Sgls;
    /// <summary>NVM Subsystem NVMe Qualified Name, UTF-8, NUL padded.</summary>
    [FieldOffset(768)] public fixed byte Subnqn[256];

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
}

/// <summary>Fixed-width ASCII fields of Identify pages.</summary>
internal static unsafe class IdentifyText
{
    public static string Read(byte* p, int length)
        => Encoding.ASCII.GetString(new ReadOnlySpan<byte>(p, length)).TrimEnd(' ', '\0');

    public static void Write(byte* p, int length, string value, byte pad)
    {
        var field = new Span<byte>(p, length);
        field.Fill(pad);
        int n = Encoding.ASCII.GetBytes(value.AsSpan(0, Math.Min(value.Length, length)), field);
        _ = n;
    }
}
