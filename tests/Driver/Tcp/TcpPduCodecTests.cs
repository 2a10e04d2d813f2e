using System.Buffers.Binary;
using System.Runtime.InteropServices;
using NUnit.Framework;
using PolledNvme.Driver.Tcp;
using PolledNvme.Queues;
using PolledNvme.Tests.Protection;

namespace PolledNvme.Tests.Driver.Tcp;

/// <summary>The NVMe/TCP PDU codec: layouts, every PDU the host builds, digests against a bit-serial CRC-32C, and the header checks at their boundaries.</summary>
public class TcpPduCodecTests
{
    private static readonly BitSerialCrc Crc32C = new(new CrcReferenceParameters(32, 0x1EDC6F41, 0xFFFFFFFF, true, 0xFFFFFFFF));

    [Test]
    public void WireStructsHaveTheSpecSizesAndOffsets()
    {
        Assert.That(Marshal.SizeOf<TcpCommonHeader>(), Is.EqualTo(8));
        Assert.That(Marshal.SizeOf<ICReqPdu>(), Is.EqualTo(128));
        Assert.That(Marshal.SizeOf<ICRespPdu>(), Is.EqualTo(128));
        Assert.That(Marshal.SizeOf<TermReqPdu>(), Is.EqualTo(24));
        Assert.That(Marshal.SizeOf<CapsuleCommandPdu>(), Is.EqualTo(72));
        Assert.That(Marshal.SizeOf<CapsuleResponsePdu>(), Is.EqualTo(24));
        Assert.That(Marshal.SizeOf<DataPdu>(), Is.EqualTo(24));
        Assert.That(Marshal.SizeOf<R2TPdu>(), Is.EqualTo(24));
        Assert.That(Marshal.OffsetOf<TcpCommonHeader>(nameof(TcpCommonHeader.PduLength)), Is.EqualTo((nint)4));
        Assert.That(Marshal.OffsetOf<ICReqPdu>(nameof(ICReqPdu.MaxR2T)), Is.EqualTo((nint)12));
        Assert.That(Marshal.OffsetOf<ICRespPdu>(nameof(ICRespPdu.MaxH2CData)), Is.EqualTo((nint)12));
        Assert.That(Marshal.OffsetOf<TermReqPdu>(nameof(TermReqPdu.Fei)), Is.EqualTo((nint)10));
        Assert.That(Marshal.OffsetOf<DataPdu>(nameof(DataPdu.DataLength)), Is.EqualTo((nint)16));
        Assert.That(Marshal.OffsetOf<R2TPdu>(nameof(R2TPdu.Length)), Is.EqualTo((nint)16));
    }

