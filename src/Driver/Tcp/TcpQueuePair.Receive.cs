using System.Runtime.InteropServices;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Tcp;

/// <summary>
/// The receive side: a small staging area takes PDU headers (and whatever arrives with them);
/// a C2HData PDU's data is read straight into the caller's buffer with one recvmsg whose
/// second iovec takes the data digest and the next headers. Every header is checked (type,
/// lengths, digests, command id, offsets) before anything lands anywhere: a PDU that breaks a
/// rule fails the connection with an H2CTermReq saying which field, never writes outside the
/// command's buffer.
/// </summary>
internal sealed unsafe partial class TcpQueuePair
{
    private enum RxState : byte
    {
        Header,
        Padding,
        Data,
        DataDigest,
    }

    private RxState _rxState;
    private int _rxStart, _rxEnd;
    private int _rxPadding;
    private ushort _rxCommandId;
    private TcpPduFlags _rxFlags;
    private byte* _rxDataStart;
    private byte* _rxDest;
    private int _rxLength;
    private int _rxRemaining;

    /// <summary>Receives and handles PDUs until the socket is drained or <paramref name="max"/> requests completed.</summary>
    private int Receive(int max)
    {
        int reaped = 0;
        while (reaped < max && _failure is null)
        {
            switch (_rxState)
            {
                case RxState.Header:
                    if (!Fill(TcpCommonHeader.Size))
                        return reaped;
                    TcpCommonHeader ch = MemoryMarshal.Read<TcpCommonHeader>(new ReadOnlySpan<byte>(_rx + _rxStart, TcpCommonHeader.Size));
                    if (TcpPduCodec.CheckReceivedHeader(in ch, _hdgst, _ddgst, out int headerBytes, out TcpFatalErrorStatus fes, out uint fei) is { } problem)
                    {
                        ProtocolFailure(problem, fes, fei, TcpCommonHeader.Size);
                        return reaped;
                    }
                    if (!Fill(headerBytes))
                        return reaped;
                    reaped += HandleHeader(in ch, headerBytes);
                    break;
                case RxState.Padding:
                    if (!Fill(_rxPadding))
                        return reaped;
                    _rxStart += _rxPadding;
                    _rxState = RxState.Data;
                    break;
                case RxState.Data:
                    if (!ReceiveData())
                        return reaped;
                    _rxState = _ddgst ? RxState.DataDigest : RxState.Header;
                    if (!_ddgst)
                        reaped += DataReceived();
                    break;
                case RxState.DataDigest:
                    if (!Fill(TcpPduCodec.DigestLength))
                        return reaped;
                    uint received = TcpPduCodec.ReadDigest(new ReadOnlySpan<byte>(_rx + _rxStart, TcpPduCodec.DigestLength), 0);
                    _rxStart += TcpPduCodec.DigestLength;
                    uint computed = TcpPduCodec.Digest(new ReadOnlySpan<byte>(_rxDataStart, _rxLength));
                    if (received != computed)
                        DataDigestMismatch(received, computed);
                    _rxState = RxState.Header;
                    reaped += DataReceived();
                    break;
            }
        }
        return reaped;
    }

