using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Tcp;

/// <summary>
/// One NVMe/TCP queue pair (NVMe/TCP Transport Specification 1.0; SPDK's nvme_tcp_qpair): one
/// non-blocking TCP connection owned by one thread. A submit describes the data with an SGL
/// data block descriptor — in-capsule (the data follows the SQE in the CapsuleCmd) up to the
/// controller's in-capsule size, a transport SGL otherwise, answered with R2T + H2CData — and
/// queues the PDU; <see cref="TransportQueuePair.ProcessCompletions"/> sends what is queued,
/// receives C2HData straight into the caller's buffer, R2Ts, response capsules and termination
/// requests, and completes requests by command id. Every PDU header lives in memory allocated
/// once per queue pair (a slot per command id); data moves between the socket and the caller's
/// <see cref="DmaBuffer"/> through iovecs, never through a bounce buffer (up to a few hundred
/// bytes that arrive in the same read as a header are copied from the receive staging area).
/// Completions are delivered only from ProcessCompletions (or FailInFlight), never from Submit.
/// A connection failure fails the association (<see cref="NvmeTcpTransport"/>); the queue pair
/// then completes what it holds with HostPathingError until it is reconnected.
/// </summary>
internal sealed unsafe partial class TcpQueuePair : TransportQueuePair
{
    private const byte FabricsOpcode = 0x7F;
    private const int SlotBytes = 512;              // per command id: capsule header, H2C header, digests
    private const int H2CHeaderSlot = 256;          // CapsuleCmd: 72 + 4 + padding up to CPDA alignment (≤ 128) fits in 256
    private const int CapsuleDigestSlot = 384;
    private const int H2CDigestSlot = 388;
    private const int RxCapacity = 512;             // receive staging: headers and what arrives with them
    private const int IovMax = 64;
    private const byte SglDataBlockOffset = 0x01;   // type 0h, subtype 1h: in-capsule data at an offset (NVMe Base 2.0 §4.1.2)
    private const byte SglTransportDataBlock = 0x5A; // type 5h, subtype Ah: transport-specific data block

    /// <summary>In-capsule data the admin queue and Fabrics commands can carry (NVMe/TCP §3.4: 8 KiB).</summary>
    public const int AdminInCapsuleBytes = 8192;

    private readonly NvmeTcpTransport _transport;
    private readonly CommandState[] _commands;
    private readonly TxItem[] _tx;
    private readonly ushort[] _ready;               // command ids whose held response may complete
    private readonly byte* _memory;                 // slots, then receive staging, then iovecs
    private readonly byte* _slots;
    private readonly byte* _rx;
    private readonly TcpSocket.IoVector* _iov;
    private string?[]? _details;                    // per command id, what a failure was (allocated on the first one)
    private TcpSocket? _socket;
    private NvmeTcpException? _failure;
    private bool _hdgst, _ddgst;
    private int _cpda;
    private int _maxH2CData = TcpPduCodec.MinMaxH2CData;
    private int _inCapsuleBytes;                    // for commands other than Fabrics ones
    private bool _sqFlowControlDisabled;
    private bool _sending;
    private int _txHead, _txCount, _txSent;
    private int _readyCount;

    private struct CommandState
    {
        public byte* Data;
        public int Length;
        public DataDirection Direction;
        public bool InCapsule;
        public int Received;          // C2H bytes so far: the next DATAO
        public int Requested;         // H2C bytes asked for by R2Ts so far: the next R2TO
        public int H2COffset;         // the current R2T: next offset to send, bytes left, its tag
        public int H2CRemaining;
        public ushort TransferTag;
        public int TxPending;         // PDUs of this command queued and not fully sent
        public bool ResponseHeld;     // the response came before the last byte left (an error reply)
        public bool DigestFailed;
        public CompletionEntry HeldResponse;
    }

    private struct TxItem
    {
        public byte* Header;
        public int HeaderLength;
        public byte* Data;
        public int DataLength;
        public byte* Digest;
        public ushort CommandId;
        public bool IsH2CData;

