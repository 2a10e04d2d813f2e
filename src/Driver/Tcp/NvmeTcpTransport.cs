using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Tcp;

/// <summary>
/// The NVMe/TCP host transport (NVMe/TCP Transport Specification 1.0, NVMe Base 2.0 §6
/// Fabrics; SPDK's nvme_tcp): each queue pair is its own TCP connection, set up with
/// ICReq/ICResp and a Fabrics Connect (the admin queue with the dynamic controller ID, each I/O
/// queue with the controller ID the admin Connect returned); CAP, VS, CC and CSTS are read and
/// written with Fabrics Property Get/Set through the admin queue, so the driver's enable/ready
/// state machine runs unchanged; Keep Alive goes out from the I/O queue pairs' polling
/// (<see cref="KeepAliveTick"/>), never from a thread of its own. A failure on any connection
/// fails the association (every command fails with HostPathingError, CSTS reads as fatal) until
/// <see cref="NvmeController.Reset"/> reconnects. Open one with
/// <c>NvmeController.Open("tcp:ADDR:PORT/SUBNQN[,key=value...]")</c> (keys in <see cref="NvmeTcpOptions"/>).
/// </summary>
public sealed partial class NvmeTcpTransport : NvmeTransport
{
    private readonly Lock _pairsLock = new();
    private readonly List<TcpQueuePair> _ioPairs = new();
    private readonly IPEndPoint _endpoint;
    private readonly Guid _hostId;
    private TcpQueuePair? _adminPair;
    private AdminQueue? _admin;
    private volatile NvmeTcpException? _associationFailure;
    private int _ioInCapsuleBytes = -1;             // from Identify IOCCSZ/ICDOFF, once per association
    private long _dataDigestErrors;

    /// <summary>Creates the transport for <paramref name="options"/> (nothing connects until the controller opens it).</summary>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    /// <exception cref="NvmeTcpException">The host name does not resolve.</exception>
    public NvmeTcpTransport(NvmeTcpOptions options, string? address = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Address = address ?? options.ToString();
        _endpoint = Resolve(options);
        HostNqn = options.HostNqn ?? HostIdentity.DefaultHostNqn();
        _hostId = options.HostId ?? HostIdentity.DefaultHostId(HostNqn);
        _keepAlive = new KeepAliveHandler(this);
    }

    /// <summary>Opens the transport a <c>tcp:</c> device string names (the registry's opener).</summary>
    /// <exception cref="ArgumentException">The string is malformed (the message names the part or key).</exception>
    public static NvmeTcpTransport Open(string address)
    {
        NvmeTcpOptions options = NvmeTcpOptions.Parse(address);
        if (options.IsDiscovery)
            throw new ArgumentException($"'{address}' names a discovery controller, which has no namespaces: open an NVM subsystem with tcp:ADDR:PORT/SUBNQN. "
                + "Its discovery log lists them: NvmeDiscovery.ReadLog, or pnvme discover.", nameof(address));
        return new NvmeTcpTransport(options, address);
    }

    /// <inheritdoc/>
    public override string Address { get; }

    /// <summary>What this transport connects to and how.</summary>
    public NvmeTcpOptions Options { get; }

    /// <summary>The host NQN sent in every Connect.</summary>
    public string HostNqn { get; }

    /// <summary>The host identifier sent in every Connect.</summary>
    public Guid HostId => _hostId;

    /// <summary>The controller ID of the current association (from the admin Connect).</summary>
    public ushort ControllerId { get; private set; } = FabricsCommands.DynamicControllerId;

    /// <summary>Why the association failed (the first failure on any connection), or null while it is live.</summary>
    public NvmeTcpException? Failure => _associationFailure;

    /// <summary>C2HData PDUs whose data digest did not match (their commands failed with TransientTransportError).</summary>
    public long DataDigestErrors => Interlocked.Read(ref _dataDigestErrors);

    /// <summary>Data buffers are ordinary memory to TCP: the locked 4 KiB-page fallback is fine.</summary>
    public override DmaAllocatorOptions DefaultMemoryOptions => new() { AllowNonHugepageFallback = true };

    /// <summary>MAXH2CDATA: one command moves at most this much, so an R2T is answered by one H2CData PDU (what Linux nvmet requires with data digests).</summary>
    public override int MaxTransferBytes => _adminPair?.MaxH2CData ?? int.MaxValue;

    /// <inheritdoc/>
    public override string? FatalReason => _associationFailure?.Message;