    /// <summary>A whole header (and header digest) is staged: check it and act on it; returns the requests completed.</summary>
    private int HandleHeader(in TcpCommonHeader ch, int headerBytes)
    {
        byte* header = _rx + _rxStart;
        if (_hdgst && ch.Type != TcpPduType.C2HTermReq)
        {
            uint received = TcpPduCodec.ReadDigest(new ReadOnlySpan<byte>(header, headerBytes), ch.HeaderLength);
            uint computed = TcpPduCodec.Digest(new ReadOnlySpan<byte>(header, ch.HeaderLength));
            if (received != computed)
            {
                Fail(new NvmeTcpException(NvmeTcpError.HeaderDigestMismatch,
                        $"{_transport.Address} queue {Id}: the header digest of a {TcpPduCodec.Name(ch.Type)} PDU does not match (received 0x{received:X8}, computed 0x{computed:X8}): "
                        + "the header was corrupted in flight, so nothing after it can be trusted. The connection was closed; reset the controller to reconnect."),
                    sendTermination: true, TcpFatalErrorStatus.HeaderDigestError, 0, new ReadOnlySpan<byte>(header, headerBytes));
                return 0;
            }
        }
        switch (ch.Type)
        {
            case TcpPduType.CapsuleResponse:
                CompletionEntry cqe = MemoryMarshal.Read<CapsuleResponsePdu>(new ReadOnlySpan<byte>(header, CapsuleResponsePdu.Size)).Completion;
                _rxStart += headerBytes;
                return OnResponse(cqe, header, headerBytes);
            case TcpPduType.R2T:
                R2TPdu r2t = MemoryMarshal.Read<R2TPdu>(new ReadOnlySpan<byte>(header, R2TPdu.Size));
                OnR2T(in r2t, header, headerBytes);
                _rxStart += headerBytes;
                return 0;
            case TcpPduType.C2HData:
                DataPdu data = MemoryMarshal.Read<DataPdu>(new ReadOnlySpan<byte>(header, DataPdu.Size));
                if (OnC2HData(in data, header, headerBytes))
                {
                    _rxStart += headerBytes;
                    _rxPadding = ch.DataOffset - headerBytes;
                    _rxState = _rxPadding > 0 ? RxState.Padding : RxState.Data;
                }
                return 0;
            default:
                OnTermination(header, headerBytes);
                return 0;
        }
    }

    private int OnResponse(CompletionEntry cqe, byte* header, int headerBytes)
    {
        ushort cid = cqe.CommandId;
        if (!IsOutstanding(cid))
        {
            ProtocolFailure($"a response capsule for command id {cid}, which is not outstanding", TcpFatalErrorStatus.InvalidHeaderField, 8 + 12, headerBytes, header);
            return 0;
        }
        ref CommandState st = ref _commands[cid];
        if (cqe.Status == 0 && (st.Direction & DataDirection.ControllerToHost) != 0 && st.Received != st.Length && st.Data is not null)
        {
            ProtocolFailure($"a successful response for command id {cid} after {st.Received} of its {st.Length} data bytes", TcpFatalErrorStatus.PduSequenceError, 0, headerBytes, header);
            return 0;
        }
        if (st.TxPending != 0)
        {
            // An error reply before all our data left: the bytes still go out (the stream stays framed), then it completes.
            st.ResponseHeld = true;
            st.HeldResponse = cqe;
            return 0;
        }
        Complete(ref st, cqe);
        return 1;
    }

    private void OnR2T(in R2TPdu r2t, byte* header, int headerBytes)
    {
        ushort cid = r2t.CommandId;
        if (!IsOutstanding(cid))
        {
            ProtocolFailure($"an R2T for command id {cid}, which is not outstanding", TcpFatalErrorStatus.InvalidHeaderField, 8, headerBytes, header);
            return;
        }
        ref CommandState st = ref _commands[cid];
        if ((st.Direction & DataDirection.HostToController) == 0 || st.Data is null || st.InCapsule)
        {
            ProtocolFailure($"an R2T for command id {cid}, which has no data to send (or sent it in-capsule)", TcpFatalErrorStatus.PduSequenceError, 0, headerBytes, header);
            return;
        }
        if (st.H2CRemaining != 0 || st.TxPending != 0)
        {
            ProtocolFailure($"a second R2T for command id {cid} while one is outstanding (MAXR2T is 1)", TcpFatalErrorStatus.DataTransferLimitExceeded, 0, headerBytes, header);
            return;
        }
        if (r2t.Length == 0 || r2t.Offset != (uint)st.Requested || (ulong)r2t.Offset + r2t.Length > (ulong)st.Length)
        {
            ProtocolFailure($"an R2T for command id {cid} asking for {r2t.Length} bytes at offset {r2t.Offset} (the command has {st.Length}, {st.Requested} already asked for)",
                TcpFatalErrorStatus.DataTransferOutOfRange, 12, headerBytes, header);
            return;
        }
        st.Requested += (int)r2t.Length;
        st.TransferTag = r2t.TransferTag;
        st.H2COffset = (int)r2t.Offset;
        st.H2CRemaining = (int)r2t.Length;
        EnqueueH2CData(cid, ref st);
        TrySend();
    }

