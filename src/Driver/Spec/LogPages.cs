using System.Runtime.InteropServices;

namespace PolledNvme.Driver.Spec;

/// <summary>One Error Information log entry, LID 01h (NVMe Base 2.0 §5.16.1.2, Fig 205), 64 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public struct ErrorInformationEntry
{
    /// <summary>Size of an entry.</summary>
    public const int Size = 64;

    /// <summary>Error Count: unique, incrementing; 0 = entry not valid.</summary>
    [FieldOffset(0)] public ulong ErrorCount;
    /// <summary>Submission Queue ID of the failed command.</summary>
    [FieldOffset(8)] public ushort SqId;
    /// <summary>Command ID of the failed command.</summary>
    [FieldOffset(10)] public ushort CommandId;
    /// <summary>Status field as posted (bit 0 phase tag, bits 15:1 status).</summary>
    [FieldOffset(12)] public ushort StatusAndPhase;
    /// <summary>Parameter Error Location: byte [7:0] and bit [10:8] in the command.</summary>
    [FieldOffset(14)] public ushort ParameterErrorLocation;
    /// <summary>First LBA that experienced the error.</summary>
    [FieldOffset(16)] public ulong Lba;
    /// <summary>Namespace of the error.</summary>
    [FieldOffset(24)] public uint NamespaceId;
    /// <summary>Vendor Specific Information Available.</summary>
    [FieldOffset(28)] public byte VendorSpecificLogPage;
    /// <summary>Transport Type.</summary>
    [FieldOffset(29)] public byte TransportType;
    /// <summary>Command Specific Information.</summary>
    [FieldOffset(32)] public ulong CommandSpecific;
    /// <summary>Transport Type Specific Information.</summary>
    [FieldOffset(40)] public ushort TransportTypeSpecificInfo;

    /// <summary>The status of the failed command.</summary>
    public readonly NvmeStatus Status => new((ushort)(StatusAndPhase >> 1));
}

/// <summary>
/// SMART / Health Information log, LID 02h (NVMe Base 2.0 §5.16.1.3, Fig 207), 512 bytes. The
/// 128-bit counters are split into the low half (the plain name) and <c>...High</c>.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public unsafe struct SmartHealthLog
{
    /// <summary>Size of the page.</summary>
    public const int Size = 512;

    /// <summary>Critical Warning bits.</summary>
    [FieldOffset(0)] public byte CriticalWarning;
    /// <summary>Composite Temperature in kelvin.</summary>
    [FieldOffset(1)] public ushort CompositeTemperature;
    /// <summary>Available Spare, percent.</summary>
    [FieldOffset(3)] public byte AvailableSpare;
    /// <summary>Available Spare Threshold, percent.</summary>
    [FieldOffset(4)] public byte AvailableSpareThreshold;
    /// <summary>Percentage Used.</summary>
    [FieldOffset(5)] public byte PercentageUsed;
    /// <summary>Endurance Group Critical Warning Summary.</summary>
    [FieldOffset(6)] public byte EnduranceGroupCriticalWarningSummary;
    /// <summary>Data Units Read, in thousands of 512-byte units (128-bit; low half).</summary>
    [FieldOffset(32)] public ulong DataUnitsRead;
    /// <summary>High half of DataUnitsRead.</summary>
    [FieldOffset(40)] public ulong DataUnitsReadHigh;
    /// <summary>Data Units Written, in thousands of 512-byte units (128-bit; low half).</summary>
    [FieldOffset(48)] public ulong DataUnitsWritten;
    /// <summary>High half of DataUnitsWritten.</summary>
    [FieldOffset(56)] public ulong DataUnitsWrittenHigh;
    /// <summary>Host Read Commands (128-bit; low half).</summary>
    [FieldOffset(64)] public ulong HostReadCommands;
    /// <summary>High half of HostReadCommands.</summary>
    [FieldOffset(72)] public ulong HostReadCommandsHigh;
    /// <summary>Host Write Commands (128-bit; low half).</summary>
    [FieldOffset(80)] public ulong HostWriteCommands;
    /// <summary>High half of HostWriteCommands.</summary>
    [FieldOffset(88)] public ulong HostWriteCommandsHigh;
    /// <summary>Controller Busy Time, minutes (128-bit; low half).</summary>
    [FieldOffset(96)] public ulong ControllerBusyTime;
    /// <summary>High half of ControllerBusyTime.</summary>
    [FieldOffset(104)] public ulong ControllerBusyTimeHigh;
    /// <summary>Power Cycles (128-bit; low half).</summary>
    [FieldOffset(112)] public ulong PowerCycles;
    /// <summary>High half of PowerCycles.</summary>
    [FieldOffset(120)] public ulong PowerCyclesHigh;
    /// <summary>Power On Hours (128-bit; low half).</summary>
    [FieldOffset(128)] public ulong PowerOnHours;
    /// <summary>High half of PowerOnHours.</summary>
    [FieldOffset(136)] public ulong PowerOnHoursHigh;
    /// <summary>Unsafe Shutdowns (128-bit; low half).</summary>
    [FieldOffset(144)] public ulong UnsafeShutdowns;
    /// <summary>High half of UnsafeShutdowns.</summary>
    [FieldOffset(152)] public ulong UnsafeShutdownsHigh;
    /// <summary>Media and Data Integrity Errors (128-bit; low half).</summary>
    [FieldOffset(160)] public ulong MediaErrors;
    /// <summary>High half of MediaErrors.</summary>
    [FieldOffset(168)] public ulong MediaErrorsHigh;
    /// <summary>Number of Error Information Log Entries (128-bit; low half).</summary>
    [FieldOffset(176)] public ulong ErrorLogEntries;
    /// <summary>High half of ErrorLogEntries.</summary>
    [FieldOffset(184)] public ulong ErrorLogEntriesHigh;
    /// <summary>Warning Composite Temperature Time, minutes.</summary>
    [FieldOffset(192)] public uint WarningTemperatureTime;
    /// <summary>Critical Composite Temperature Time, minutes.</summary>
    [FieldOffset(196)] public uint CriticalCompositeTemperatureTime;
    /// <summary>Temperature Sensors 1..8 in kelvin (0 = not implemented).</summary>
    [FieldOffset(200)] internal fixed ushort TemperatureSensor[8];
    /// <summary>Thermal Management Temperature 1 Transition Count.</summary>
    [FieldOffset(216)] public uint ThermalTemperature1TransitionCount;
    /// <summary>Thermal Management Temperature 2 Transition Count.</summary>
    [FieldOffset(220)] public uint ThermalTemperature2TransitionCount;
    /// <summary>Total Time For Thermal Management Temperature 1, seconds.</summary>
    [FieldOffset(224)] public uint ThermalTemperature1TotalTime;
    /// <summary>Total Time For Thermal Management Temperature 2, seconds.</summary>
    [FieldOffset(228)] public uint ThermalTemperature2TotalTime;

    /// <summary>Temperature sensor <paramref name="index"/> (0..7) in kelvin.</summary>
    public readonly ushort GetTemperatureSensor(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, 8);
        fixed (ushort* p = TemperatureSensor) return p[index];
    }
}
