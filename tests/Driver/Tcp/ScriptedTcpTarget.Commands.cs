using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace PolledNvme.Tests.Driver.Tcp;

/// <summary>The scripted target's commands: Fabrics, admin, NVM I/O, and the faults it plays.</summary>
internal sealed partial class ScriptedTcpTarget
{
    private const ushort InvalidOpcode = 0x4001, InvalidField = 0x4002, SglLengthInvalid = 0x400F, LbaOutOfRange = 0x4080;
    private const ushort ConnectInvalidParameters = 0x4182, ConnectInvalidHost = 0x4184;

    private bool HandleCommand(Connection c, byte[] sqe, byte[] data)
    {
        byte opcode = sqe[0];
        ushort cid = BinaryPrimitives.ReadUInt16LittleEndian(sqe.AsSpan(2));
        if ((sqe[1] & 0xC0) != 0x40)
        {
            Respond(c, cid, InvalidField);   // fabrics: PSDT must be 01b (as Linux nvmet checks)
            return true;
        }
        if (opcode == 0x7F)
            return Fabrics(c, sqe, data, cid);
        if (!c.Connected)
        {
            Respond(c, cid, InvalidOpcode);
            return true;
        }
        return c.Qid == 0 ? Admin(c, sqe, data, cid) : Io(c, sqe, data, cid);
    }

