namespace PolledNvme.Bench.Tools;

/// <summary>
/// Feature identifiers (NVMe Base 2.0 §5.27.1, Fig 317): the names nvme-cli prints, the size of
/// the data buffer a feature moves (what libnvme's feature-length table gives, e.g. 512 for
/// Host Behavior Support), and the <c>get-feature -H</c> decoding of the dword features.
/// </summary>
internal static class FeatureTable
{
    /// <summary>The feature's name as nvme-cli prints it, or "Unknown".</summary>
    public static string Name(byte fid) => fid switch
    {
        0x01 => "Arbitration",
        0x02 => "Power Management",
        0x03 => "LBA Range Type",
        0x04 => "Temperature Threshold",
        0x05 => "Error Recovery",
        0x06 => "Volatile Write Cache",
        0x07 => "Number of Queues",
        0x08 => "Interrupt Coalescing",
        0x09 => "Interrupt Vector Configuration",
        0x0A => "Write Atomicity Normal",
        0x0B => "Async Event Configuration",
        0x0C => "Autonomous Power State Transition",
        0x0D => "Host Memory Buffer",
        0x0E => "Timestamp",
        0x0F => "Keep Alive Timer",
        0x10 => "Host Controlled Thermal Management",
        0x11 => "Non-Operational Power State Config",
        0x12 => "Read Recovery Level",
        0x13 => "Predictable Latency Mode Config",
        0x14 => "Predictable Latency Mode Window",
        0x15 => "LBA Status Interval",
        0x16 => "Host Behavior",
        0x17 => "Sanitize",
        0x18 => "Endurance Event Group Configuration",
        0x19 => "I/O Command Set Profile",
        0x1A => "Spinup Control",
        0x1D => "Flexible Direct Placement",
        0x1E => "Flexible Direct Placement Events",
        0x7D => "Enhanced Controller Metadata",
        0x7E => "Controller Metadata",
        0x7F => "Namespace Metadata",
        0x80 => "Software Progress",
        0x81 => "Host Identifier",
        0x82 => "Reservation Notification Mask",
        0x83 => "Reservation Persistence",
        0x84 => "Namespace Write Protect",
        _ => "Unknown",
    };

    /// <summary>Bytes of the data buffer of <paramref name="fid"/> (0: the feature is dword-only); <paramref name="toController"/> for Set Features.</summary>
    public static int DataLength(byte fid, uint cdw11, bool toController) => fid switch
    {
        0x03 => 4096,                         // LBA Range Type: 64 entries of 64 bytes
        0x0C => 256,                          // APST: 32 entries of 8 bytes
        0x0D => toController ? 0 : 4096,      // Host Memory Buffer attributes (Get only)
        0x0E => 8,                            // Timestamp
        0x13 => 512,                          // Predictable Latency Mode Config
        0x16 => 512,                          // Host Behavior Support
        0x7D or 0x7E or 0x7F => 4096,         // host metadata
        0x81 => (cdw11 & 1) != 0 ? 16 : 8,    // Host Identifier (extended when EXHID)
        _ => 0,
    };

    /// <summary>Get Features SEL (CDW10[10:8]) names; 8 is nvme-cli's "changed from default".</summary>
    public static string SelectName(int sel) => sel switch
    {
        0 => "Current",
        1 => "Default",
        2 => "Saved",
        3 => "Supported capabilities",
        8 => "Changed",
        _ => "Reserved",
    };

