using System.Runtime.InteropServices;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;
using PolledNvme.Tests.Driver.Memory;

namespace PolledNvme.Tests.Driver.Transport;

/// <summary>
/// A transport shaped like NVMe over Fabrics, with no register window, no rings and no PRPs:
/// properties live in fields and change only through Get/Set (the controller's CC/CSTS state
/// machine answers them), a queue pair hands each submitted request to a tiny in-memory
/// controller that moves data through the request's descriptor (<see cref="NvmeRequest.Data"/>),
/// and every step the driver takes is logged so tests can check the order (admin queue
/// connected before the first property read, I/O queues connected and disconnected). Anything
/// that would only work on PCIe — a PRP, MPTR, a register read before connect — is recorded as a
/// violation.
/// </summary>
internal sealed class PropertyOnlyTransport : NvmeTransport
{
    public const int BlockSize = 512;
    public const long Blocks = 2048;

    private readonly FakeMapper _mapper = new();
    private readonly byte[] _media = new byte[BlockSize * Blocks];
    private bool _adminConnected;
    private uint _cc;
    private uint _csts;

    /// <summary>Every transport call the driver made, in order (e.g. "connect-admin", "get CSTS", "connect-io 1").</summary>
    public List<string> Calls { get; } = [];

    /// <summary>Things a fabrics transport could not do (a PRP in a command, a property read before the admin queue was connected).</summary>
    public List<string> Violations { get; } = [];

    /// <summary>Every command the controller received, with its queue id.</summary>
    public List<(ushort Queue, SubmissionEntry Command)> Commands { get; } = [];

    /// <summary>What <see cref="FatalReason"/> reports while CSTS.CFS is set.</summary>
    public string? Failure { get; private set; }

    /// <summary>What the transport carries per command at most (Transport.MaxTransferBytes).</summary>
    public int TransferLimit { get; init; } = int.MaxValue;

    public override string Address => "fake:property-only";

    public override DmaAllocatorOptions DefaultMemoryOptions => new() { AllowNonHugepageFallback = true };

    public override int MaxTransferBytes => TransferLimit;

    public override string? FatalReason => (_csts & ControllerStatus.Fatal) != 0 ? Failure : null;

    public override string? DescribeFailure(ushort queueId, ushort commandId) => $"fake detail for queue {queueId} command {commandId}";

    /// <summary>Sets CSTS.CFS, as a target that sent a termination request would be reported.</summary>
    public void Fail(string reason)
    {
        Failure = reason;
        _csts |= ControllerStatus.Fatal;
    }

    public override uint GetProperty32(int offset)
    {
        Calls.Add($"get {Name(offset)}");
        if (!_adminConnected)
            Violations.Add($"property {Name(offset)} read before the admin queue was connected");
        return offset switch
        {
            ControllerRegisters.Cc => _cc,
            ControllerRegisters.Csts => _csts,
            ControllerRegisters.Vs => 0x0001_0300,
            _ => 0,
        };
    }

    /// <summary>The association's view of CSTS: no Property Get, as a fabrics transport would answer a health check.</summary>
    internal override uint StatusWhilePolling()
    {
        Calls.Add("poll-status");
        return _csts;
    }

    public override ulong GetProperty64(int offset)
    {
        Calls.Add($"get {Name(offset)}");
        if (!_adminConnected)
            Violations.Add($"property {Name(offset)} read before the admin queue was connected");
        return offset == ControllerRegisters.Cap
            ? ControllerCapabilities.Create(mqes: 127, cqr: true, to: 2, dstrd: 0, css: 1, mpsmin: 0, mpsmax: 0).Value
            : 0;
    }