    private bool Fabrics(Connection c, byte[] sqe, byte[] data, ushort cid)
    {
        byte fctype = sqe[4];
        if (fctype == 0x01)
        {
            ushort qid = BinaryPrimitives.ReadUInt16LittleEndian(sqe.AsSpan(42));
            ushort sqsize = BinaryPrimitives.ReadUInt16LittleEndian(sqe.AsSpan(44));
            byte cattr = sqe[46];
            uint kato = BinaryPrimitives.ReadUInt32LittleEndian(sqe.AsSpan(48));
            if (data.Length != 1024 || sqe[39] != 0x01)
            {
                Respond(c, cid, InvalidField);
                return true;
            }
            var record = new ConnectRecord(qid, sqsize, cattr, kato, BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(16)),
                new Guid(data.AsSpan(0, 16), bigEndian: true), Text(data.AsSpan(256, 256)), Text(data.AsSpan(512, 256)));
            Connects.Enqueue(record);
            if (record.SubsystemNqn != Nqn && record.SubsystemNqn != DiscoveryNqn)
            {
                Respond(c, cid, ConnectInvalidParameters, (1u << 16) | 256);
                return true;
            }
            if (AllowedHostNqn is not null && record.HostNqn != AllowedHostNqn)
            {
                Respond(c, cid, ConnectInvalidHost, (1u << 16) | 512);
                return true;
            }
            ControllerState? ctrl;
            lock (_lock)
            {
                if (qid == 0)
                {
                    ctrl = record.ControllerId == 0xFFFF ? new ControllerState { Id = _nextControllerId++, Discovery = record.SubsystemNqn == DiscoveryNqn } : null;
                    if (ctrl is not null)
                        _controllers[ctrl.Id] = ctrl;
                }
                else
                    _controllers.TryGetValue(record.ControllerId, out ctrl);
            }
            if (ctrl is null || sqsize == 0)
            {
                Respond(c, cid, ConnectInvalidParameters, ctrl is null ? (1u << 16) | 16 : 44);
                return true;
            }
            c.Controller = ctrl;
            c.Qid = qid;
            c.Connected = true;
            c.SqFlowDisabled = (cattr & 0x04) != 0;
            Respond(c, cid, 0, ctrl.Id);
            return true;
        }
        if (!c.Connected || c.Qid != 0)
        {
            Respond(c, cid, InvalidOpcode);
            return true;
        }
        ControllerState state = c.Controller!;
        uint offset = BinaryPrimitives.ReadUInt32LittleEndian(sqe.AsSpan(44));
        if (fctype == 0x04)
        {
            ulong value = offset switch
            {
                0x00 => 127UL | (1UL << 16) | (10UL << 24) | (1UL << 37),   // MQES 127, CQR, TO 5 s, CSS NVM
                0x08 => 0x00010300,
                0x14 => state.Cc,
                0x1C => state.Csts,
                _ => ulong.MaxValue,
            };
            if (value == ulong.MaxValue)
                Respond(c, cid, InvalidField);
            else
                Respond(c, cid, 0, (uint)value, (uint)(value >> 32));
            return true;
        }
        if (fctype == 0x00 && offset == 0x14)
        {
            uint cc = BinaryPrimitives.ReadUInt32LittleEndian(sqe.AsSpan(48));
            lock (_lock)
            {
                if ((cc & 1) != 0 && (state.Cc & 1) == 0)
                    state.Csts |= 1;
                if ((cc & 1) == 0)
                    state.Csts = 0;
                if (((cc >> 14) & 3) != 0)
                    state.Csts = (state.Csts & ~0xCu) | (2u << 2);
                state.Cc = cc;
            }
            Respond(c, cid, 0);
            return true;
        }
        Respond(c, cid, InvalidField);
        return true;
    }

    private bool Admin(Connection c, byte[] sqe, byte[] data, ushort cid)
    {
        ControllerState ctrl = c.Controller!;
        byte opcode = sqe[0];
        byte cdw10 = sqe[40];
        switch (opcode)
        {
            case 0x06:
                byte[]? page = cdw10 switch
                {
                    0x01 => IdentifyController(ctrl),
                    0x02 when !ctrl.Discovery => ActiveNamespaces(),
                    0x00 when !ctrl.Discovery && BinaryPrimitives.ReadUInt32LittleEndian(sqe.AsSpan(4)) == 1 => IdentifyNamespace(),
                    _ => null,
                };
                if (page is null)
                    Respond(c, cid, InvalidField);
                else
                    ReadResponse(c, cid, page, sqe);
                return true;
            case 0x09:
            case 0x0A:
                if (cdw10 == 0x07)
                {
                    uint asked = BinaryPrimitives.ReadUInt32LittleEndian(sqe.AsSpan(44)) & 0xFFFF;
                    uint n = (uint)Math.Min(asked + 1, MaxIoQueues) - 1;
                    Respond(c, cid, 0, n | (n << 16));
                }
                else
                    Respond(c, cid, cdw10 == 0x16 ? InvalidField : (ushort)0);
                return true;
            case 0x18:
                Interlocked.Increment(ref _keepAlives);
                if (!IgnoreKeepAlive)
                    Respond(c, cid, 0);
                return true;
            case 0x02:
                uint numd = BinaryPrimitives.ReadUInt16LittleEndian(sqe.AsSpan(42)) | ((uint)BinaryPrimitives.ReadUInt16LittleEndian(sqe.AsSpan(44)) << 16);
                int bytes = (int)(numd + 1) * 4;
                ulong start = BinaryPrimitives.ReadUInt64LittleEndian(sqe.AsSpan(48));
                byte[] log = cdw10 == 0x70 && ctrl.Discovery ? DiscoveryLogBytes() : new byte[512];
                byte[] reply = new byte[bytes];
                if (start < (ulong)log.Length)
                    log.AsSpan((int)start, (int)Math.Min(bytes, log.Length - (long)start)).CopyTo(reply);
                ReadResponse(c, cid, reply, sqe);
                return true;
            default:
                Respond(c, cid, InvalidOpcode);
                return true;
        }
    }

    private bool Io(Connection c, byte[] sqe, byte[] data, ushort cid)
    {
        byte opcode = sqe[0];
        ulong slba = BinaryPrimitives.ReadUInt64LittleEndian(sqe.AsSpan(40));
        int blocks = BinaryPrimitives.ReadUInt16LittleEndian(sqe.AsSpan(48)) + 1;
        long bytes = (long)blocks * BlockSize;
        PeerFault fault = TakeFault(opcode);
        if (PlayConnectionFault(c, fault, sqe, cid))
            return false;
        if (fault == PeerFault.NoResponse)
            return true;
        if (opcode is 0x01 or 0x02 or 0x08 && slba + (ulong)blocks > (ulong)Blocks)
        {
            Respond(c, cid, LbaOutOfRange);
            return true;
        }
        switch (opcode)
        {
            case 0x02:
                if (fault == PeerFault.ErrorStatus)
                {
                    Respond(c, cid, 0x0281);
                    return true;
                }
                byte[] read = Media.AsSpan((int)((long)slba * BlockSize), (int)bytes).ToArray();
                if (fault == PeerFault.DataOutOfRange)
                {
                    SendData(c, cid, new byte[bytes + BlockSize], 0, last: true, success: false);
                    return true;
                }
                ReadResponse(c, cid, read, sqe, fault == PeerFault.CorruptDataDigest, fault == PeerFault.CorruptHeaderDigest, fault == PeerFault.UnknownCommandId);
                return true;
            case 0x01:
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(sqe.AsSpan(32));
                if (length != bytes)
                {
                    Respond(c, cid, SglLengthInvalid);
                    return true;
                }
                if (sqe[39] == 0x01)
                {
                    Interlocked.Increment(ref _inCapsuleWrites);
                    data.CopyTo(Media.AsSpan((int)((long)slba * BlockSize)));
                    Respond(c, cid, 0);
                    return true;
                }
                if (length <= InCapsuleBytes)
                {
                    Interlocked.Increment(ref _hungWrites);   // nvmet waits for in-capsule data that never comes
                    return true;
                }
                Interlocked.Increment(ref _r2tWrites);
                var write = new PendingWrite { Slba = slba, Data = new byte[length] };
                c.Writes[cid] = write;
                NextR2T(c, cid, write);
                return true;
            case 0x00:
                Respond(c, cid, 0);
                return true;
            case 0x08:
                Media.AsSpan((int)((long)slba * BlockSize), (int)bytes).Clear();
                Respond(c, cid, 0);
                return true;
            case 0x09:
                int ranges = (sqe[40] & 0xFF) + 1;
                bool deallocate = (sqe[44] & 0x04) != 0;
                for (int i = 0; i < ranges && deallocate; i++)
                {
                    uint nlb = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(i * 16 + 4));
                    ulong start = BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(i * 16 + 8));
                    Media.AsSpan((int)((long)start * BlockSize), (int)(nlb * BlockSize)).Clear();
                }
                Respond(c, cid, 0);
                return true;
            default:
                Respond(c, cid, InvalidOpcode);
                return true;
        }
    }

    /// <summary>Sends a read's data (in C2HChunk pieces) and its completion: a response, or SUCCESS on the last C2HData when SQ flow control is off.</summary>
    private void ReadResponse(Connection c, ushort cid, byte[] data, byte[] sqe, bool corruptData = false, bool corruptHeader = false, bool wrongCid = false)
    {
        uint sglLength = BinaryPrimitives.ReadUInt32LittleEndian(sqe.AsSpan(32));
        if (sqe[39] != 0x5A || sglLength < data.Length)
        {
            Respond(c, cid, SglLengthInvalid);
            return;
        }
        int chunk = C2HChunk > 0 ? C2HChunk : data.Length;
        bool success = c.SqFlowDisabled && !corruptHeader && !wrongCid;
        for (int offset = 0; offset < data.Length; offset += chunk)
        {
            int n = Math.Min(chunk, data.Length - offset);
            bool last = offset + n == data.Length;
            SendData(c, cid, data.AsSpan(offset, n), (uint)offset, last, last && success, corruptData && last);
        }
        if (!success)
            Respond(c, wrongCid ? (ushort)(cid + 1000) : cid, 0, corruptDigest: corruptHeader);
    }

    private void NextR2T(Connection c, ushort cid, PendingWrite write)
    {
        int length = Math.Min(R2TChunk > 0 ? R2TChunk : write.Data.Length, write.Data.Length - write.Requested);
        SendR2T(c, cid, (ushort)(cid + 0x100), write.Requested, length);
        write.Requested += length;
    }

    private bool HandleH2CData(Connection c, byte[] header, byte[] data)
    {
        ushort cid = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(8));
        ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(10));
        uint offset = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(12));
        bool last = (header[1] & 0x04) != 0;
        if (!c.Writes.TryGetValue(cid, out PendingWrite? write) || tag != (ushort)(cid + 0x100) || offset != write.Received || write.Received + data.Length > write.Requested)
            throw new IOException($"unsolicited or misplaced H2CData for command {cid} (tag {tag}, offset {offset})");
        data.CopyTo(write.Data, write.Received);
        write.Received += data.Length;
        if (write.Received < write.Requested)
            return true;
        if (!last)
            throw new IOException($"the H2CData that ends R2T data of command {cid} lacks LAST_PDU");
        if (write.Received < write.Data.Length)
        {
            NextR2T(c, cid, write);
            return true;
        }
        c.Writes.Remove(cid);
        write.Data.CopyTo(Media.AsSpan((int)((long)write.Slba * BlockSize)));
        Respond(c, cid, 0);
        return true;
    }

    /// <summary>The faults that end or poison the connection; true when the connection must end now.</summary>
    private bool PlayConnectionFault(Connection c, PeerFault fault, byte[] sqe, ushort cid)
    {
        switch (fault)
        {
            case PeerFault.CloseConnection:
                c.Socket.Shutdown(SocketShutdown.Both);
                return true;
            case PeerFault.ResetConnection:
                c.Socket.LingerState = new LingerOption(true, 0);
                c.Socket.Close();
                return true;
            case PeerFault.MalformedHeader:
                byte[] bad = Pdu(0x0F, 0, 24, c.HeaderDigest ? 4 : 0, 0, 24 + (c.HeaderDigest ? 4 : 0));
                c.Socket.Send(bad);
                return false;   // the host answers with an H2CTermReq, which the read loop records
            case PeerFault.TruncatedResponse:
                c.Socket.Send(new byte[] { 0x05, 0, 24, 0, 24, 0, 0, 0, 0, 0 });
                c.Socket.Shutdown(SocketShutdown.Both);
                return true;
            case PeerFault.TermReq:
                SendTermReq(c, 0x02, sqe);
                c.Socket.Shutdown(SocketShutdown.Both);
                return true;
            default:
                return false;
        }
    }

    private byte[] IdentifyController(ControllerState ctrl)
    {
        byte[] p = new byte[4096];
        BinaryPrimitives.WriteUInt16LittleEndian(p, 0x1B36);
        Encoding.ASCII.GetBytes("SCRIPTED0001        ").CopyTo(p, 4);
        Encoding.ASCII.GetBytes("Scripted NVMe/TCP target                ").CopyTo(p, 24);
        Encoding.ASCII.GetBytes("1.0     ").CopyTo(p, 64);
        p[77] = 0;                                                          // MDTS: no limit
        BinaryPrimitives.WriteUInt16LittleEndian(p.AsSpan(78), ctrl.Id);
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(80), 0x00010300);
        p[111] = (byte)(ctrl.Discovery ? 2 : 1);                           // CNTRLTYPE
        BinaryPrimitives.WriteUInt16LittleEndian(p.AsSpan(320), 10);      // KAS
        p[512] = 0x66;
        p[513] = 0x44;
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(516), ctrl.Discovery ? 0u : 1u);
        BinaryPrimitives.WriteUInt16LittleEndian(p.AsSpan(520), 0x000C);  // ONCS: DSM, Write Zeroes
        p[525] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(536), 1);       // SGLS
        Encoding.ASCII.GetBytes(ctrl.Discovery ? DiscoveryNqn : Nqn).CopyTo(p, 768);
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(1792), (uint)((64 + InCapsuleBytes) / 16));
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(1796), 1);
        p[1803] = 1;
        return p;
    }

    private static byte[] ActiveNamespaces()
    {
        byte[] p = new byte[4096];
        BinaryPrimitives.WriteUInt32LittleEndian(p, 1);
        return p;
    }

    private byte[] IdentifyNamespace()
    {
        byte[] p = new byte[4096];
        BinaryPrimitives.WriteUInt64LittleEndian(p, (ulong)Blocks);
        BinaryPrimitives.WriteUInt64LittleEndian(p.AsSpan(8), (ulong)Blocks);
        BinaryPrimitives.WriteUInt64LittleEndian(p.AsSpan(16), (ulong)Blocks);
        p[130] = (byte)(BlockSize == 4096 ? 12 : 9);                        // LBAF0: LBADS
        return p;
    }

    /// <summary>Two records, as Linux nvmet reports them: the current discovery subsystem and the NVM subsystem.</summary>
    private byte[] DiscoveryLogBytes()
    {
        byte[] log = new byte[1024 + 2 * 1024];
        BinaryPrimitives.WriteUInt64LittleEndian(log, 7);
        BinaryPrimitives.WriteUInt64LittleEndian(log.AsSpan(8), 2);
        for (int i = 0; i < 2; i++)
        {
            Span<byte> e = log.AsSpan(1024 + i * 1024, 1024);
            e[0] = 3;
            e[1] = 1;
            e[2] = (byte)(i == 0 ? 3 : 2);
            e[3] = 0x04;
            BinaryPrimitives.WriteUInt16LittleEndian(e[4..], 1);
            BinaryPrimitives.WriteUInt16LittleEndian(e[6..], 0xFFFF);
            BinaryPrimitives.WriteUInt16LittleEndian(e[8..], 32);
            e.Slice(32, 32).Fill((byte)' ');
            Encoding.ASCII.GetBytes(Port.ToString()).CopyTo(e[32..]);
            Encoding.ASCII.GetBytes(i == 0 ? DiscoveryNqn : Nqn).CopyTo(e[256..]);
            e.Slice(512, 256).Fill((byte)' ');
            Encoding.ASCII.GetBytes("127.0.0.1").CopyTo(e[512..]);
        }
        return log;
    }
}