    /// <summary>The <c>-H</c> lines of a dword feature (none for features this does not decode).</summary>
    public static void Decode(TextWriter o, byte fid, uint v, ReadOnlySpan<byte> data)
    {
        string OnOff(uint bit) => bit != 0 ? "Enabled" : "Disabled";
        switch (fid)
        {
            case 0x01:
                o.WriteLine($"\tHigh Priority Weight   (HPW): {(v >> 24) + 1}");
                o.WriteLine($"\tMedium Priority Weight (MPW): {((v >> 16) & 0xFF) + 1}");
                o.WriteLine($"\tLow Priority Weight    (LPW): {((v >> 8) & 0xFF) + 1}");
                o.WriteLine($"\tArbitration Burst       (AB): {((v & 7) == 7 ? "No limit" : (1 << (int)(v & 7)).ToString())}");
                break;
            case 0x02:
                o.WriteLine($"\tWorkload Hint (WH): {(v >> 5) & 7}");
                o.WriteLine($"\tPower State   (PS): {v & 0x1F}");
                break;
            case 0x04:
                o.WriteLine($"\tThreshold Type Select         (THSEL): {(v >> 20) & 3} - {(((v >> 20) & 3) switch { 0 => "Over Temperature Threshold", 1 => "Under Temperature Threshold", _ => "Reserved" })}");
                o.WriteLine($"\tThreshold Temperature Select (TMPSEL): {(v >> 16) & 0xF} - {(((v >> 16) & 0xF) switch { 0 => "Composite Temperature", 0xF => "All implemented temperature sensors", var s and <= 8 => $"Temperature Sensor {s}", _ => "Reserved" })}");
                o.WriteLine($"\tTemperature Threshold         (TMPTH): {CliText.Kelvin((int)(v & 0xFFFF))}");
                break;
            case 0x05:
                o.WriteLine($"\tDeallocated or Unwritten Logical Block Error Enable (DULBE): {OnOff((v >> 16) & 1)}");
                o.WriteLine($"\tTime Limited Error Recovery                          (TLER): {(v & 0xFFFF) * 100} ms");
                break;
            case 0x06:
                o.WriteLine($"\tVolatile Write Cache Enable (WCE): {OnOff(v & 1)}");
                break;
            case 0x07:
                o.WriteLine($"\tNumber of IO Completion Queues Allocated (NCQA): {(v >> 16) + 1}");
                o.WriteLine($"\tNumber of IO Submission Queues Allocated (NSQA): {(v & 0xFFFF) + 1}");
                break;
            case 0x08:
                o.WriteLine($"\tAggregation Time     (TIME): {((v >> 8) & 0xFF) * 100} usec");
                o.WriteLine($"\tAggregation Threshold (THR): {(v & 0xFF) + 1}");
                break;
            case 0x09:
                o.WriteLine($"\tCoalescing Disable (CD): {((v >> 16) & 1) != 0}");
                o.WriteLine($"\tInterrupt Vector   (IV): {v & 0xFFFF}");
                break;
            case 0x0A:
                o.WriteLine($"\tDisable Normal (DN): {(v & 1) != 0}");
                break;
            case 0x0B:
                o.WriteLine($"\tDiscovery Log Page Change Notices                     : {(((v >> 31) & 1) != 0 ? "Send async event" : "Do not send async event")}");
                o.WriteLine($"\tEndurance Group Event Aggregate Log Change Notices    : {(((v >> 14) & 1) != 0 ? "Send async event" : "Do not send async event")}");
                o.WriteLine($"\tLBA Status Information Notices                        : {(((v >> 13) & 1) != 0 ? "Send async event" : "Do not send async event")}");
                o.WriteLine($"\tPredictable Latency Event Aggregate Log Change Notices: {(((v >> 12) & 1) != 0 ? "Send async event" : "Do not send async event")}");
                o.WriteLine($"\tAsymmetric Namespace Access Change Notices            : {(((v >> 11) & 1) != 0 ? "Send async event" : "Do not send async event")}");
                o.WriteLine($"\tTelemetry Log Notices                                 : {(((v >> 10) & 1) != 0 ? "Send async event" : "Do not send async event")}");
                o.WriteLine($"\tFirmware Activation Notices                           : {(((v >> 9) & 1) != 0 ? "Send async event" : "Do not send async event")}");
                o.WriteLine($"\tNamespace Attribute Notices                           : {(((v >> 8) & 1) != 0 ? "Send async event" : "Do not send async event")}");
                o.WriteLine($"\tSMART / Health Critical Warnings                      : {(((v & 0xFF) != 0) ? $"Send async event (0x{v & 0xFF:x2})" : "Do not send async event")}");
                break;
            case 0x0C:
                o.WriteLine($"\tAutonomous Power State Transition Enable (APSTE): {OnOff(v & 1)}");
                break;
            case 0x0F:
                o.WriteLine($"\tKeep Alive Timeout (KATO) in milliseconds: {v}");
                break;
            case 0x16 when data.Length >= 3:
                o.WriteLine($"\tAdvanced Command Retry Enable (ACRE): {OnOff(data[0] & 1u)}");
                o.WriteLine($"\tExtended Telemetry Data Area 4 Supported (ETDAS): {OnOff(data[1] & 1u)}");
                o.WriteLine($"\tLBA Format Extension Enable (LBAFEE): {OnOff(data[2] & 1u)}");
                break;
            default:
                if (data.Length > 0)
                    CliText.HexDump(o, data);
                break;
        }
    }
}