    /// <summary>The association failure as the queue pairs read it on every poll (one volatile read; null while live).</summary>
    internal NvmeTcpException? AssociationFailure => _associationFailure;

    internal override int? RequestedIoQueues => Options.IoQueues;

    /// <summary>Every queue pair can sleep: its socket is readable when a completion arrives.</summary>
    internal override string? CompletionInterruptsUnsupportedReason => null;

    internal override int MaxIoQueueEntries => Options.MaxQueueEntries ?? int.MaxValue;

    internal override string? ProtectionUnsupportedReason =>
        "NVMe/TCP carries no metadata, and Linux nvmet exposes protection information on RDMA ports only (this namespace has none). "
        + "Drop the PI options here (the data digest, ddgst=1, protects data in flight), or use a namespace formatted with PI and no separate metadata buffer.";

    /// <inheritdoc/>
    public override uint GetProperty32(int offset) => (uint)GetProperty(offset, eightBytes: false);

    /// <inheritdoc/>
    public override ulong GetProperty64(int offset) => GetProperty(offset, eightBytes: true);

    /// <inheritdoc/>
    public override void SetProperty32(int offset, uint value) => SetProperty(offset, value, eightBytes: false);

    /// <inheritdoc/>
    public override void SetProperty64(int offset, ulong value) => SetProperty(offset, value, eightBytes: true);

    /// <summary>The controller never addresses host memory over TCP: the "IOVA" is the address itself.</summary>
    public override ulong Map(nint address, nuint length) => (ulong)address;

    /// <inheritdoc/>
    public override void Unmap(ulong iova, nuint length)
    {
    }

    /// <inheritdoc/>
    public override string? DescribeFailure(ushort queueId, ushort commandId)
    {
        if (queueId == 0)
            return _adminPair?.DescribeFailure(commandId);
        lock (_pairsLock)
        {
            foreach (TcpQueuePair pair in _ioPairs)
                if (pair.Id == queueId)
                    return pair.DescribeFailure(commandId);
        }
        return null;
    }

    internal override uint StatusWhilePolling() => _associationFailure is null ? ControllerStatus.Ready : ControllerStatus.Fatal;

    internal override TransportQueuePair CreateAdminQueuePair(in QueuePairSettings settings)
    {
        if (_adminPair is not null)
            throw new InvalidOperationException($"{Address} already has an admin queue.");
        _adminPair = new TcpQueuePair(this, 0, Math.Clamp(settings.Entries, 2, 4096), settings.Memory);
        return _adminPair;
    }

    internal override void ConnectAdminQueue(AdminQueue admin)
    {
        TcpQueuePair pair = _adminPair ?? throw new InvalidOperationException($"{Address} has no admin queue yet.");
        _admin = admin;
        _ioInCapsuleBytes = -1;
        try
        {
            pair.Establish(_endpoint, Options);
            _associationFailure = null;
            FabricsCommands.WriteConnectData(pair.FabricsData.Span, _hostId, FabricsCommands.DynamicControllerId, Options.SubsystemNqn, HostNqn);
            SubmissionEntry connect = FabricsCommands.Connect(0, pair.Depth + 1, Options.SqFlowControl, (uint)Options.KeepAliveTimeout.TotalMilliseconds);
            CompletionEntry cqe;
            try
            {
                cqe = admin.ExecuteRaw(connect, pair.FabricsData, FabricsCommands.ConnectDataSize);
            }
            catch (NvmeControllerException e)
            {
                throw new NvmeTcpException(NvmeTcpError.ConnectRejected, $"{Address}: the admin queue's Fabrics Connect got no answer: {e.Message}", inner: e);
            }
            CheckConnect(cqe, 0, pair);
            ControllerId = (ushort)cqe.Result;
            StartKeepAlive();
        }
        catch (NvmeTcpException e)
        {
            _associationFailure = e;
            pair.Disconnect(e);
            throw;
        }
    }

    internal override void BeforeEnable(TransportQueuePair admin)
    {
        // Fabrics controllers have no AQA/ASQ/ACQ: the admin queue is the connection.
    }

    internal override TransportQueuePair CreateIoQueuePair(in QueuePairSettings settings)
    {
        var pair = new TcpQueuePair(this, settings.Id, Math.Min(settings.Entries, MaxIoQueueEntries), settings.Memory);
        lock (_pairsLock)
            _ioPairs.Add(pair);
        return pair;
    }

