using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace PolledNvme.Tests.Driver.Tcp;

/// <summary>A fault the scripted target plays once, on the next I/O command with the armed opcode.</summary>
public enum PeerFault
{
    None,
    /// <summary>Close the connection (FIN) instead of answering: the target went away mid-I/O.</summary>
    CloseConnection,
    /// <summary>Abort the connection (RST).</summary>
    ResetConnection,
    /// <summary>Answer with a PDU of an unknown type.</summary>
    MalformedHeader,
    /// <summary>Send 10 bytes of a response capsule, then close.</summary>
    TruncatedResponse,
    /// <summary>Flip a bit of the C2HData data digest (the data itself is right).</summary>
    CorruptDataDigest,
    /// <summary>Flip a bit of the response's header digest.</summary>
    CorruptHeaderDigest,
    /// <summary>Send a C2HTermReq (FES 02h) instead of answering.</summary>
    TermReq,
    /// <summary>Answer with a response for a command id that is not outstanding.</summary>
    UnknownCommandId,
    /// <summary>Send C2HData that runs past the command's data.</summary>
    DataOutOfRange,
    /// <summary>Never answer.</summary>
    NoResponse,
    /// <summary>Send the read data, then an error response while... (reads: response with an error status).</summary>
    ErrorStatus,
}

/// <summary>What the host's Connect carried, as the target saw it.</summary>
internal sealed record ConnectRecord(ushort Qid, ushort SqSize, byte Attributes, uint Kato, ushort ControllerId, Guid HostId, string SubsystemNqn, string HostNqn);

/// <summary>
/// A tiny in-process NVMe/TCP target on 127.0.0.1 for unit tests: it speaks the PDU format
/// (encoded here by hand, independently of the driver's codec), runs a RAM namespace, the
/// Fabrics Connect/Property commands, Identify, Set/Get Features, Keep Alive, the discovery log,
/// and plays scripted faults. One thread per connection, blocking sockets. A test fixture, not
/// the target the transport is proven against (that is Linux nvmet, scripts/fabrics-test.sh).
/// Like Linux nvmet it never sends an R2T for a write that fits its in-capsule size (the host
/// must send such data in-capsule; the command then hangs, counted in <see cref="HungWrites"/>).
/// </summary>
internal sealed partial class ScriptedTcpTarget : IDisposable
{
    public const string Nqn = "nqn.2024-01.io.polled-nvme:scripted";
    public const string DiscoveryNqn = "nqn.2014-08.org.nvmexpress.discovery";

    private readonly object _lock = new();
    private readonly List<Socket> _sockets = new();
    private readonly List<Thread> _threads = new();
    private readonly Dictionary<ushort, ControllerState> _controllers = new();
    private TcpListener? _listener;
    private Thread? _acceptThread;
    private ushort _nextControllerId = 1;
    private volatile bool _disposed;
    private PeerFault _fault;
    private byte _faultOpcode;

    public ScriptedTcpTarget(long blocks = 2048, int blockSize = 512)
    {
        BlockSize = blockSize;
        Blocks = blocks;
        Media = new byte[blocks * blockSize];
        Listen(0);
    }

    public int Port { get; private set; }
    public int BlockSize { get; }
    public long Blocks { get; }
    public byte[] Media { get; }

    /// <summary>In-capsule data of I/O commands (IOCCSZ = (64 + this) / 16); nvmet's default is 16 KiB.</summary>
    public int InCapsuleBytes { get; set; } = 16384;
    public uint MaxH2CData { get; set; } = 0x400000;
    public byte Cpda { get; set; }
    /// <summary>Split each read's data into C2HData PDUs of this many bytes (0: one PDU).</summary>
    public int C2HChunk { get; set; }
    /// <summary>Ask for a write's data with R2Ts of at most this many bytes (0: one R2T).</summary>
    public int R2TChunk { get; set; }
    public bool IgnoreKeepAlive { get; set; }
    /// <summary>Accept and close at once (QEMU user networking before the guest listens).</summary>
    public bool AcceptAndClose { get; set; }
    /// <summary>Answer the ICReq with this PDU format version.</summary>
    public ushort IcRespPfv { get; set; }
    /// <summary>Enable no digest in the ICResp, whatever the host asked for.</summary>
    public bool RefuseDigests { get; set; }
    public string? AllowedHostNqn { get; set; }
    /// <summary>Granted I/O queues (Set Features Number of Queues).</summary>
    public int MaxIoQueues { get; set; } = 8;