        public readonly int Length => HeaderLength + DataLength + (Digest is null ? 0 : TcpPduCodec.DigestLength);
    }

    public TcpQueuePair(NvmeTcpTransport transport, ushort id, int entries, DmaAllocator memory)
        : base(id, entries - 1)
    {
        _transport = transport;
        Memory = memory;
        _commands = new CommandState[Depth];
        _tx = new TxItem[2 * Depth + 2];
        _ready = new ushort[Depth];
        nuint bytes = (nuint)(Depth * SlotBytes + RxCapacity + IovMax * sizeof(TcpSocket.IoVector));
        _memory = (byte*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(_memory, bytes);
        _slots = _memory;
        _rx = _memory + Depth * SlotBytes;
        _iov = (TcpSocket.IoVector*)(_rx + RxCapacity);
        try
        {
            FabricsData = memory.Allocate(FabricsCommands.ConnectDataSize);
        }
        catch
        {
            NativeMemory.AlignedFree(_memory);
            throw;
        }
        _failure = new NvmeTcpException(NvmeTcpError.Disconnected, $"Queue {id} to {transport.Address} is not connected: reset the controller (NvmeController.Reset) to connect it.");
    }

    /// <summary>The controller's DMA memory (the transport allocates its Identify page from it).</summary>
    public DmaAllocator Memory { get; }

    /// <summary>The Connect command's data (host ID, controller ID, NQNs), sent in-capsule.</summary>
    public DmaBuffer FabricsData { get; }

    /// <summary>The failure this queue pair is in, or null while it is live.</summary>
    public NvmeTcpException? Failure => _failure;

    /// <summary>MAXH2CDATA the controller announced in its ICResp.</summary>
    public int MaxH2CData => _maxH2CData;

    /// <summary>In-capsule data of I/O commands (IOCCSZ × 16 − 64; 8 KiB on the admin queue); set by the transport once Identify is known.</summary>
    public int InCapsuleBytes
    {
        get => _inCapsuleBytes;
        set => _inCapsuleBytes = value;
    }

    internal override void Submit(NvmeRequest request, bool publish)
    {
        CheckSubmit(request);
        ushort cid = request.CommandId;
        ref CommandState st = ref _commands[cid];
        st = default;
        ref SubmissionEntry cmd = ref request.Command;
        cmd.CommandId = cid;
        bool fabrics = cmd.Opcode == FabricsOpcode;
        st.Direction = fabrics ? (DataDirection)(cmd.NamespaceId & 3) : request.Direction;
        // Fabrics requires PSDT 01b (SGL for data, MPTR a contiguous buffer) on every command.
        cmd.Flags = (byte)((cmd.Flags & 0x3F) | 0x40);
        if (request.Data is { } data && request.DataLength > 0)
        {
            st.Data = (byte*)data.Pointer + request.DataOffset;
            st.Length = request.DataLength;
            int limit = fabrics || Id == 0 ? AdminInCapsuleBytes : _inCapsuleBytes;
            st.InCapsule = st.Direction == DataDirection.HostToController && st.Length <= limit;
            cmd.Prp1 = 0;
            cmd.Prp2 = (uint)st.Length | ((ulong)(st.InCapsule ? SglDataBlockOffset : SglTransportDataBlock) << 56);
        }
        else if (cmd.Prp1 == 0 && cmd.Prp2 == 0)
            cmd.Prp2 = (ulong)SglTransportDataBlock << 56;   // the null descriptor of a command without data
        Track(request);
        if (_failure is not null)
            return;   // completed with the failure by the next ProcessCompletions
        byte* slot = _slots + cid * SlotBytes;
        int inCapsule = st.InCapsule ? st.Length : 0;
        int headerBytes = TcpPduCodec.WriteCapsuleCommand(new Span<byte>(slot, H2CHeaderSlot), in cmd, inCapsule, _hdgst, _ddgst, _cpda);
        byte* digest = null;
        if (inCapsule > 0 && _ddgst)
        {
            digest = slot + CapsuleDigestSlot;
            *(uint*)digest = TcpPduCodec.Digest(new ReadOnlySpan<byte>(st.Data, inCapsule));
        }
        Enqueue(new TxItem { Header = slot, HeaderLength = headerBytes, Data = inCapsule > 0 ? st.Data : null, DataLength = inCapsule, Digest = digest, CommandId = cid });
        if (publish)
            TrySend();
    }

    /// <inheritdoc/>
    public override void Flush()
    {
        if (_txCount != 0 && _failure is null)
            TrySend();
    }

    /// <inheritdoc/>
    public override int ProcessCompletions(int max = int.MaxValue)
    {
        // At most a queue's worth per call: handlers that resubmit against a target that answers
        // at once would otherwise keep one call (and the caller's deadline checks) going forever.
        if (max > Depth)
            max = Depth;
        if (_failure is null)
        {
            if (_transport.AssociationFailure is { } lost)
                Fail(lost, sendTermination: false);
            else
            {
                if (Id != 0)
                    _transport.KeepAliveTick();
                if (_txCount != 0)
                    TrySend();
                int reaped = DeliverReady(max);
                if (reaped < max && _failure is null)
                    reaped += Receive(max - reaped);
                if (_failure is null || InFlight == 0)
                    return reaped;
                return reaped + FailInFlight(NvmeStatus.HostPathingError.Value);
            }
        }
        return InFlight == 0 ? 0 : FailInFlight(NvmeStatus.HostPathingError.Value);
    }

    /// <summary>What is known about a failed command: the connection failure, or its data digest mismatch.</summary>
    public string? DescribeFailure(ushort commandId)
        => _details is { } d && commandId < d.Length && d[commandId] is { } detail ? detail : _failure?.Message;

    /// <summary>
    /// Connects (or reconnects) to <paramref name="endpoint"/>: TCP connect, ICReq/ICResp; the
    /// connection is then live for a Fabrics Connect. Forgets all wire state first; nothing may
    /// be in flight. Throws <see cref="NvmeTcpException"/> (the pair stays failed with it).
    /// </summary>
    public void Establish(IPEndPoint endpoint, NvmeTcpOptions options)
    {
        if (InFlight != 0)
            throw new InvalidOperationException($"Queue {Id} still has {InFlight} commands in flight; fail them before reconnecting.");
        Close();
        ForgetWireState();
        var handshake = new TcpHandshake(endpoint, options, Id, _transport.Address);
        try
        {
            _socket = handshake.Connect(_rx, RxCapacity, out ICRespPdu response);
            _hdgst = options.HeaderDigest;
            _ddgst = options.DataDigest;
            _cpda = response.Cpda;
            _maxH2CData = (int)Math.Min(response.MaxH2CData, int.MaxValue);
            _sqFlowControlDisabled = !options.SqFlowControl;
            _failure = null;
        }
        catch (NvmeTcpException e)
        {
            _failure = e;
            throw;
        }
    }

    /// <summary>
    /// Runs a Fabrics command on this queue pair synchronously (the I/O queue's Connect), with
    /// an internal request on command id 0 while nothing else is in flight.
    /// </summary>
    public CompletionEntry ExecuteFabrics(in SubmissionEntry command, DmaBuffer? data, int length, TimeSpan timeout)
    {
        if (InFlight != 0)
            throw new InvalidOperationException($"Queue {Id} has commands in flight; a Fabrics command runs alone.");
        var request = new FabricsRequest { Command = command, Data = data, DataOffset = 0, DataLength = data is null ? 0 : length };
        Submit(request, publish: true);
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (!request.Done)
        {
            if (ProcessCompletions() != 0 || request.Done)
                continue;
            long left = deadline - Environment.TickCount64;
            if (left <= 0)
            {
                Fail(new NvmeTcpException(NvmeTcpError.ConnectRejected, $"Queue {Id} to {_transport.Address}: the Fabrics {FabricsCommands.Name(command)} got no response within {timeout.TotalSeconds:0.#} s."), sendTermination: false);
                ProcessCompletions();
                break;
            }
            _socket?.WaitReadable(TimeSpan.FromMilliseconds(Math.Min(left, 10)));
        }
        if (_failure is { } failure)
            throw failure;
        return request.Completion;
    }

    /// <summary>The host ends the connection (reset, disconnect): the next submit or poll fails with <paramref name="reason"/> until it is reconnected.</summary>
    public void Disconnect(NvmeTcpException reason)
    {
        _failure ??= reason;
        Close();
    }

    /// <summary>Wakes the owning thread from another thread: its next receive sees the end of the connection.</summary>
    public void ShutdownFromOtherThread() => _socket?.Shutdown();

    internal override void ResetAfterControllerReset() => ForgetWireState();

    /// <summary>The socket is the wait handle: readable when a PDU (a completion) arrived.</summary>
    internal override int CompletionWaitFd => _socket?.Descriptor ?? -1;

    /// <summary>PDUs waiting to be sent, or responses received and not yet delivered: a sleep on the socket would stall them.</summary>
    internal override bool MustKeepPolling => _txCount != 0 || _readyCount != 0 || _socket is null;

    /// <summary>Closes the connection and frees the PDU memory.</summary>
    protected override void Dispose(bool disposing)
    {
        Close();
        _transport.Forget(this);
        FabricsData.Dispose();
        NativeMemory.AlignedFree(_memory);
    }

    /// <summary>Enters the failed state: the connection closes, the association fails, outstanding commands fail at the next poll.</summary>
    private void Fail(NvmeTcpException failure, bool sendTermination, TcpFatalErrorStatus fes = 0, uint fei = 0, ReadOnlySpan<byte> offending = default)
    {
        if (_failure is not null)
            return;
        // The first failure of the association is the reason (a keep-alive expiry closes the other connections: their end-of-stream is its consequence).
        _failure = _transport.AssociationFailure ?? failure;
        if (sendTermination)
            SendTermination(fes, fei, offending);
        Close();
        _transport.OnAssociationFailed(failure);
    }

    private void Close()
    {
        _socket?.Dispose();
        _socket = null;
    }

    private void ForgetWireState()
    {
        Array.Clear(_commands);
        _txHead = _txCount = _txSent = 0;
        _readyCount = 0;
        _rxStart = _rxEnd = 0;
        _rxState = RxState.Header;
        _details = null;
        _sending = false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SetDetail(ushort commandId, string detail) => (_details ??= new string?[Depth])[commandId] = detail;

    /// <summary>Completes a request from its response (or a synthesized one), with a data digest failure turned into a transport error.</summary>
    private void Complete(ref CommandState st, CompletionEntry cqe)
    {
        if (st.DigestFailed && new NvmeStatus(cqe.Status).IsSuccess)
            cqe.StatusAndPhase = (ushort)(NvmeStatus.TransientTransportError.Value << 1);
        st = default;
        Untrack(in cqe).OnCompleted(in cqe);
    }

    private int DeliverReady(int max)
    {
        int delivered = 0;
        while (_readyCount > 0 && delivered < max)
        {
            ushort cid = _ready[--_readyCount];
            ref CommandState st = ref _commands[cid];
            Complete(ref st, st.HeldResponse);
            delivered++;
        }
        return delivered;
    }

    /// <summary>A request the transport runs on its own (a Fabrics command before the driver's pool is used).</summary>
    private sealed class FabricsRequest : NvmeRequest
    {
        public CompletionEntry Completion;
        public bool Done;

        public FabricsRequest() : base(0) { }

        protected internal override void OnCompleted(in CompletionEntry completion)
        {
            Completion = completion;
            Done = true;
        }
    }
}