    internal override void ConnectIoQueuePair(TransportQueuePair pair, AdminQueue admin)
    {
        TcpQueuePair tcp = pair as TcpQueuePair ?? throw new ArgumentException($"Queue pair {pair.Id} was not created by the NVMe/TCP transport of {Address}.", nameof(pair));
        if (_associationFailure is { } lost)
            throw new NvmeTcpException(lost.Error, $"Cannot connect I/O queue {pair.Id}: the association with {Address} failed: {lost.Message}", lost.Errno, lost);
        if (_ioInCapsuleBytes < 0)
            _ioInCapsuleBytes = ReadInCapsuleBytes(admin, tcp);
        tcp.InCapsuleBytes = _ioInCapsuleBytes;
        SubmissionEntry connect = FabricsCommands.Connect(pair.Id, pair.Depth + 1, Options.SqFlowControl, 0);
        // A queue id just deleted may still be held by the target while it tears the old
        // connection down (Linux nvmet answers Command Sequence Error then): retry briefly.
        long deadline = Environment.TickCount64 + (long)Options.ConnectTimeout.TotalMilliseconds;
        while (true)
        {
            tcp.Establish(_endpoint, Options);
            FabricsCommands.WriteConnectData(tcp.FabricsData.Span, _hostId, ControllerId, Options.SubsystemNqn, HostNqn);
            CompletionEntry cqe = tcp.ExecuteFabrics(connect, tcp.FabricsData, FabricsCommands.ConnectDataSize, Options.ConnectTimeout);
            var status = new NvmeStatus(cqe.Status);
            if (status.TypeAndCode == NvmeStatus.CommandSequenceError.TypeAndCode && Environment.TickCount64 < deadline)
            {
                tcp.Disconnect(new NvmeTcpException(NvmeTcpError.Disconnected, $"{Address} queue {pair.Id}: reconnecting."));
                Thread.Sleep(20);
                continue;
            }
            CheckConnect(cqe, pair.Id, tcp);
            return;
        }
    }

    internal override void DisconnectIoQueuePair(TransportQueuePair pair, AdminQueue admin)
    {
        // NVMe/TCP deletes an I/O queue by closing its connection (the target frees the queue with it).
        if (pair is TcpQueuePair tcp)
            tcp.Disconnect(new NvmeTcpException(NvmeTcpError.Disconnected, $"{Address} queue {pair.Id} was deleted: create a new queue pair."));
    }

    internal override void StopForReset(ControllerRegisterState registers)
    {
        if (_associationFailure is null && _admin is not null)
        {
            try
            {
                registers.Disable();   // a live controller is told first, so it stops working on what it has
            }
            catch (Exception e) when (e is NvmeControllerException or NvmeException or NvmeTcpException)
            {
                // It is going away anyway: the connections close below.
            }
        }
        var reason = new NvmeTcpException(NvmeTcpError.Disconnected, $"{Address}: the controller is being reset; the command was not completed by the old association.");
        lock (_pairsLock)
        {
            foreach (TcpQueuePair pair in _ioPairs)
                pair.Disconnect(reason);
        }
        _adminPair?.Disconnect(reason);
        _associationFailure ??= reason;
    }

    /// <summary>Called by a queue pair whose connection failed: the whole association is lost; wake every other connection's owner.</summary>
    internal void OnAssociationFailed(NvmeTcpException failure)
    {
        if (_associationFailure is not null)
            return;
        _associationFailure = failure;
        TraceFatal("NVMe/TCP", ControllerStatus.Fatal, $"{failure.Error}: {failure.Message}");
        lock (_pairsLock)
        {
            foreach (TcpQueuePair pair in _ioPairs)
                pair.ShutdownFromOtherThread();
        }
        _adminPair?.ShutdownFromOtherThread();
    }

    internal void CountDataDigestError() => Interlocked.Increment(ref _dataDigestErrors);

    /// <summary>A queue pair is gone (disposed).</summary>
    internal void Forget(TcpQueuePair pair)
    {
        lock (_pairsLock)
            _ioPairs.Remove(pair);
        if (pair == _adminPair)
            _adminPair = null;
    }