    public ConcurrentQueue<ConnectRecord> Connects { get; } = new();
    public ConcurrentQueue<(byte Fes, uint Fei)> TermReqs { get; } = new();
    public int KeepAlives => Volatile.Read(ref _keepAlives);
    public int InCapsuleWrites => Volatile.Read(ref _inCapsuleWrites);
    public int R2TWrites => Volatile.Read(ref _r2tWrites);
    public int H2CDataPdus => Volatile.Read(ref _h2cDataPdus);
    public int HungWrites => Volatile.Read(ref _hungWrites);
    public int Commands => Volatile.Read(ref _commands);
    /// <summary>Response capsules sent (all of them on the wire when it counts up).</summary>
    public int Responses => Volatile.Read(ref _responses);
    public string DeviceString(string keys = "") => $"tcp:127.0.0.1:{Port}/{Nqn}{(keys.Length == 0 ? "" : "," + keys)}";

    private int _keepAlives, _inCapsuleWrites, _r2tWrites, _h2cDataPdus, _hungWrites, _commands, _responses;

    /// <summary>Plays <paramref name="fault"/> once, on the next I/O command with <paramref name="opcode"/> (Read by default).</summary>
    public void Arm(PeerFault fault, byte opcode = 0x02)
    {
        lock (_lock)
        {
            _faultOpcode = opcode;
            _fault = fault;
        }
    }

    private PeerFault TakeFault(byte opcode)
    {
        lock (_lock)
        {
            if (_fault == PeerFault.None || opcode != _faultOpcode)
                return PeerFault.None;
            PeerFault f = _fault;
            _fault = PeerFault.None;
            return f;
        }
    }

    /// <summary>Stops accepting connections (the port refuses) and closes every open one, like a removed nvmet port.</summary>
    public void StopListening(bool closeConnections = true)
    {
        lock (_lock)
        {
            _listener?.Stop();
            _listener = null;
            if (closeConnections)
                foreach (Socket s in _sockets)
                    s.Close();
        }
        _acceptThread?.Join();
    }

    /// <summary>Listens again on the same port.</summary>
    public void StartListening() => Listen(Port);

    /// <summary>Closes every connection (the association ends; the port stays).</summary>
    public void CloseConnections()
    {
        lock (_lock)
            foreach (Socket s in _sockets)
                s.Close();
    }

    private void Listen(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        lock (_lock)
            _listener = listener;
        _acceptThread = new Thread(() => AcceptLoop(listener)) { IsBackground = true, Name = "scripted-target-accept" };
        _acceptThread.Start();
    }

    private void AcceptLoop(TcpListener listener)
    {
        while (!_disposed)
        {
            Socket socket;
            try
            {
                socket = listener.AcceptSocket();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            if (AcceptAndClose)
            {
                socket.Close();
                continue;
            }
            socket.NoDelay = true;
            var thread = new Thread(() => Serve(socket)) { IsBackground = true, Name = "scripted-target-conn" };
            lock (_lock)
            {
                _sockets.Add(socket);
                _threads.Add(thread);
            }
            thread.Start();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        StopListening();
        Thread[] threads;
        lock (_lock)
            threads = _threads.ToArray();
        foreach (Thread t in threads)
            t.Join(TimeSpan.FromSeconds(10));
    }

    private sealed class ControllerState
    {
        public ushort Id;
        public uint Cc;
        public uint Csts;
        public bool Discovery;
    }
}
