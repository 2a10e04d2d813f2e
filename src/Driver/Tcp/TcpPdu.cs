using System.Runtime.InteropServices;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Tcp;

/// <summary>PDU types (NVMe/TCP Transport Specification 1.0 §3.3, Fig 12).</summary>
internal enum TcpPduType : byte
{
    /// <summary>Initialize Connection Request (host to controller).</summary>
    ICReq = 0x00,
    /// <summary>Initialize Connection Response (controller to host).</summary>
    ICResp = 0x01,
    /// <summary>Host to Controller Terminate Connection Request.</summary>
    H2CTermReq = 0x02,
    /// <summary>Controller to Host Terminate Connection Request.</summary>
    C2HTermReq = 0x03,
    /// <summary>Command Capsule (an SQE, optionally with in-capsule data).</summary>
    CapsuleCommand = 0x04,
    /// <summary>Response Capsule (a CQE).</summary>
    CapsuleResponse = 0x05,
    /// <summary>Host to Controller Data, answering an R2T.</summary>
    H2CData = 0x06,
    /// <summary>Controller to Host Data.</summary>
    C2HData = 0x07,
    /// <summary>Ready to Transfer.</summary>
    R2T = 0x09,
}

/// <summary>Common header FLAGS (§3.3.1): digests present, and the data PDU flags.</summary>
[Flags]
internal enum TcpPduFlags : byte
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>HDGSTF: a header digest follows the PDU header.</summary>
    HeaderDigest = 0x01,
    /// <summary>DDGSTF: a data digest follows the PDU data.</summary>
    DataDigest = 0x02,
    /// <summary>LAST_PDU (H2CData/C2HData): the last data PDU of the transfer.</summary>
    LastPdu = 0x04,
    /// <summary>SUCCESS (C2HData): the command completed successfully and no CapsuleResp follows (only when SQ flow control is disabled).</summary>
    Success = 0x08,
}

/// <summary>Fatal Error Status of a termination request (§3.6.2.5, Fig 23).</summary>
public enum TcpFatalErrorStatus : ushort
{
    /// <summary>Invalid PDU Header Field (FEI: the offset of the field).</summary>
    InvalidHeaderField = 0x01,
    /// <summary>PDU Sequence Error.</summary>
    PduSequenceError = 0x02,
    /// <summary>Header Digest Error.</summary>
    HeaderDigestError = 0x03,
    /// <summary>Data Transfer Out of Range.</summary>
    DataTransferOutOfRange = 0x04,
    /// <summary>Data Transfer Limit Exceeded (also R2T Limit Exceeded).</summary>
    DataTransferLimitExceeded = 0x05,
    /// <summary>Unsupported Parameter (FEI: the offset of the parameter).</summary>
    UnsupportedParameter = 0x06,
}

/// <summary>The 8-byte common header every PDU starts with (§3.3.1, Fig 13).</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct TcpCommonHeader
{
    /// <summary>Bytes on the wire.</summary>
    public const int Size = 8;

    /// <summary>PDU-Type.</summary>
    [FieldOffset(0)] public TcpPduType Type;
    /// <summary>FLAGS.</summary>
    [FieldOffset(1)] public TcpPduFlags Flags;
    /// <summary>HLEN: header length without the header digest.</summary>
    [FieldOffset(2)] public byte HeaderLength;
    /// <summary>PDO: offset of the PDU data from the start of the PDU (0 when there is none).</summary>
    [FieldOffset(3)] public byte DataOffset;
    /// <summary>PLEN: the whole PDU in bytes (header, digests, padding, data).</summary>
    [FieldOffset(4)] public uint PduLength;
}

/// <summary>ICReq (§3.6.2.2, Fig 19), 128 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct ICReqPdu
{
    /// <summary>HLEN and PLEN of an ICReq.</summary>
    public const int Size = 128;

    /// <summary>Common header.</summary>
    [FieldOffset(0)] public TcpCommonHeader Header;
    /// <summary>PDU Format Version (0 = 1.0).</summary>
    [FieldOffset(8)] public ushort Pfv;
    /// <summary>Host PDU Data Alignment: C2H data starts at a multiple of (HPDA + 1) dwords.</summary>
    [FieldOffset(10)] public byte Hpda;
    /// <summary>DGST: bit 0 header digest, bit 1 data digest wanted.</summary>
    [FieldOffset(11)] public byte Digest;
    /// <summary>MAXR2T: outstanding R2Ts per command, 0's based.</summary>
    [FieldOffset(12)] public uint MaxR2T;
}