    private ulong GetProperty(int offset, bool eightBytes)
    {
        CheckOffset(offset, eightBytes);
        AdminQueue admin = _admin ?? throw new InvalidOperationException($"{Address}: properties are read through the admin queue, which is not connected yet.");
        if (_associationFailure is { } lost)
            return offset == ControllerRegisters.Csts ? ControllerStatus.Fatal : throw Lost(lost, offset);
        try
        {
            CompletionEntry cqe = admin.Execute(FabricsCommands.PropertyGet(offset, eightBytes));
            return cqe.Result | ((ulong)cqe.Dw1 << 32);
        }
        catch (NvmeException e) when (e.Status.TypeAndCode == NvmeStatus.HostPathingError.TypeAndCode && offset == ControllerRegisters.Csts)
        {
            return ControllerStatus.Fatal;   // the association failed under this read: the controller is gone for this host
        }
    }

    private void SetProperty(int offset, ulong value, bool eightBytes)
    {
        CheckOffset(offset, eightBytes);
        AdminQueue admin = _admin ?? throw new InvalidOperationException($"{Address}: properties are written through the admin queue, which is not connected yet.");
        if (_associationFailure is { } lost)
            throw Lost(lost, offset);
        admin.Execute(FabricsCommands.PropertySet(offset, value, eightBytes));
    }

    private NvmeControllerException Lost(NvmeTcpException lost, int offset) => new(
        $"{Address}: cannot access property 0x{offset:X2}: the association failed: {lost.Message}", ControllerStatus.Fatal, fatal: true);

    private void CheckOffset(int offset, bool eightBytes)
    {
        int width = eightBytes ? 8 : 4;
        if (offset < 0 || offset % width != 0 || offset > 0x1000 - width)
            throw new ArgumentOutOfRangeException(nameof(offset), $"Property offset 0x{offset:X} is not a {width * 8}-bit property of {Address} (aligned, below 1000h).");
    }

    private void CheckConnect(in CompletionEntry cqe, ushort qid, TcpQueuePair pair)
    {
        var status = new NvmeStatus(cqe.Status);
        if (status.IsSuccess)
            return;
        var e = new NvmeTcpException(NvmeTcpError.ConnectRejected,
            $"{Address}: the Fabrics Connect of {(qid == 0 ? "the admin queue" : $"I/O queue {qid}")} was refused: "
            + $"{FabricsCommands.DescribeConnectFailure(status, cqe.Result, Options.SubsystemNqn, HostNqn)}.");
        pair.Disconnect(e);
        throw e;
    }

    /// <summary>IOCCSZ × 16 − 64 bytes of in-capsule data for I/O commands (Identify Controller; 0 when ICDOFF is not 0: data then goes by R2T).</summary>
    private static int ReadInCapsuleBytes(AdminQueue admin, TcpQueuePair pair)
    {
        using DmaBuffer page = pair.Memory.Allocate(IdentifyController.Size);
        admin.Execute(AdminCommandBuilder.Identify(IdentifyCns.Controller, 0), page);
        IdentifyController id = MemoryMarshal.Read<IdentifyController>(page.Span);
        if (id.Icdoff != 0 || id.Ioccsz < 4)
            return 0;
        return (int)Math.Min(int.MaxValue, id.Ioccsz * 16L - SubmissionEntry.Size);
    }

    private static IPEndPoint Resolve(NvmeTcpOptions options)
    {
        if (IPAddress.TryParse(options.Host, out IPAddress? ip))
            return new IPEndPoint(ip, options.Port);
        try
        {
            IPAddress[] all = Dns.GetHostAddresses(options.Host);
            IPAddress? chosen = all.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? all.FirstOrDefault();
            if (chosen is null)
                throw new NvmeTcpException(NvmeTcpError.ConnectFailed, $"Host name '{options.Host}' resolves to no address.");
            return new IPEndPoint(chosen, options.Port);
        }
        catch (SocketException e)
        {
            throw new NvmeTcpException(NvmeTcpError.ConnectFailed, $"Host name '{options.Host}' does not resolve: {e.Message}. Use an IP address or a resolvable name.", inner: e);
        }
    }

    /// <summary>Closes the connections the driver did not close (normally the controller disposes its queue pairs first).</summary>
    protected override void Dispose(bool disposing)
    {
        var reason = new NvmeTcpException(NvmeTcpError.Disconnected, $"{Address}: the transport was disposed.");
        lock (_pairsLock)
            foreach (TcpQueuePair pair in _ioPairs)
                pair.ShutdownFromOtherThread();
        _adminPair?.ShutdownFromOtherThread();
        _associationFailure ??= reason;
    }
}
