using PolledNvme.Driver.Transport;

namespace PolledNvme.Driver.Tcp;

/// <summary>
/// The send side: a ring of PDUs waiting to leave (each a header slot, the caller's data and a
/// digest slot), gathered into one sendmsg per batch; what the socket does not take now stays
/// queued, with the offset into its first PDU, until the next Flush or poll.
/// </summary>
internal sealed unsafe partial class TcpQueuePair
{
    private void Enqueue(in TxItem item)
    {
        // At most a capsule and an H2CData PDU per command id are queued at once: the ring is 2 × depth + 2.
        _tx[(_txHead + _txCount) % _tx.Length] = item;
        _txCount++;
        _commands[item.CommandId].TxPending++;
    }

    /// <summary>Sends as much of the queue as the socket takes without blocking.</summary>
    private void TrySend()
    {
        if (_sending || _socket is null)
            return;   // the outer call's loop sends what was queued meanwhile
        _sending = true;
        try
        {
            while (_txCount != 0 && _failure is null)
            {
                int skip = _txSent;
                int vectors = 0;
                long requested = 0;
                for (int i = 0; i < _txCount && vectors <= IovMax - 3; i++)
                {
                    ref TxItem t = ref _tx[(_txHead + i) % _tx.Length];
                    requested += AddVector(t.Header, t.HeaderLength, ref skip, ref vectors);
                    requested += AddVector(t.Data, t.DataLength, ref skip, ref vectors);
                    if (t.Digest is not null)
                        requested += AddVector(t.Digest, TcpPduCodec.DigestLength, ref skip, ref vectors);
                }
                long sent = _socket.Send(_iov, vectors);
                if (sent < 0)
                {
                    if (sent != -TcpSocket.EAGAIN)
                        Fail(SocketFailure((int)-sent, "sending"), sendTermination: false);
                    return;
                }
                long done = sent + _txSent;
                while (_txCount != 0)
                {
                    int length = _tx[_txHead].Length;
                    if (done < length)
                        break;
                    done -= length;
                    TxItem item = _tx[_txHead];
                    _txHead = (_txHead + 1) % _tx.Length;
                    _txCount--;
                    OnSent(in item);
                }
                _txSent = (int)done;
                if (sent < requested)
                    return;   // the socket buffer is full; the rest goes at the next poll
            }
        }
        finally
        {
            _sending = false;
        }
    }

    /// <summary>Adds a segment to the iovec array, leaving out the first <paramref name="skip"/> bytes already sent; returns its bytes.</summary>
    private int AddVector(byte* start, int length, ref int skip, ref int vectors)
    {
        if (length == 0)
            return 0;
        if (skip >= length)
        {
            skip -= length;
            return 0;
        }
        _iov[vectors].Base = start + skip;
        _iov[vectors].Length = (nuint)(length - skip);
        vectors++;
        int added = length - skip;
        skip = 0;
        return added;
    }

    /// <summary>A PDU left completely: an R2T's next H2CData may follow, a held response may complete.</summary>
    private void OnSent(in TxItem item)
    {
        ref CommandState st = ref _commands[item.CommandId];
        st.TxPending--;
        if (item.IsH2CData && st.H2CRemaining > 0)
            EnqueueH2CData(item.CommandId, ref st);
        else if (st.TxPending == 0 && st.ResponseHeld)
        {
            st.ResponseHeld = false;
            _ready[_readyCount++] = item.CommandId;
        }
    }

    /// <summary>
    /// Queues the next H2CData PDU of the current R2T: one PDU for the whole R2T when it fits
    /// MAXH2CDATA (Linux nvmet 6.1 checks a data digest over the whole R2T, so with digests on
    /// one PDU per R2T is required; the driver's transfer limit keeps every R2T within it), else
    /// MAXH2CDATA-sized pieces, the last with LAST_PDU. Its digest is computed over the caller's
    /// data in place.
    /// </summary>
    private void EnqueueH2CData(ushort cid, ref CommandState st)
    {
        int length = Math.Min(st.H2CRemaining, _maxH2CData);
        bool last = length == st.H2CRemaining;
        byte* slot = _slots + cid * SlotBytes + H2CHeaderSlot;
        int headerBytes = TcpPduCodec.WriteH2CData(new Span<byte>(slot, CapsuleDigestSlot - H2CHeaderSlot), cid, st.TransferTag, (uint)st.H2COffset, length, last, _hdgst, _ddgst, _cpda);
        byte* data = st.Data + st.H2COffset;
        byte* digest = null;
        if (_ddgst)
        {
            digest = _slots + cid * SlotBytes + H2CDigestSlot;
            *(uint*)digest = TcpPduCodec.Digest(new ReadOnlySpan<byte>(data, length));
        }
        st.H2COffset += length;
        st.H2CRemaining -= length;
        Enqueue(new TxItem { Header = slot, HeaderLength = headerBytes, Data = data, DataLength = length, Digest = digest, CommandId = cid, IsH2CData = true });
    }

    /// <summary>Best effort: tells the controller why the host ends the connection (H2CTermReq, §3.6.2.4) before it closes.</summary>
    private void SendTermination(TcpFatalErrorStatus fes, uint fei, ReadOnlySpan<byte> offending)
    {
        if (_socket is null)
            return;
        // The PDU goes out on its own, after nothing: a partly sent PDU ahead of it would frame it wrongly.
        if (_txSent != 0)
            return;
        byte* pdu = stackalloc byte[TcpPduCodec.MaxReceivedHeader];
        int length = TcpPduCodec.WriteH2CTermReq(new Span<byte>(pdu, TcpPduCodec.MaxReceivedHeader), fes, fei, offending);
        var iov = new TcpSocket.IoVector { Base = pdu, Length = (nuint)length };
        _socket.Send(&iov, 1);
    }

    private NvmeTcpException SocketFailure(int errno, string during) => new(
        errno is TcpSocket.ECONNRESET or TcpSocket.EPIPE ? NvmeTcpError.ConnectionReset : NvmeTcpError.ConnectionClosed,
        $"{_transport.Address} queue {Id}: the connection failed while {during}: {TcpSocket.Describe(errno)}{_transport.KeepAliveHint()}. The target went away or closed the association "
        + $"({InFlight} commands were outstanding and fail with HostPathingError); reset the controller (NvmeController.Reset) to reconnect.", errno);
}
