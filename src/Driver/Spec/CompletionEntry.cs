using System.Runtime.InteropServices;

namespace PolledNvme.Queues;

/// <summary>
/// A 16-byte completion queue entry (NVMe Base 2.0 §4.2.1, Fig 90). The device writes it;
/// the host reads the status word (with the phase tag) first and the rest only after the
/// phase matched.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public struct CompletionEntry
{
    /// <summary>Size of an entry on the wire (IOCQES = 4).</summary>
    public const int Size = 16;

    /// <summary>DW0: command specific result.</summary>
    [FieldOffset(0)] public uint Result;

    /// <summary>DW1: command specific.</summary>
    [FieldOffset(4)] public uint Dw1;

    /// <summary>DW2[15:0]: submission queue head pointer as consumed by the controller.</summary>
    [FieldOffset(8)] public ushort SqHead;

    /// <summary>DW2[31:16]: submission queue identifier.</summary>
    [FieldOffset(10)] public ushort SqId;

    /// <summary>DW3[15:0]: command identifier.</summary>
    [FieldOffset(12)] public ushort CommandId;

    /// <summary>DW3[31:16]: phase tag (bit 0) and status field (bits 15:1: SC, SCT, CRD, M, DNR).</summary>
    [FieldOffset(14)] public ushort StatusAndPhase;

    /// <summary>The phase tag bit.</summary>
    public readonly bool Phase => (StatusAndPhase & 1) != 0;

    /// <summary>The 15-bit status field (Linux packing: SC [7:0], SCT [10:8], CRD [12:11], M [13], DNR [14]).</summary>
    public readonly ushort Status => (ushort)(StatusAndPhase >> 1);
}
