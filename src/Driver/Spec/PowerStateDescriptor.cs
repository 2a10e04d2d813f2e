using System.Runtime.InteropServices;

namespace PolledNvme.Driver.Spec;

/// <summary>
/// One Power State Descriptor of Identify Controller (NVMe Base 2.0 §5.17.2.1, Fig 276), 32
/// bytes; descriptor n sits at byte 2048 + 32n.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public struct PowerStateDescriptor
{
    /// <summary>Size of a descriptor.</summary>
    public const int Size = 32;

    /// <summary>Flags bit 0: Max Power Scale (MXPS): 1 = MP in 0.0001 W, 0 = in 0.01 W.</summary>
    public const byte FlagMaxPowerScale = 1 << 0;
    /// <summary>Flags bit 1: Non-Operational State (NOPS).</summary>
    public const byte FlagNonOperational = 1 << 1;

    /// <summary>Maximum Power, in the unit MXPS selects.</summary>
    [FieldOffset(0)] public ushort Mp;
    /// <summary>MXPS (bit 0) and NOPS (bit 1).</summary>
    [FieldOffset(3)] public byte Flags;
    /// <summary>Entry Latency, microseconds.</summary>
    [FieldOffset(4)] public uint Enlat;
    /// <summary>Exit Latency, microseconds.</summary>
    [FieldOffset(8)] public uint Exlat;
    /// <summary>Relative Read Throughput [4:0].</summary>
    [FieldOffset(12)] public byte Rrt;
    /// <summary>Relative Read Latency [4:0].</summary>
    [FieldOffset(13)] public byte Rrl;
    /// <summary>Relative Write Throughput [4:0].</summary>
    [FieldOffset(14)] public byte Rwt;
    /// <summary>Relative Write Latency [4:0].</summary>
    [FieldOffset(15)] public byte Rwl;
    /// <summary>Idle Power, in the unit IPS selects.</summary>
    [FieldOffset(16)] public ushort Idlp;
    /// <summary>Idle Power Scale in bits [7:6]: 0 not reported, 1 = 0.0001 W, 2 = 0.01 W.</summary>
    [FieldOffset(18)] public byte Ips;
    /// <summary>Active Power, in the unit APS selects.</summary>
    [FieldOffset(20)] public ushort Actp;
    /// <summary>Active Power Workload [2:0] and Active Power Scale [7:6].</summary>
    [FieldOffset(22)] public byte Apws;

    /// <summary>The idle power scale (IPS, bits [7:6] of byte 18).</summary>
    public readonly int IdlePowerScale => Ips >> 6;
    /// <summary>The active power scale (APS, bits [7:6] of byte 22).</summary>
    public readonly int ActivePowerScale => Apws >> 6;
    /// <summary>The active power workload (APW, bits [2:0] of byte 22).</summary>
    public readonly int ActivePowerWorkload => Apws & 7;
}
