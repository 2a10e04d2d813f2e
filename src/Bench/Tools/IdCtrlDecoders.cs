using static PolledNvme.Bench.Tools.Bit;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// <c>id-ctrl -H</c>: the bit fields of Identify Controller decoded (NVMe Base 2.0 §5.17.2.1,
/// Fig 275; NVMe-oF for FCATT/OFCS), one line per bit range as nvme-cli lays them out.
/// </summary>
internal static class IdCtrlDecoders
{
    private static Action<TextWriter> Decode(ulong value, params Bit[] bits) => o => CliText.Bits(o, value, bits);

    public static Action<TextWriter> Cmic(byte v) => Decode(v,
        Reserved(7, 4),
        Flag(3, "ANA Reporting"),
        Choice(2, "SR-IOV Virtual Function", "PCI Function"),
        Choice(1, "Multi Controller", "Single Controller"),
        Choice(0, "Multi Port", "Single Port"));

    public static Action<TextWriter> Oaes(uint v) => Decode(v,
        Flag(31, "Discovery Log Page Change Notices"),
        Reserved(30, 28),
        Flag(27, "Zone Descriptor Changed Notices"),
        Reserved(26, 16),
        Flag(15, "Normal NVM Subsystem Shutdown Event"),
        Flag(14, "Endurance Group Event Aggregate Log Page Change Notices"),
        Flag(13, "LBA Status Information Alert Notices"),
        Flag(12, "Predictable Latency Event Aggregate Log Change Notices"),
        Flag(11, "Asymmetric Namespace Access Change Notices"),
        Reserved(10, 10),
        Flag(9, "Firmware Activation Notices"),
        Flag(8, "Namespace Attribute Notices"),
        Reserved(7, 0));

    public static Action<TextWriter> Ctratt(uint v) => Decode(v,
        Reserved(31, 20),
        Flag(19, "Flexible Data Placement"),
        Reserved(18, 16),
        Flag(15, "Extended LBA Formats"),
        Flag(14, "Delete NVM Set"),
        Flag(13, "Delete Endurance Group"),
        Flag(12, "Variable Capacity Management"),
        Flag(11, "Fixed Capacity Management"),
        Flag(10, "Multi-Domain Subsystem"),
        Flag(9, "UUID List"),
        Flag(8, "SQ Associations"),
        Flag(7, "Namespace Granularity"),
        Flag(6, "Traffic Based Keep Alive"),
        Flag(5, "Predictable Latency Mode"),
        Flag(4, "Endurance Groups"),
        Flag(3, "Read Recovery Levels"),
        Flag(2, "NVM Sets"),
        Flag(1, "Non-Operational Power State Permissive Mode"),
        Flag(0, "128-bit Host Identifier"));

    public static Action<TextWriter> Cntrltype(byte v) => Decode(v,
        Field(7, 2, "Reserved"),
        Text(1, 0, t => t switch { 1 => "I/O Controller", 2 => "Discovery Controller", 3 => "Administrative Controller", _ => "Controller type not reported" }));

    public static Action<TextWriter> Nvmsr(byte v) => Decode(v,
        Reserved(7, 2),
        Choice(1, "NVM subsystem is part of an NVMe Enclosure", "NVM subsystem is not part of an NVMe Enclosure"),
        Choice(0, "NVM subsystem is part of an NVMe Storage Device", "NVM subsystem is not part of an NVMe Storage Device"));

    public static Action<TextWriter> Vwci(byte v) => Decode(v,
        Choice(7, "VPD Write Cycles Remaining is valid", "VPD Write Cycles Remaining is not valid"),
        Field(6, 0, "VPD Write Cycles Remaining"));

    public static Action<TextWriter> Mec(byte v) => Decode(v,
        Reserved(7, 2),
        Choice(1, "NVM subsystem has a Management Endpoint on a PCIe port", "NVM subsystem has no Management Endpoint on a PCIe port"),
        Choice(0, "NVM subsystem has a Management Endpoint on an SMBus/I2C port", "NVM subsystem has no Management Endpoint on an SMBus/I2C port"));

    public static Action<TextWriter> Oacs(ushort v) => Decode(v,
        Reserved(15, 11),
        Flag(10, "Command and Feature Lockdown"),
        Flag(9, "Get LBA Status"),
        Flag(8, "Doorbell Buffer Config"),
        Flag(7, "Virtualization Management"),
        Flag(6, "NVMe-MI Send and Receive"),
        Flag(5, "Directives"),
        Flag(4, "Device Self-test"),
        Flag(3, "Namespace Management and Attachment"),
        Flag(2, "Firmware Commit and Image Download"),
        Flag(1, "Format NVM"),
        Flag(0, "Security Send and Receive"));

    public static Action<TextWriter> Frmw(byte v) => Decode(v,
        Reserved(7, 6),
        Flag(5, "Multiple Update Detection"),
        Flag(4, "Firmware Activation Without Reset"),
        Field(3, 1, "Number of Firmware Slots"),
        Choice(0, "Firmware Slot 1 is Read-Only", "Firmware Slot 1 is Read/Write"));

    public static Action<TextWriter> Lpa(byte v) => Decode(v,
        Reserved(7, 7),
        Flag(6, "Telemetry Data Area 4"),
        Flag(5, "Supported Log Pages and Command Scope (LID 00h, LID 05h)"),
        Flag(4, "Persistent Event Log"),
        Flag(3, "Telemetry Host-Initiated and Controller-Initiated Log Pages"),
        Flag(2, "Extended Data for Get Log Page (NUMDU, LPO)"),
        Flag(1, "Commands Supported and Effects Log Page"),
        Flag(0, "SMART / Health Information Log Page per Namespace"));