    public override void SetProperty32(int offset, uint value)
    {
        Calls.Add($"set {Name(offset)} 0x{value:X}");
        if (offset != ControllerRegisters.Cc)
        {
            Violations.Add($"property {Name(offset)} written: fabrics controllers have no admin queue registers");
            return;
        }
        _cc = value;
        if ((value & ControllerConfiguration.Enable) == 0)
            _csts = 0;   // a reset clears RDY, CFS and SHST
        else if ((_csts & ControllerStatus.Fatal) == 0)
            _csts |= ControllerStatus.Ready;
        if (((value >> ControllerConfiguration.ShnShift) & 3) == 1)
            _csts = (_csts & ~(ControllerStatus.ShstMask << ControllerStatus.ShstShift)) | (2u << ControllerStatus.ShstShift);
    }

    public override void SetProperty64(int offset, ulong value)
    {
        Calls.Add($"set {Name(offset)} 0x{value:X}");
        Violations.Add($"64-bit property {Name(offset)} written: fabrics controllers have no admin queue registers");
    }

    public override ulong Map(nint address, nuint length) => _mapper.Map(address, length);

    public override void Unmap(ulong iova, nuint length) => _mapper.Unmap(iova, length);

    internal override TransportQueuePair CreateAdminQueuePair(in QueuePairSettings settings)
    {
        Calls.Add("create-admin");
        return new Pair(this, 0, Math.Min(settings.Entries, 32) - 1);
    }

    internal override void ConnectAdminQueue(AdminQueue admin)
    {
        Calls.Add("connect-admin");
        _adminConnected = true;
    }

    internal override void BeforeEnable(TransportQueuePair admin) => Calls.Add("before-enable");

    internal override TransportQueuePair CreateIoQueuePair(in QueuePairSettings settings)
    {
        Calls.Add($"create-io {settings.Id}");
        return new Pair(this, settings.Id, settings.Entries - 1);
    }

    internal override void ConnectIoQueuePair(TransportQueuePair pair, AdminQueue admin)
    {
        Calls.Add($"connect-io {pair.Id}");
        pair.ResetAfterControllerReset();   // a new connection: nothing of the old one is pending
        if ((_csts & ControllerStatus.Ready) == 0)
            Violations.Add($"I/O queue {pair.Id} connected while the controller is not ready");
    }

    internal override void DisconnectIoQueuePair(TransportQueuePair pair, AdminQueue admin) => Calls.Add($"disconnect-io {pair.Id}");

    protected override void Dispose(bool disposing) => Calls.Add("dispose");

    private static string Name(int offset) => offset switch
    {
        ControllerRegisters.Cap => "CAP",
        ControllerRegisters.Vs => "VS",
        ControllerRegisters.Cc => "CC",
        ControllerRegisters.Csts => "CSTS",
        ControllerRegisters.Aqa => "AQA",
        ControllerRegisters.Asq => "ASQ",
        ControllerRegisters.Acq => "ACQ",
        _ => $"0x{offset:X}",
    };

    /// <summary>Runs one command against the in-memory controller; returns (status, DW0).</summary>
    private (NvmeStatus Status, uint Result) Execute(ushort queue, NvmeRequest request)
    {
        ref SubmissionEntry c = ref request.Command;
        Commands.Add((queue, c));
        if (c.Prp1 != 0 || c.Prp2 != 0 || c.MetadataPointer != 0)
            Violations.Add($"queue {queue} command {c.Opcode:X2}h carried PRP1 0x{c.Prp1:X}, PRP2 0x{c.Prp2:X}, MPTR 0x{c.MetadataPointer:X}");
        if ((_csts & ControllerStatus.Ready) == 0 || (_csts & ControllerStatus.Fatal) != 0)
            return (NvmeStatus.CommandSequenceError, 0);
        Span<byte> data = request.Data is { } buffer ? buffer.Span.Slice(request.DataOffset, request.DataLength) : default;
        return queue == 0 ? Admin(ref c, data) : Io(ref c, data);
    }