    /// <summary>Checks a C2HData header and points the receive at the command's buffer; false when it failed the connection.</summary>
    private bool OnC2HData(in DataPdu data, byte* header, int headerBytes)
    {
        ushort cid = data.CommandId;
        if (!IsOutstanding(cid))
        {
            ProtocolFailure($"C2HData for command id {cid}, which is not outstanding", TcpFatalErrorStatus.InvalidHeaderField, 8, headerBytes, header);
            return false;
        }
        ref CommandState st = ref _commands[cid];
        long length = data.Header.PduLength - data.Header.DataOffset - (_ddgst ? TcpPduCodec.DigestLength : 0);
        if (length != data.DataLength)
        {
            ProtocolFailure($"C2HData whose DATAL {data.DataLength} disagrees with its PLEN {data.Header.PduLength} and PDO {data.Header.DataOffset}", TcpFatalErrorStatus.InvalidHeaderField, 16, headerBytes, header);
            return false;
        }
        if ((st.Direction & DataDirection.ControllerToHost) == 0 || st.Data is null)
        {
            ProtocolFailure($"C2HData for command id {cid}, which reads no data", TcpFatalErrorStatus.PduSequenceError, 0, headerBytes, header);
            return false;
        }
        if (data.DataOffset != (uint)st.Received || (ulong)data.DataOffset + data.DataLength > (ulong)st.Length)
        {
            ProtocolFailure($"C2HData for command id {cid} with {data.DataLength} bytes at offset {data.DataOffset} (the command reads {st.Length}, {st.Received} received so far)",
                TcpFatalErrorStatus.DataTransferOutOfRange, 12, headerBytes, header);
            return false;
        }
        if ((data.Header.Flags & TcpPduFlags.Success) != 0 && (data.Header.Flags & TcpPduFlags.LastPdu) == 0)
        {
            ProtocolFailure($"C2HData for command id {cid} with SUCCESS but without LAST_PDU", TcpFatalErrorStatus.InvalidHeaderField, 1, headerBytes, header);
            return false;
        }
        _rxCommandId = cid;
        _rxFlags = data.Header.Flags;
        _rxDataStart = _rxDest = st.Data + data.DataOffset;
        _rxLength = _rxRemaining = (int)data.DataLength;
        return true;
    }

    /// <summary>The data of the current C2HData PDU is in place (and checked): count it, and complete on SUCCESS.</summary>
    private int DataReceived()
    {
        ref CommandState st = ref _commands[_rxCommandId];
        st.Received += _rxLength;
        if ((_rxFlags & TcpPduFlags.Success) == 0)
            return 0;
        if (st.Received != st.Length)
        {
            ProtocolFailure($"C2HData with SUCCESS for command id {_rxCommandId} after {st.Received} of its {st.Length} bytes", TcpFatalErrorStatus.PduSequenceError, 0, 0, null);
            return 0;
        }
        // SQ flow control is off: this PDU is the completion (no response capsule follows).
        var cqe = new CompletionEntry { SqId = Id, CommandId = _rxCommandId, SqHead = 0, StatusAndPhase = 0 };
        Complete(ref st, cqe);
        return 1;
    }

    /// <summary>
    /// A data digest mismatch is not fatal (the PDU lengths were sound): the command completes
    /// with TransientTransportError and this detail, and may be retried; the data it read must not be used.
    /// </summary>
    private void DataDigestMismatch(uint received, uint computed)
    {
        _commands[_rxCommandId].DigestFailed = true;
        _transport.CountDataDigestError();
        SetDetail(_rxCommandId, $"the data digest of {_rxLength} bytes of C2HData at offset {(_rxDataStart - _commands[_rxCommandId].Data)} does not match "
            + $"(received 0x{received:X8}, computed 0x{computed:X8}): the data was corrupted in flight and must not be used; retry the command");
    }