    [Test]
    public void TheDigestIsCrc32C()
    {
        Assert.That(TcpPduCodec.Digest("123456789"u8), Is.EqualTo(0xE3069283));
        byte[] header = new byte[28];
        new Random(5).NextBytes(header.AsSpan(0, 24));
        TcpPduCodec.WriteHeaderDigest(header, 24);
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(24)), Is.EqualTo((uint)Crc32C.Compute(header.AsSpan(0, 24))), "stored little-endian right after the header");
        Assert.That(TcpPduCodec.ReadDigest(header, 24), Is.EqualTo((uint)Crc32C.Compute(header.AsSpan(0, 24))));
    }

    [TestCase(false, false, 0)]
    [TestCase(true, false, 1)]
    [TestCase(false, true, 2)]
    [TestCase(true, true, 3)]
    public void ICReqAsksForPfv0Hpda0OneR2TAndTheDigests(bool hd, bool dd, int dgst)
    {
        byte[] pdu = Enumerable.Repeat((byte)0xEE, 128).ToArray();
        TcpPduCodec.WriteICReq(pdu, hd, dd);
        byte[] expected = new byte[128];
        expected[2] = 128;
        expected[4] = 128;
        expected[11] = (byte)dgst;
        Assert.That(pdu, Is.EqualTo(expected));
    }

    [Test]
    public void ICRespChecks()
    {
        ICRespPdu good = new() { Header = new TcpCommonHeader { Type = TcpPduType.ICResp, HeaderLength = 128, PduLength = 128 }, MaxH2CData = 4096, Digest = 3 };
        Assert.That(TcpPduCodec.CheckICResp(good, true, true), Is.Null);
        Assert.That(TcpPduCodec.CheckICResp(good with { Header = good.Header with { Type = TcpPduType.C2HTermReq } }, true, true), Does.Contain("expected an ICResp"));
        Assert.That(TcpPduCodec.CheckICResp(good with { Header = good.Header with { PduLength = 129 } }, true, true), Does.Contain("PLEN 129"));
        Assert.That(TcpPduCodec.CheckICResp(good with { Pfv = 1 }, true, true), Does.Contain("version 1"));
        Assert.That(TcpPduCodec.CheckICResp(good with { Cpda = 31 }, true, true), Is.Null);
        Assert.That(TcpPduCodec.CheckICResp(good with { Cpda = 32 }, true, true), Does.Contain("CPDA 32"));
        Assert.That(TcpPduCodec.CheckICResp(good with { MaxH2CData = 4092 }, true, true), Does.Contain("MAXH2CDATA 4092"));
        Assert.That(TcpPduCodec.CheckICResp(good with { MaxH2CData = 4098 }, true, true), Does.Contain("multiple of 4"));
        Assert.That(TcpPduCodec.CheckICResp(good with { Digest = 1 }, true, true), Does.Contain("data off"));
        Assert.That(TcpPduCodec.CheckICResp(good, false, true), Does.Contain("header on"), "a digest the host did not ask for is refused too");
    }

    [TestCase(false, false, 0, 0, 72, 0, 72)]
    [TestCase(true, false, 0, 0, 76, 0, 76)]
    [TestCase(false, false, 0, 512, 72, 72, 584)]
    [TestCase(true, true, 0, 512, 76, 76, 592)]
    [TestCase(false, true, 3, 512, 80, 80, 596)]
    [TestCase(true, false, 31, 4096, 128, 128, 4224)]
    public void CapsuleCommandLayout(bool hd, bool dd, int cpda, int data, int written, int pdo, int plen)
    {
        byte[] pdu = Enumerable.Repeat((byte)0xEE, 256).ToArray();
        var sqe = new SubmissionEntry { Opcode = 0x01, CommandId = 0x1234, NamespaceId = 1, Cdw10 = 0xAABBCCDD };
        Assert.That(TcpPduCodec.WriteCapsuleCommand(pdu, sqe, data, hd, dd, cpda), Is.EqualTo(written));
        Assert.That(pdu[0], Is.EqualTo(0x04));
        Assert.That(pdu[1], Is.EqualTo((hd ? 1 : 0) | (dd && data > 0 ? 2 : 0)));
        Assert.That(pdu[2], Is.EqualTo(72));
        Assert.That(pdu[3], Is.EqualTo(pdo));
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(pdu.AsSpan(4)), Is.EqualTo((uint)plen));
        Assert.That(MemoryMarshal.Read<SubmissionEntry>(pdu.AsSpan(8)), Is.EqualTo(sqe));
        if (hd)
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(pdu.AsSpan(72)), Is.EqualTo((uint)Crc32C.Compute(pdu.AsSpan(0, 72))));
        Assert.That(pdu.AsSpan(72 + (hd ? 4 : 0), written - 72 - (hd ? 4 : 0)).ToArray().All(b => b == 0), "padding up to PDO is zero");
    }

    [TestCase(false, false, 0, 4096, 24)]
    [TestCase(true, true, 0, 4096, 28)]
    [TestCase(false, false, 7, 100, 32)]
    public void H2CDataLayout(bool hd, bool dd, int cpda, int length, int pdo)
    {
        byte[] pdu = Enumerable.Repeat((byte)0xEE, 128).ToArray();
        Assert.That(TcpPduCodec.WriteH2CData(pdu, 7, 0x107, 8192, length, last: true, hd, dd, cpda), Is.EqualTo(pdo));
        DataPdu d = MemoryMarshal.Read<DataPdu>(pdu);
        Assert.That(d.Header.Type, Is.EqualTo(TcpPduType.H2CData));
        Assert.That(d.Header.Flags, Is.EqualTo((hd ? TcpPduFlags.HeaderDigest : 0) | (dd ? TcpPduFlags.DataDigest : 0) | TcpPduFlags.LastPdu));
        Assert.That(d.Header.DataOffset, Is.EqualTo(pdo));
        Assert.That(d.Header.PduLength, Is.EqualTo((uint)(pdo + length + (dd ? 4 : 0))));
        Assert.That((d.CommandId, d.TransferTag, d.DataOffset, d.DataLength), Is.EqualTo(((ushort)7, (ushort)0x107, 8192u, (uint)length)));
        Assert.That(pdu.AsSpan(20, 4).ToArray(), Is.All.EqualTo(0));
        TcpPduCodec.WriteH2CData(pdu, 7, 0x107, 0, length, last: false, hd, dd, cpda);
        Assert.That(MemoryMarshal.Read<DataPdu>(pdu).Header.Flags & TcpPduFlags.LastPdu, Is.EqualTo(TcpPduFlags.None));
    }

    [TestCase(0, 24)]
    [TestCase(72, 96)]
    [TestCase(128, 152)]
    [TestCase(200, 152)]
    public void H2CTermReqCarriesAtMost128BytesOfTheOffendingHeader(int offending, int plen)
    {
        byte[] pdu = new byte[160];
        byte[] header = Enumerable.Range(0, offending).Select(i => (byte)i).ToArray();
        Assert.That(TcpPduCodec.WriteH2CTermReq(pdu, TcpFatalErrorStatus.DataTransferOutOfRange, 12, header), Is.EqualTo(plen));
        TermReqPdu t = MemoryMarshal.Read<TermReqPdu>(pdu);
        Assert.That((t.Header.Type, t.Header.HeaderLength, t.Header.PduLength), Is.EqualTo((TcpPduType.H2CTermReq, (byte)24, (uint)plen)));
        Assert.That((t.Fes, t.Fei), Is.EqualTo((TcpFatalErrorStatus.DataTransferOutOfRange, 12u)));
        Assert.That(pdu.AsSpan(24, plen - 24).ToArray(), Is.EqualTo(header.Take(plen - 24).ToArray()));
    }

    private static TcpCommonHeader H(TcpPduType type, TcpPduFlags flags, int hlen, int pdo, uint plen) => new() { Type = type, Flags = flags, HeaderLength = (byte)hlen, DataOffset = (byte)pdo, PduLength = plen };

    [TestCase(0x05)]
    [TestCase(0x09)]
    public void HeadersWithoutData(byte code)
    {
        var type = (TcpPduType)code;
        Assert.That(Check(H(type, 0, 24, 0, 24), false, false, out int bytes), Is.Null);
        Assert.That(bytes, Is.EqualTo(24));
        Assert.That(Check(H(type, TcpPduFlags.HeaderDigest, 24, 0, 28), true, false, out bytes), Is.Null);
        Assert.That(bytes, Is.EqualTo(28));
        Assert.That(Check(H(type, 0, 25, 0, 25), false, false, out _), Does.Contain("HLEN 25"));
        Assert.That(Check(H(type, 0, 24, 0, 24), true, false, out _), Does.Contain("HDGSTF 0"));
        Assert.That(Check(H(type, TcpPduFlags.HeaderDigest, 24, 0, 28), false, false, out _), Does.Contain("HDGSTF 1"));
        Assert.That(Check(H(type, TcpPduFlags.DataDigest, 24, 0, 24), false, true, out _), Does.Contain("carries no data"));
        Assert.That(Check(H(type, 0, 24, 24, 24), false, false, out _), Does.Contain("PDO 24"));
        Assert.That(Check(H(type, 0, 24, 0, 25), false, false, out _), Does.Contain("PLEN 25"));
    }

    [Test]
    public void C2HDataHeaders()
    {
        Assert.That(Check(H(TcpPduType.C2HData, TcpPduFlags.LastPdu, 24, 24, 24 + 512), false, false, out int bytes), Is.Null);
        Assert.That(bytes, Is.EqualTo(24));
        Assert.That(Check(H(TcpPduType.C2HData, TcpPduFlags.HeaderDigest | TcpPduFlags.DataDigest, 24, 28, 28 + 512 + 4), true, true, out _), Is.Null);
        Assert.That(Check(H(TcpPduType.C2HData, 0, 24, 24 + 128, 24 + 128 + 1), false, false, out _), Is.Null, "padding up to 128 bytes is accepted");
        Assert.That(Check(H(TcpPduType.C2HData, 0, 24, 24 + 129, 24 + 129 + 1), false, false, out _), Does.Contain("PDO 153"));
        Assert.That(Check(H(TcpPduType.C2HData, 0, 24, 20, 600), false, false, out _), Does.Contain("PDO 20"));
        Assert.That(Check(H(TcpPduType.C2HData, 0, 24, 24, 24), false, false, out _), Does.Contain("no data"));
        Assert.That(Check(H(TcpPduType.C2HData, TcpPduFlags.DataDigest, 24, 24, 28), false, true, out _), Does.Contain("no data"), "a digest without data");
        Assert.That(Check(H(TcpPduType.C2HData, 0, 24, 24, 600), false, true, out _), Does.Contain("DDGSTF 0"));
    }

    [TestCase(24u, null)]
    [TestCase(152u, null)]
    [TestCase(23u, "PLEN 23")]
    [TestCase(153u, "PLEN 153")]
    public void C2HTermReqHeaders(uint plen, string? problem)
    {
        string? result = Check(H(TcpPduType.C2HTermReq, 0, 24, 0, plen), true, true, out int bytes);
        if (problem is null)
        {
            Assert.That(result, Is.Null);
            Assert.That(bytes, Is.EqualTo((int)plen), "a termination request is read whole, without a header digest");
        }
        else
            Assert.That(result, Does.Contain(problem));
    }

    [TestCase(0x00)]
    [TestCase(0x01)]
    [TestCase(0x02)]
    [TestCase(0x04)]
    [TestCase(0x06)]
    [TestCase(0x08)]
    [TestCase(0x0F)]
    public void PduTypesAHostNeverReceivesOnALiveConnection(byte code)
    {
        var type = (TcpPduType)code;
        string? problem = TcpPduCodec.CheckReceivedHeader(H(type, 0, 24, 0, 24), false, false, out _, out TcpFatalErrorStatus fes, out uint fei);
        Assert.That(problem, Does.Contain("unexpected"));
        Assert.That((fes, fei), Is.EqualTo((TcpFatalErrorStatus.InvalidHeaderField, 0u)), "FEI points at the PDU-Type field");
    }

    [Test]
    public void PduNamesForMessages()
    {
        Assert.That(TcpPduCodec.Name(TcpPduType.C2HData), Is.EqualTo("C2HData (07h)"));
        Assert.That(TcpPduCodec.Name((TcpPduType)0x0F), Is.EqualTo("PDU type 0Fh"));
        Assert.That(TcpPduCodec.Name(TcpFatalErrorStatus.HeaderDigestError), Is.EqualTo("Header Digest Error"));
        Assert.That(TcpPduCodec.DataOffset(72, 0), Is.EqualTo(72));
        Assert.That(TcpPduCodec.DataOffset(76, 1), Is.EqualTo(80));
    }

    private static string? Check(TcpCommonHeader h, bool hd, bool dd, out int bytes) => TcpPduCodec.CheckReceivedHeader(h, hd, dd, out bytes, out _, out _);
}