    private static (NvmeStatus, uint) Admin(ref SubmissionEntry c, Span<byte> data)
    {
        switch ((AdminOpcode)c.Opcode)
        {
            case AdminOpcode.Identify when (c.Cdw10 & 0xFF) == (uint)IdentifyCns.Controller:
                var id = new IdentifyController { Mdts = 5, Nn = 1, Sqes = 0x66, Cqes = 0x44 };
                id.SetModelNumber("property-only fake");
                id.SetSerialNumber("FAKE0001");
                data.Clear();
                MemoryMarshal.Write(data, in id);
                return (NvmeStatus.Success, 0);
            case AdminOpcode.Identify when (c.Cdw10 & 0xFF) == (uint)IdentifyCns.ActiveNamespaceList:
                data.Clear();
                MemoryMarshal.Write(data, 1u);
                return (NvmeStatus.Success, 0);
            case AdminOpcode.Identify when (c.Cdw10 & 0xFF) == (uint)IdentifyCns.Namespace && c.NamespaceId == 1:
                var ns = new IdentifyNamespace { Nsze = Blocks, Ncap = Blocks, Nuse = Blocks };
                ns.SetLbaFormat(0, LbaFormat.Create(metadataSize: 0, dataSizeShift: 9));
                data.Clear();
                MemoryMarshal.Write(data, in ns);
                return (NvmeStatus.Success, 0);
            case AdminOpcode.SetFeatures when (c.Cdw10 & 0xFF) == (uint)FeatureId.NumberOfQueues:
                return (NvmeStatus.Success, 3u | (3u << 16));   // 4 I/O queue pairs
            default:
                return (NvmeStatus.InvalidCommandOpcode, 0);
        }
    }

    private (NvmeStatus, uint) Io(ref SubmissionEntry c, Span<byte> data)
    {
        long slba = (long)(c.Cdw10 | ((ulong)c.Cdw11 << 32));
        int blocks = (int)(c.Cdw12 & 0xFFFF) + 1;
        if (c.NamespaceId != 1)
            return (NvmeStatus.InvalidNamespaceOrFormat, 0);
        switch ((NvmOpcode)c.Opcode)
        {
            case NvmOpcode.Flush:
                return (NvmeStatus.Success, 0);
            case NvmOpcode.Write when data.Length == blocks * BlockSize:
                data.CopyTo(_media.AsSpan((int)(slba * BlockSize), data.Length));
                return (NvmeStatus.Success, 0);
            case NvmOpcode.Read when data.Length == blocks * BlockSize:
                _media.AsSpan((int)(slba * BlockSize), data.Length).CopyTo(data);
                return (NvmeStatus.Success, 0);
            default:
                return (NvmeStatus.InvalidField, 0);
        }
    }

    /// <summary>A queue pair that queues submitted requests and completes them when polled (like a socket that received the responses).</summary>
    private sealed class Pair(PropertyOnlyTransport transport, ushort id, int depth) : TransportQueuePair(id, depth)
    {
        private readonly Queue<NvmeRequest> _sent = new();
        private readonly List<NvmeRequest> _unpublished = [];

        internal override void Submit(NvmeRequest request, bool publish)
        {
            CheckSubmit(request);
            request.Command.CommandId = request.CommandId;
            Track(request);
            _unpublished.Add(request);
            if (publish)
                Flush();
        }

        public override void Flush()
        {
            foreach (NvmeRequest r in _unpublished)
                _sent.Enqueue(r);
            _unpublished.Clear();
        }

        public override int ProcessCompletions(int max = int.MaxValue)
        {
            int reaped = 0;
            if ((transport._csts & ControllerStatus.Fatal) != 0)
                return 0;   // a dead target answers nothing
            while (reaped < max && _sent.TryDequeue(out NvmeRequest? request))
            {
                (NvmeStatus status, uint result) = transport.Execute(Id, request);
                var cqe = new CompletionEntry { SqId = Id, CommandId = request.CommandId, Result = result, StatusAndPhase = (ushort)(status.Value << 1) };
                Untrack(in cqe).OnCompleted(in cqe);
                reaped++;
            }
            return reaped;
        }

        internal override void ResetAfterControllerReset()
        {
            _sent.Clear();
            _unpublished.Clear();
        }
    }
}