    public static Action<TextWriter> Avscc(byte v) => Decode(v,
        Reserved(7, 1),
        Choice(0, "Admin Vendor Specific Commands use the standard format", "Admin Vendor Specific Commands use a vendor specific format"));

    public static Action<TextWriter> Apsta(byte v) => Decode(v,
        Reserved(7, 1),
        Flag(0, "Autonomous Power State Transitions"));

    public static Action<TextWriter> Rpmbs(uint v) => Decode(v,
        Field(31, 24, "Access Size (512-byte units, 0's based)"),
        Field(23, 16, "Total Size (128 KiB units, 0's based)"),
        Reserved(15, 6),
        Field(5, 3, "Authentication Method"),
        Field(2, 0, "Number of RPMB Units"));

    public static Action<TextWriter> Hctma(ushort v) => Decode(v,
        Reserved(15, 1),
        Flag(0, "Host Controlled Thermal Management"));

    public static Action<TextWriter> Sanicap(uint v) => Decode(v,
        Text(31, 30, t => t switch
        {
            0 => "No-Deallocate Modifies Media: not reported",
            1 => "Media is not additionally modified after a successful sanitize",
            2 => "Media is additionally modified after a successful sanitize",
            _ => "Reserved",
        }),
        Flag(29, "No-Deallocate After Sanitize"),
        Reserved(28, 3),
        Flag(2, "Overwrite Sanitize"),
        Flag(1, "Block Erase Sanitize"),
        Flag(0, "Crypto Erase Sanitize"));

    public static Action<TextWriter> Anacap(byte v) => Decode(v,
        Flag(7, "Non-zero ANA Group ID"),
        Choice(6, "ANA Group ID does not change while the namespace is attached", "ANA Group ID may change"),
        Reserved(5, 5),
        Flag(4, "ANA Change state"),
        Flag(3, "ANA Persistent Loss state"),
        Flag(2, "ANA Inaccessible state"),
        Flag(1, "ANA Non-Optimized state"),
        Flag(0, "ANA Optimized state"));

    public static Action<TextWriter> QueueEntrySizes(byte v, string queue) => Decode(v,
        Text(7, 4, t => $"Max {queue} Entry Size ({1 << (int)t})"),
        Text(3, 0, t => $"Min {queue} Entry Size ({1 << (int)t})"));

    public static Action<TextWriter> Oncs(ushort v) => Decode(v,
        Reserved(15, 9),
        Flag(8, "Copy"),
        Flag(7, "Verify"),
        Flag(6, "Timestamp"),
        Flag(5, "Reservations"),
        Flag(4, "Save field in Set Features and Select field in Get Features"),
        Flag(3, "Write Zeroes"),
        Flag(2, "Dataset Management"),
        Flag(1, "Write Uncorrectable"),
        Flag(0, "Compare"));

    public static Action<TextWriter> Fuses(ushort v) => Decode(v,
        Reserved(15, 1),
        Flag(0, "Fused Compare and Write"));

    public static Action<TextWriter> Fna(byte v) => Decode(v,
        Reserved(7, 4),
        Flag(3, "Format NVM with the broadcast NSID (FFFFFFFFh)"),
        Flag(2, "Cryptographic Erase as a Secure Erase"),
        Choice(1, "Cryptographic Erase applies to all namespaces", "Cryptographic Erase applies to the namespace given"),
        Choice(0, "Format NVM applies to all namespaces", "Format NVM applies to the namespace given"));

    public static Action<TextWriter> Vwc(byte v) => Decode(v,
        Reserved(7, 3),
        Text(2, 1, t => t switch
        {
            0 => "Flush with NSID FFFFFFFFh: support not reported",
            2 => "Flush with NSID FFFFFFFFh is not supported",
            3 => "Flush with NSID FFFFFFFFh is supported",
            _ => "Reserved",
        }),
        Choice(0, "Volatile Write Cache Present", "Volatile Write Cache Not Present"));

    public static Action<TextWriter> Icsvscc(byte v) => Decode(v,
        Reserved(7, 1),
        Choice(0, "NVM Vendor Specific Commands use the standard format", "NVM Vendor Specific Commands use a vendor specific format"));

    public static Action<TextWriter> Nwpc(byte v) => Decode(v,
        Reserved(7, 3),
        Flag(2, "Permanent Write Protect"),
        Flag(1, "Write Protect Until Power Cycle"),
        Flag(0, "No Write Protect and Write Protect namespace states"));

    public static Action<TextWriter> Ocfs(ushort v) => Decode(v,
        Reserved(15, 2),
        Flag(1, "Copy Format 1h"),
        Flag(0, "Copy Format 0h"));

    public static Action<TextWriter> Sgls(uint v) => Decode(v,
        Reserved(31, 22),
        Flag(21, "Transport SGL Data Block Descriptor"),
        Flag(20, "Address as Offset"),
        Flag(19, "MPTR containing an SGL descriptor"),
        Flag(18, "SGL length larger than the data"),
        Flag(17, "Byte-aligned contiguous metadata buffer"),
        Flag(16, "SGL Bit Bucket descriptor"),
        Field(15, 8, "SGL Descriptor Threshold"),
        Reserved(7, 3),
        Flag(2, "Keyed SGL Data Block descriptor"),
        Text(1, 0, t => t switch { 0 => "SGLs Not Supported", 1 => "SGLs Supported, no alignment requirement", 2 => "SGLs Supported, dword alignment and granularity", _ => "Reserved" }));

    public static Action<TextWriter> Fcatt(byte v) => Decode(v,
        Reserved(7, 1),
        Choice(0, "Static Controller Model", "Dynamic Controller Model"));

    public static Action<TextWriter> Ofcs(ushort v) => Decode(v,
        Reserved(15, 1),
        Flag(0, "Disconnect command"));
}