    private void OnTermination(byte* header, int headerBytes)
    {
        TermReqPdu term = MemoryMarshal.Read<TermReqPdu>(new ReadOnlySpan<byte>(header, TermReqPdu.Size));
        _rxStart += headerBytes;
        Fail(new NvmeTcpException(NvmeTcpError.TerminatedByController,
                $"{_transport.Address} queue {Id}: the controller terminated the connection (C2HTermReq): {TcpPduCodec.Name(term.Fes)} (FES {(ushort)term.Fes:X2}h, FEI 0x{term.Fei:X8}). "
                + "It found a fatal transport error in what this host sent; its log says more. Reset the controller (NvmeController.Reset) to reconnect."),
            sendTermination: false);
    }

    private bool IsOutstanding(ushort cid) => cid < _commands.Length && IsTracked(cid);

    /// <summary>A rule was broken: H2CTermReq with the offending header, close, fail the association.</summary>
    private void ProtocolFailure(string what, TcpFatalErrorStatus fes, uint fei, int headerBytes, byte* header = null)
    {
        header = header is null ? _rx + _rxStart : header;
        Fail(new NvmeTcpException(NvmeTcpError.ProtocolError,
                $"{_transport.Address} queue {Id}: the controller broke the NVMe/TCP protocol: {what}. The connection was closed ({TcpPduCodec.Name(fes)} sent); "
                + "outstanding commands fail. Reset the controller (NvmeController.Reset) to reconnect."),
            sendTermination: true, fes, fei, new ReadOnlySpan<byte>(header, Math.Min(headerBytes, TermReqPdu.MaxErrorData)));
    }

    /// <summary>Makes sure <paramref name="count"/> bytes are staged; false when the socket has no more now (or failed).</summary>
    private bool Fill(int count)
    {
        while (_rxEnd - _rxStart < count)
        {
            if (_rxStart != 0 && RxCapacity - _rxStart < count)
            {
                Buffer.MemoryCopy(_rx + _rxStart, _rx, RxCapacity, _rxEnd - _rxStart);
                _rxEnd -= _rxStart;
                _rxStart = 0;
            }
            var iov = new TcpSocket.IoVector { Base = _rx + _rxEnd, Length = (nuint)(RxCapacity - _rxEnd) };
            if (!ReceiveInto(&iov, 1, out long n))
                return false;
            _rxEnd += (int)n;
        }
        return true;
    }

    /// <summary>Moves the current PDU's data into the command's buffer: what is staged first, then straight from the socket.</summary>
    private bool ReceiveData()
    {
        int staged = Math.Min(_rxEnd - _rxStart, _rxRemaining);
        if (staged > 0)
        {
            Buffer.MemoryCopy(_rx + _rxStart, _rxDest, _rxRemaining, staged);
            _rxStart += staged;
            _rxDest += staged;
            _rxRemaining -= staged;
        }
        TcpSocket.IoVector* iov = stackalloc TcpSocket.IoVector[2];
        while (_rxRemaining > 0)
        {
            // Staging is empty here: the data's tail goes to the buffer, the digest and next headers behind it to staging.
            _rxStart = _rxEnd = 0;
            iov[0] = new TcpSocket.IoVector { Base = _rxDest, Length = (nuint)_rxRemaining };
            iov[1] = new TcpSocket.IoVector { Base = _rx, Length = RxCapacity };
            if (!ReceiveInto(iov, 2, out long n))
                return false;
            int toData = (int)Math.Min(n, _rxRemaining);
            _rxDest += toData;
            _rxRemaining -= toData;
            _rxEnd = (int)(n - toData);
        }
        return true;
    }

    private bool ReceiveInto(TcpSocket.IoVector* iov, int count, out long received)
    {
        received = _socket is null ? -TcpSocket.EPIPE : _socket.Receive(iov, count);
        if (received > 0)
            return true;
        if (received == -TcpSocket.EAGAIN)
            return false;
        if (received == 0)
            Fail(new NvmeTcpException(NvmeTcpError.ConnectionClosed,
                $"{_transport.Address} queue {Id}: the target closed the connection{(_transport.AssociationFailure is null ? "" : " after the association failed")} "
                + $"with {InFlight} commands outstanding{_transport.KeepAliveHint()}. They fail with HostPathingError; reset the controller (NvmeController.Reset) to reconnect."),
                sendTermination: false);
        else
            Fail(SocketFailure((int)-received, "receiving"), sendTermination: false);
        return false;
    }
}
