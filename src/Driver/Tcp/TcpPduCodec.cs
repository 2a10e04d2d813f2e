using System.Buffers.Binary;
using System.Runtime.InteropServices;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Tcp;

/// <summary>
/// Builds the PDUs the host sends and checks the headers it receives (NVMe/TCP Transport
/// Specification 1.0 §3.3, §3.6): one place for every length rule, the digests (CRC-32C over
/// the header, and over the data, stored little-endian after each; §3.3.2.1) and the data
/// alignment. Pure functions over spans: the queue pair keeps the buffers and the state.
/// </summary>
internal static class TcpPduCodec
{
    /// <summary>A header or data digest: 4 bytes.</summary>
    public const int DigestLength = 4;

    /// <summary>The largest header a controller sends: ICResp (128 bytes), or a C2HTermReq with its error data (152).</summary>
    public const int MaxReceivedHeader = TermReqPdu.Size + TermReqPdu.MaxErrorData;

    /// <summary>Padding a controller may put between a C2HData header and its data (HPDA is 0 here, so none; a bound against garbage).</summary>
    public const int MaxDataPadding = 128;

    /// <summary>MAXH2CDATA may not be below 4 KiB (§3.6.2.3).</summary>
    public const int MinMaxH2CData = 4096;

    /// <summary>The digest of <paramref name="bytes"/>: CRC-32C, as in iSCSI.</summary>
    public static uint Digest(ReadOnlySpan<byte> bytes) => Crc32C.Compute(bytes);

    /// <summary>Writes the header digest of the first <paramref name="headerLength"/> bytes right after them.</summary>
    public static void WriteHeaderDigest(Span<byte> pdu, int headerLength)
        => BinaryPrimitives.WriteUInt32LittleEndian(pdu.Slice(headerLength, DigestLength), Digest(pdu[..headerLength]));