/// <summary>ICResp (§3.6.2.3, Fig 20), 128 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct ICRespPdu
{
    /// <summary>HLEN and PLEN of an ICResp.</summary>
    public const int Size = 128;

    /// <summary>Common header.</summary>
    [FieldOffset(0)] public TcpCommonHeader Header;
    /// <summary>PDU Format Version.</summary>
    [FieldOffset(8)] public ushort Pfv;
    /// <summary>Controller PDU Data Alignment: H2C data starts at a multiple of (CPDA + 1) dwords.</summary>
    [FieldOffset(10)] public byte Cpda;
    /// <summary>DGST: the digests enabled on this connection.</summary>
    [FieldOffset(11)] public byte Digest;
    /// <summary>MAXH2CDATA: most data bytes in one H2CData PDU.</summary>
    [FieldOffset(12)] public uint MaxH2CData;
}

/// <summary>H2CTermReq / C2HTermReq header (§3.6.2.4-5, Figs 21-22): 24 bytes, then up to 128 bytes of the offending PDU header.</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct TermReqPdu
{
    /// <summary>HLEN of a termination request.</summary>
    public const int Size = 24;

    /// <summary>Most error data bytes (PLEN is at most 152).</summary>
    public const int MaxErrorData = 128;

    /// <summary>Common header.</summary>
    [FieldOffset(0)] public TcpCommonHeader Header;
    /// <summary>Fatal Error Status.</summary>
    [FieldOffset(8)] public TcpFatalErrorStatus Fes;
    /// <summary>Fatal Error Information (e.g. the offset of the invalid field).</summary>
    [FieldOffset(10)] public uint Fei;
}

/// <summary>CapsuleCmd (§3.6.2.6, Fig 24): the common header and the 64-byte SQE (72 bytes), then optional in-capsule data.</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct CapsuleCommandPdu
{
    /// <summary>HLEN of a command capsule.</summary>
    public const int Size = 72;

    /// <summary>Common header.</summary>
    [FieldOffset(0)] public TcpCommonHeader Header;
    /// <summary>The submission queue entry.</summary>
    [FieldOffset(8)] public SubmissionEntry Command;
}

/// <summary>CapsuleResp (§3.6.2.7, Fig 25): the common header and the 16-byte CQE.</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct CapsuleResponsePdu
{
    /// <summary>HLEN of a response capsule.</summary>
    public const int Size = 24;

    /// <summary>Common header.</summary>
    [FieldOffset(0)] public TcpCommonHeader Header;
    /// <summary>The completion queue entry.</summary>
    [FieldOffset(8)] public CompletionEntry Completion;
}

/// <summary>H2CData / C2HData header (§3.6.2.8-9, Figs 26-27); C2HData leaves TTAG reserved.</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct DataPdu
{
    /// <summary>HLEN of a data PDU.</summary>
    public const int Size = 24;

    /// <summary>Common header.</summary>
    [FieldOffset(0)] public TcpCommonHeader Header;
    /// <summary>CCCID: the command identifier the data belongs to.</summary>
    [FieldOffset(8)] public ushort CommandId;
    /// <summary>TTAG: the R2T's transfer tag (H2CData only).</summary>
    [FieldOffset(10)] public ushort TransferTag;
    /// <summary>DATAO: offset of this PDU's data in the command's data.</summary>
    [FieldOffset(12)] public uint DataOffset;
    /// <summary>DATAL: data bytes in this PDU.</summary>
    [FieldOffset(16)] public uint DataLength;
}

/// <summary>R2T (§3.6.2.10, Fig 28).</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct R2TPdu
{
    /// <summary>HLEN of an R2T.</summary>
    public const int Size = 24;

    /// <summary>Common header.</summary>
    [FieldOffset(0)] public TcpCommonHeader Header;
    /// <summary>CCCID: the command the controller wants data for.</summary>
    [FieldOffset(8)] public ushort CommandId;
    /// <summary>TTAG: echoed in the H2CData PDUs that answer.</summary>
    [FieldOffset(10)] public ushort TransferTag;
    /// <summary>R2TO: offset of the wanted data in the command's data.</summary>
    [FieldOffset(12)] public uint Offset;
    /// <summary>R2TL: bytes wanted.</summary>
    [FieldOffset(16)] public uint Length;
}
