using System.Runtime.InteropServices;

namespace PolledNvme.Queues;

/// <summary>
/// A 64-byte submission queue entry (NVMe Base 2.0 §4.2, Fig 88). Field names follow the
/// spec's command dwords; command-specific meaning is given by the builders that fill them.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public struct SubmissionEntry
{
    /// <summary>Size of an entry on the wire (IOSQES = 6).</summary>
    public const int Size = 64;

    /// <summary>CDW0[7:0]: opcode.</summary>
    [FieldOffset(0)] public byte Opcode;

    /// <summary>CDW0[15:8]: FUSE [1:0], PSDT [7:6] (0 = PRPs).</summary>
    [FieldOffset(1)] public byte Flags;

    /// <summary>CDW0[31:16]: command identifier, unique per submission queue among outstanding commands.</summary>
    [FieldOffset(2)] public ushort CommandId;

    /// <summary>CDW1: namespace identifier.</summary>
    [FieldOffset(4)] public uint NamespaceId;

    /// <summary>CDW2 (command specific; upper storage/reference tag bits for PI).</summary>
    [FieldOffset(8)] public uint Cdw2;

    /// <summary>CDW3 (command specific; upper storage/reference tag bits for PI).</summary>
    [FieldOffset(12)] public uint Cdw3;

    /// <summary>CDW4-5: metadata pointer (MPTR), an IOVA.</summary>
    [FieldOffset(16)] public ulong MetadataPointer;

    /// <summary>CDW6-7: PRP entry 1, an IOVA.</summary>
    [FieldOffset(24)] public ulong Prp1;

    /// <summary>CDW8-9: PRP entry 2 or the IOVA of a PRP list.</summary>
    [FieldOffset(32)] public ulong Prp2;

    /// <summary>CDW10.</summary>
    [FieldOffset(40)] public uint Cdw10;

    /// <summary>CDW11.</summary>
    [FieldOffset(44)] public uint Cdw11;

    /// <summary>CDW12.</summary>
    [FieldOffset(48)] public uint Cdw12;

    /// <summary>CDW13.</summary>
    [FieldOffset(52)] public uint Cdw13;

    /// <summary>CDW14.</summary>
    [FieldOffset(56)] public uint Cdw14;

    /// <summary>CDW15.</summary>
    [FieldOffset(60)] public uint Cdw15;
}