    /// <summary>Reads the digest stored at <paramref name="offset"/>.</summary>
    public static uint ReadDigest(ReadOnlySpan<byte> bytes, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(bytes.Slice(offset, DigestLength));

    /// <summary>The alignment in bytes that a CPDA/HPDA value asks for: (value + 1) dwords.</summary>
    public static int Alignment(int pda) => (pda + 1) * 4;

    /// <summary>
    /// PDO of a PDU with data whose header (and header digest) takes <paramref name="headerBytes"/>:
    /// the next multiple of the controller's alignment (CPDA), so the data starts aligned.
    /// </summary>
    public static int DataOffset(int headerBytes, int cpda)
    {
        int alignment = Alignment(cpda);
        return (headerBytes + alignment - 1) / alignment * alignment;
    }

    /// <summary>Writes an ICReq (§3.6.2.2): PFV 0, HPDA 0, the digests wanted, MAXR2T 0 (one R2T at a time per command).</summary>
    public static void WriteICReq(Span<byte> pdu, bool headerDigest, bool dataDigest)
    {
        pdu[..ICReqPdu.Size].Clear();
        ref ICReqPdu r = ref MemoryMarshal.AsRef<ICReqPdu>(pdu);
        r.Header = Common(TcpPduType.ICReq, TcpPduFlags.None, ICReqPdu.Size, 0, ICReqPdu.Size);
        r.Pfv = 0;
        r.Hpda = 0;
        r.Digest = (byte)((headerDigest ? 1 : 0) | (dataDigest ? 2 : 0));
        r.MaxR2T = 0;
    }

    /// <summary>
    /// Checks an ICResp against what the host asked for; returns null when it is valid, else
    /// what is wrong. A controller that does not enable a digest the host asked for is refused
    /// (the host would otherwise believe data is protected when it is not).
    /// </summary>
    public static string? CheckICResp(in ICRespPdu r, bool headerDigest, bool dataDigest)
    {
        if (r.Header.Type != TcpPduType.ICResp)
            return $"expected an ICResp (PDU type 01h), got PDU type {(byte)r.Header.Type:X2}h";
        if (r.Header.HeaderLength != ICRespPdu.Size || r.Header.PduLength != ICRespPdu.Size)
            return $"ICResp with HLEN {r.Header.HeaderLength} and PLEN {r.Header.PduLength} (both must be {ICRespPdu.Size})";
        if (r.Pfv != 0)
            return $"PDU format version {r.Pfv} (this host speaks version 0, NVMe/TCP 1.0)";
        if (r.Cpda > 31)
            return $"CPDA {r.Cpda} (at most 31)";
        if (r.MaxH2CData < MinMaxH2CData || r.MaxH2CData % 4 != 0)
            return $"MAXH2CDATA {r.MaxH2CData} (at least {MinMaxH2CData} and a multiple of 4)";
        bool hd = (r.Digest & 1) != 0, dd = (r.Digest & 2) != 0;
        if (hd != headerDigest || dd != dataDigest)
            return $"digests enabled by the controller (header {OnOff(hd)}, data {OnOff(dd)}) differ from those asked for (header {OnOff(headerDigest)}, data {OnOff(dataDigest)})";
        return null;
    }

    /// <summary>
    /// Writes a CapsuleCmd header (common header, SQE, header digest, zero padding up to
    /// the data offset PDO) for a command with <paramref name="inCapsuleBytes"/> of
    /// in-capsule data; returns the bytes of header, digest and padding written.
    /// </summary>
    public static int WriteCapsuleCommand(Span<byte> pdu, in SubmissionEntry command, int inCapsuleBytes, bool headerDigest, bool dataDigest, int cpda)
    {
        int headerBytes = CapsuleCommandPdu.Size + (headerDigest ? DigestLength : 0);
        int pdo = inCapsuleBytes > 0 ? DataOffset(headerBytes, cpda) : 0;
        int plen = inCapsuleBytes > 0 ? pdo + inCapsuleBytes + (dataDigest ? DigestLength : 0) : headerBytes;
        TcpPduFlags flags = (headerDigest ? TcpPduFlags.HeaderDigest : 0) | (dataDigest && inCapsuleBytes > 0 ? TcpPduFlags.DataDigest : 0);
        ref CapsuleCommandPdu c = ref MemoryMarshal.AsRef<CapsuleCommandPdu>(pdu);
        c.Header = Common(TcpPduType.CapsuleCommand, flags, CapsuleCommandPdu.Size, (byte)pdo, (uint)plen);
        c.Command = command;
        if (headerDigest)
            WriteHeaderDigest(pdu, CapsuleCommandPdu.Size);
        int written = Math.Max(headerBytes, pdo);
        pdu[headerBytes..written].Clear();
        return written;
    }

    /// <summary>Writes an H2CData header (with digest and padding) for <paramref name="length"/> bytes at <paramref name="offset"/>; returns the bytes before the data.</summary>
    public static int WriteH2CData(Span<byte> pdu, ushort commandId, ushort transferTag, uint offset, int length, bool last, bool headerDigest, bool dataDigest, int cpda)
    {
        int headerBytes = DataPdu.Size + (headerDigest ? DigestLength : 0);
        int pdo = DataOffset(headerBytes, cpda);
        TcpPduFlags flags = (headerDigest ? TcpPduFlags.HeaderDigest : 0) | (dataDigest ? TcpPduFlags.DataDigest : 0) | (last ? TcpPduFlags.LastPdu : 0);
        ref DataPdu d = ref MemoryMarshal.AsRef<DataPdu>(pdu);
        d.Header = Common(TcpPduType.H2CData, flags, DataPdu.Size, (byte)pdo, (uint)(pdo + length + (dataDigest ? DigestLength : 0)));
        d.CommandId = commandId;
        d.TransferTag = transferTag;
        d.DataOffset = offset;
        d.DataLength = (uint)length;
        pdu.Slice(20, 4).Clear();
        if (headerDigest)
            WriteHeaderDigest(pdu, DataPdu.Size);
        pdu[headerBytes..pdo].Clear();
        return pdo;
    }

    /// <summary>Writes an H2CTermReq with up to 128 bytes of the offending PDU header; returns its length.</summary>
    public static int WriteH2CTermReq(Span<byte> pdu, TcpFatalErrorStatus fes, uint fei, ReadOnlySpan<byte> offendingHeader)
    {
        int data = Math.Min(offendingHeader.Length, TermReqPdu.MaxErrorData);
        int plen = TermReqPdu.Size + data;
        pdu[..TermReqPdu.Size].Clear();
        ref TermReqPdu t = ref MemoryMarshal.AsRef<TermReqPdu>(pdu);
        t.Header = Common(TcpPduType.H2CTermReq, TcpPduFlags.None, TermReqPdu.Size, 0, (uint)plen);
        t.Fes = fes;
        t.Fei = fei;
        offendingHeader[..data].CopyTo(pdu[TermReqPdu.Size..]);
        return plen;
    }

    /// <summary>
    /// Checks the common header of a PDU from the controller on a live connection and says how
    /// many bytes its header takes (with the header digest; a whole C2HTermReq). Returns null
    /// when valid, else what is wrong, with the FES and FEI (the field's offset) for the H2CTermReq.
    /// </summary>
    public static string? CheckReceivedHeader(in TcpCommonHeader ch, bool headerDigest, bool dataDigest, out int headerBytes, out TcpFatalErrorStatus fes, out uint fei)
    {
        fes = TcpFatalErrorStatus.InvalidHeaderField;
        headerBytes = 0;
        int hd = headerDigest ? DigestLength : 0;
        switch (ch.Type)
        {
            case TcpPduType.CapsuleResponse:
            case TcpPduType.R2T:
            case TcpPduType.C2HData:
                fei = 2;
                if (ch.HeaderLength != 24)
                    return $"{Name(ch.Type)} with HLEN {ch.HeaderLength} (must be 24)";
                headerBytes = 24 + hd;
                fei = 1;
                if (((ch.Flags & TcpPduFlags.HeaderDigest) != 0) != headerDigest)
                    return $"{Name(ch.Type)} with HDGSTF {((ch.Flags & TcpPduFlags.HeaderDigest) != 0 ? 1 : 0)} on a connection with header digest {OnOff(headerDigest)}";
                if (ch.Type != TcpPduType.C2HData)
                {
                    fei = 4;
                    if ((ch.Flags & TcpPduFlags.DataDigest) != 0 || ch.DataOffset != 0 || ch.PduLength != headerBytes)
                        return $"{Name(ch.Type)} with DDGSTF {((ch.Flags & TcpPduFlags.DataDigest) != 0 ? 1 : 0)}, PDO {ch.DataOffset} and PLEN {ch.PduLength} (it carries no data: PLEN must be {headerBytes})";
                    return null;
                }
                if (((ch.Flags & TcpPduFlags.DataDigest) != 0) != dataDigest)
                    return $"C2HData with DDGSTF {((ch.Flags & TcpPduFlags.DataDigest) != 0 ? 1 : 0)} on a connection with data digest {OnOff(dataDigest)}";
                fei = 3;
                if (ch.DataOffset < headerBytes || ch.DataOffset > headerBytes + MaxDataPadding)
                    return $"C2HData with PDO {ch.DataOffset} (the header takes {headerBytes} bytes)";
                fei = 4;
                if (ch.PduLength <= (uint)(ch.DataOffset + (dataDigest ? DigestLength : 0)))
                    return $"C2HData with PLEN {ch.PduLength} and PDO {ch.DataOffset}: no data";
                return null;
            case TcpPduType.C2HTermReq:
                fei = 4;
                if (ch.HeaderLength != TermReqPdu.Size || ch.PduLength < TermReqPdu.Size || ch.PduLength > MaxReceivedHeader)
                    return $"C2HTermReq with HLEN {ch.HeaderLength} and PLEN {ch.PduLength} (HLEN 24, PLEN 24..152)";
                headerBytes = (int)ch.PduLength;
                return null;
            default:
                fei = 0;
                return $"unexpected {Name(ch.Type)} from the controller on a live connection";
        }
    }

    /// <summary>The spec name of a PDU type, e.g. <c>C2HData (07h)</c>.</summary>
    public static string Name(TcpPduType type) => Enum.IsDefined(type) ? $"{type} ({(byte)type:X2}h)" : $"PDU type {(byte)type:X2}h";

    /// <summary>The spec name of a fatal error status.</summary>
    public static string Name(TcpFatalErrorStatus fes) => fes switch
    {
        TcpFatalErrorStatus.InvalidHeaderField => "Invalid PDU Header Field",
        TcpFatalErrorStatus.PduSequenceError => "PDU Sequence Error",
        TcpFatalErrorStatus.HeaderDigestError => "Header Digest Error",
        TcpFatalErrorStatus.DataTransferOutOfRange => "Data Transfer Out of Range",
        TcpFatalErrorStatus.DataTransferLimitExceeded => "Data Transfer Limit Exceeded",
        TcpFatalErrorStatus.UnsupportedParameter => "Unsupported Parameter",
        _ => $"reserved FES {(ushort)fes:X2}h",
    };

    private static TcpCommonHeader Common(TcpPduType type, TcpPduFlags flags, byte hlen, byte pdo, uint plen)
        => new() { Type = type, Flags = flags, HeaderLength = hlen, DataOffset = pdo, PduLength = plen };

    private static string OnOff(bool on) => on ? "on" : "off";
}
