using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Driver.Tcp;

/// <summary>The scripted target's wire side: ICReq/ICResp, reading PDUs, writing responses, data and R2Ts.</summary>
internal sealed partial class ScriptedTcpTarget
{
    private sealed class Connection(Socket socket)
    {
        public Socket Socket { get; } = socket;
        public bool HeaderDigest;
        public bool DataDigest;
        public ushort Qid;
        public bool Connected;
        public bool SqFlowDisabled;
        public bool Draining;
        public ControllerState? Controller;
        public readonly Dictionary<ushort, PendingWrite> Writes = new();
    }

    private sealed class PendingWrite
    {
        public ulong Slba;
        public byte[] Data = [];
        public int Received;
        public int Requested;
    }

    private void Serve(Socket socket)
    {
        var c = new Connection(socket);
        try
        {
            byte[] ic = new byte[128];
            if (!ReadExact(socket, ic) || ic[0] != 0x00 || BinaryPrimitives.ReadUInt32LittleEndian(ic.AsSpan(4)) != 128)
                return;
            c.HeaderDigest = !RefuseDigests && (ic[11] & 1) != 0;
            c.DataDigest = !RefuseDigests && (ic[11] & 2) != 0;
            byte[] resp = new byte[128];
            resp[0] = 0x01;
            resp[2] = 128;
            BinaryPrimitives.WriteUInt32LittleEndian(resp.AsSpan(4), 128);
            BinaryPrimitives.WriteUInt16LittleEndian(resp.AsSpan(8), IcRespPfv);
            resp[10] = Cpda;
            resp[11] = (byte)((c.HeaderDigest ? 1 : 0) | (c.DataDigest ? 2 : 0));
            BinaryPrimitives.WriteUInt32LittleEndian(resp.AsSpan(12), MaxH2CData);
            socket.Send(resp);
            try
            {
                while (ReadPdu(c))
                {
                }
            }
            catch (SocketException)
            {
                // An answer failed because the host ended the connection (its close after an
                // H2CTermReq resets it while our answers are unread): what the host sent before,
                // the H2CTermReq among it, is still queued here. Read it; answer nothing more.
                c.Draining = true;
                while (ReadPdu(c))
                {
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
        }
        finally
        {
            socket.Close();
            lock (_lock)
                _sockets.Remove(socket);
        }
    }

    /// <summary>Reads and handles one PDU; false when the connection ends.</summary>
    private bool ReadPdu(Connection c)
    {
        byte[] ch = new byte[8];
        if (!ReadExact(c.Socket, ch))
            return false;
        byte type = ch[0], hlen = ch[2], pdo = ch[3];
        uint plen = BinaryPrimitives.ReadUInt32LittleEndian(ch.AsSpan(4));
        int hd = c.HeaderDigest && type != 0x02 ? 4 : 0;
        int dd = c.DataDigest ? 4 : 0;
        byte[] header = new byte[hlen + hd];
        ch.CopyTo(header, 0);
        if (type == 0x02)
        {
            byte[] rest = new byte[plen - 8];
            if (!ReadExact(c.Socket, rest))
                return false;
            TermReqs.Enqueue((rest[0], BinaryPrimitives.ReadUInt32LittleEndian(rest.AsSpan(2))));
            return false;
        }
        if (!ReadExact(c.Socket, header.AsSpan(8)))
            return false;
        if (hd != 0 && BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(hlen)) != Crc32C.Compute(header.AsSpan(0, hlen)))
            throw new IOException("header digest mismatch from the host");
        byte[] data = [];
        if (plen > (uint)(hlen + hd))
        {
            if (!ReadExact(c.Socket, new byte[pdo - hlen - hd]))
                return false;
            data = new byte[plen - pdo - dd];
            if (!ReadExact(c.Socket, data))
                return false;
            if (dd != 0)
            {
                byte[] digest = new byte[4];
                if (!ReadExact(c.Socket, digest))
                    return false;
                if (BinaryPrimitives.ReadUInt32LittleEndian(digest) != Crc32C.Compute(data))
                    throw new IOException("data digest mismatch from the host");
            }
        }
        if (c.Draining)
            return true;
        switch (type)
        {
            case 0x04:
                Interlocked.Increment(ref _commands);
                return HandleCommand(c, header.AsSpan(8, 64).ToArray(), data);
            case 0x06:
                Interlocked.Increment(ref _h2cDataPdus);
                return HandleH2CData(c, header, data);
            default:
                return false;
        }
    }

    private static bool ReadExact(Socket socket, Span<byte> buffer)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = socket.Receive(buffer[done..]);
            if (n == 0)
                return false;
            done += n;
        }
        return true;
    }

    private static byte[] Pdu(byte type, byte flags, int hlen, int hd, int pdo, int plen)
    {
        byte[] pdu = new byte[hlen + hd];
        pdu[0] = type;
        pdu[1] = flags;
        pdu[2] = (byte)hlen;
        pdu[3] = (byte)pdo;
        BinaryPrimitives.WriteUInt32LittleEndian(pdu.AsSpan(4), (uint)plen);
        return pdu;
    }

    private static void SealHeader(byte[] pdu, int hlen, bool digest, bool corrupt = false)
    {
        if (!digest)
            return;
        uint crc = Crc32C.Compute(pdu.AsSpan(0, hlen));
        BinaryPrimitives.WriteUInt32LittleEndian(pdu.AsSpan(hlen), corrupt ? crc ^ 1 : crc);
    }

    private void Respond(Connection c, ushort cid, ushort status, uint dw0 = 0, uint dw1 = 0, bool corruptDigest = false)
    {
        int hd = c.HeaderDigest ? 4 : 0;
        byte[] pdu = Pdu(0x05, (byte)(hd != 0 ? 1 : 0), 24, hd, 0, 24 + hd);
        BinaryPrimitives.WriteUInt32LittleEndian(pdu.AsSpan(8), dw0);
        BinaryPrimitives.WriteUInt32LittleEndian(pdu.AsSpan(12), dw1);
        BinaryPrimitives.WriteUInt16LittleEndian(pdu.AsSpan(16), c.SqFlowDisabled ? (ushort)0xFFFF : (ushort)0);
        BinaryPrimitives.WriteUInt16LittleEndian(pdu.AsSpan(18), c.Qid);
        BinaryPrimitives.WriteUInt16LittleEndian(pdu.AsSpan(20), cid);
        BinaryPrimitives.WriteUInt16LittleEndian(pdu.AsSpan(22), (ushort)(status << 1));
        SealHeader(pdu, 24, hd != 0, corruptDigest);
        c.Socket.Send(pdu);
        Interlocked.Increment(ref _responses);
    }

    private void SendData(Connection c, ushort cid, ReadOnlySpan<byte> data, uint offset, bool last, bool success, bool corruptDigest = false, int claimedLength = -1)
    {
        int hd = c.HeaderDigest ? 4 : 0, dd = c.DataDigest ? 4 : 0;
        int pdo = 24 + hd;
        byte flags = (byte)((hd != 0 ? 1 : 0) | (dd != 0 ? 2 : 0) | (last ? 4 : 0) | (success ? 8 : 0));
        byte[] pdu = Pdu(0x07, flags, 24, hd, pdo, pdo + data.Length + dd);
        BinaryPrimitives.WriteUInt16LittleEndian(pdu.AsSpan(8), cid);
        BinaryPrimitives.WriteUInt32LittleEndian(pdu.AsSpan(12), offset);
        BinaryPrimitives.WriteUInt32LittleEndian(pdu.AsSpan(16), (uint)(claimedLength < 0 ? data.Length : claimedLength));
        SealHeader(pdu, 24, hd != 0);
        byte[] whole = new byte[pdu.Length + data.Length + dd];
        pdu.CopyTo(whole, 0);
        data.CopyTo(whole.AsSpan(pdu.Length));
        if (dd != 0)
        {
            uint crc = Crc32C.Compute(data);
            BinaryPrimitives.WriteUInt32LittleEndian(whole.AsSpan(pdu.Length + data.Length), corruptDigest ? crc ^ 0x80 : crc);
        }
        c.Socket.Send(whole);
    }

    private void SendR2T(Connection c, ushort cid, ushort tag, int offset, int length)
    {
        int hd = c.HeaderDigest ? 4 : 0;
        byte[] pdu = Pdu(0x09, (byte)(hd != 0 ? 1 : 0), 24, hd, 0, 24 + hd);
        BinaryPrimitives.WriteUInt16LittleEndian(pdu.AsSpan(8), cid);
        BinaryPrimitives.WriteUInt16LittleEndian(pdu.AsSpan(10), tag);
        BinaryPrimitives.WriteUInt32LittleEndian(pdu.AsSpan(12), (uint)offset);
        BinaryPrimitives.WriteUInt32LittleEndian(pdu.AsSpan(16), (uint)length);
        SealHeader(pdu, 24, hd != 0);
        c.Socket.Send(pdu);
    }

    private static void SendTermReq(Connection c, byte fes, byte[] offending)
    {
        int data = Math.Min(offending.Length, 128);
        byte[] pdu = Pdu(0x03, 0, 24, 0, 0, 24 + data);
        BinaryPrimitives.WriteUInt16LittleEndian(pdu.AsSpan(8), fes);
        byte[] whole = new byte[24 + data];
        pdu.CopyTo(whole, 0);
        offending.AsSpan(0, data).CopyTo(whole.AsSpan(24));
        c.Socket.Send(whole);
    }

    private static string Text(ReadOnlySpan<byte> field)
    {
        int nul = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? field : field[..nul]);
    }
}
