using System.Runtime.InteropServices;
using PolledNvme.Driver.Pcie;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation;

/// <summary>Page-aligned host memory mapped into the controller's DMA space.</summary>
internal sealed unsafe class DmaBuffer(byte* pointer, int length, ulong iova)
{
    public byte* Pointer { get; } = pointer;
    public int Length { get; } = length;
    public ulong Iova { get; } = iova;
    public Span<byte> Span => new(Pointer, Length);
}

/// <summary>One host-side queue pair: rings, tail/head shadows and the expected phase.</summary>
internal sealed unsafe class HostQueuePair(ushort id, int entries, DmaBuffer sq, DmaBuffer cq)
{
    public ushort Id { get; } = id;
    public int Entries { get; } = entries;
    public DmaBuffer Sq { get; } = sq;
    public DmaBuffer Cq { get; } = cq;
    public int SqTail;
    public int CqHead;
    public bool Phase = true;
    public ushort NextCommandId;
}

/// <summary>
/// A tiny host for conformance tests: writes registers, puts raw submission entries into mapped
/// rings, rings doorbells, steps the inline controller and reaps completions by phase tag.
/// </summary>
internal sealed unsafe class TestHost : IDisposable
{
    private readonly List<DmaBuffer> _buffers = [];
    private readonly HostQueuePair?[] _queues = new HostQueuePair?[1025];

    public TestHost(EmulatedControllerOptions options)
    {
        Controller = EmulatedController.Create(options);
        Transport = Controller.Transport;
        Stride = Registers.Read64(ControllerRegisters.Cap) is var cap ? new ControllerCapabilities(cap).Dstrd : 0;
    }

    /// <summary>An inline controller over one RAM namespace with the given settings.</summary>
    public static TestHost Create(Action<EmulatedNamespaceOptions>? configure = null, Action<EmulatedControllerOptions>? controller = null)
    {
        var ns = new EmulatedNamespaceOptions { BlockSize = 512, CapacityBytes = 1 << 20 };
        configure?.Invoke(ns);
        var options = new EmulatedControllerOptions { Mode = EmulatedControllerMode.Inline, Namespaces = [ns] };
        controller?.Invoke(options);
        return new TestHost(options);
    }

    public EmulatedController Controller { get; }
    public NvmeTransport Transport { get; }
    public RegisterWindow Registers => ((PcieTransport)Transport).Registers;
    public int Stride { get; }
    public HostQueuePair AdminQueue => _queues[0] ?? throw new InvalidOperationException("enable the controller first");

    public DmaBuffer Alloc(int bytes)
    {
        int length = (Math.Max(bytes, 1) + 4095) & ~4095;
        byte* p = (byte*)NativeMemory.AlignedAlloc((nuint)length, 4096);
        NativeMemory.Clear(p, (nuint)length);
        var buffer = new DmaBuffer(p, length, Transport.Map((nint)p, (nuint)length));
        _buffers.Add(buffer);
        return buffer;
    }

    /// <summary>Like <see cref="Alloc"/>, starting at an IOVA aligned to <paramref name="alignment"/> (a memory page above 4 KiB).</summary>
    public DmaBuffer AllocAligned(int bytes, int alignment)
    {
        var raw = Alloc(bytes + alignment);
        int offset = (int)((ulong)(alignment - (long)(raw.Iova % (ulong)alignment)) % (ulong)alignment);
        return new DmaBuffer(raw.Pointer + offset, bytes, raw.Iova + (ulong)offset);
    }

    /// <summary>The memory page size CC.MPS selects (capped at CAP.MPSMAX's 64 KiB, for rings of enables that must fail).</summary>
    private static int PageSize(uint cc) => 4096 << (int)Math.Min((cc >> ControllerConfiguration.MpsShift) & 0xF, 4);

    public uint Csts => Registers.Read32(ControllerRegisters.Csts);

    /// <summary>
    /// Gives the device a pass, as the host's polling does through the inline binding (skipped
    /// while another thread runs one; nothing after Dispose). A threaded controller runs by itself.
    /// </summary>
    public void Progress()
    {
        if (Controller.Mode == EmulatedControllerMode.Inline)
            Controller.Core.TryStepInline();
        else
            Controller.Core.DeviceWake?.Wake();   // the raw register writes here bypass the transport's wake-up
    }

    /// <summary>Programs AQA/ASQ/ACQ (rings aligned to the memory page size) and CC, steps once; returns CSTS.</summary>
    public uint Enable(int adminEntries = 16, uint? cc = null)
    {
        int page = PageSize(cc ?? DefaultCc);
        var sq = AllocAligned(adminEntries * SubmissionEntry.Size, page);
        var cq = AllocAligned(adminEntries * CompletionEntry.Size, page);
        _queues[0] = new HostQueuePair(0, adminEntries, sq, cq);
        Registers.Write32(ControllerRegisters.Aqa, (uint)(adminEntries - 1) | ((uint)(adminEntries - 1) << 16));
        Registers.Write64(ControllerRegisters.Asq, sq.Iova);
        Registers.Write64(ControllerRegisters.Acq, cq.Iova);
        Registers.Write32(ControllerRegisters.Cc, cc ?? DefaultCc);
        Progress();
        return Csts;
    }

    public const uint DefaultCc = ControllerConfiguration.Enable | (6u << ControllerConfiguration.IosqesShift) | (4u << ControllerConfiguration.IocqesShift);

    public void Disable()
    {
        Registers.Write32(ControllerRegisters.Cc, Registers.Read32(ControllerRegisters.Cc) & ~ControllerConfiguration.Enable);
        Progress();
        Array.Clear(_queues, 1, _queues.Length - 1);
    }

    /// <summary>Places <paramref name="command"/> in the queue and rings the tail doorbell (no stepping).</summary>
    public ushort Submit(HostQueuePair q, SubmissionEntry command, bool ring = true)
    {
        command.CommandId = q.NextCommandId++;
        ((SubmissionEntry*)q.Sq.Pointer)[q.SqTail] = command;
        q.SqTail = (q.SqTail + 1) % q.Entries;
        if (ring)
            RingSq(q);
        return command.CommandId;
    }

    public void RingSq(HostQueuePair q) => Registers.Write32(ControllerRegisters.SqTailDoorbell(q.Id, Stride), (uint)q.SqTail);

    /// <summary>The next completion if its phase matches, consuming it and ringing the CQ head doorbell.</summary>
    public bool TryReap(HostQueuePair q, out CompletionEntry completion)
    {
        CompletionEntry* entry = (CompletionEntry*)q.Cq.Pointer + q.CqHead;
        completion = default;
        if (((Volatile.Read(ref entry->StatusAndPhase) & 1) != 0) != q.Phase)
            return false;
        completion = *entry;
        if (++q.CqHead == q.Entries)
        {
            q.CqHead = 0;
            q.Phase = !q.Phase;
        }
        Registers.Write32(ControllerRegisters.CqHeadDoorbell(q.Id, Stride), (uint)q.CqHead);
        return true;
    }

    /// <summary>
    /// Steps (Progress) until a completion arrives. An inline controller stepped by this thread
    /// alone runs a pass on every call, so a few thousand calls without a completion is a hang.
    /// When a device thread, or other host threads, run the passes, a busy machine may not let
    /// them run for a while: after <paramref name="maxSteps"/> calls the limit is a generous 30 s.
    /// </summary>
    public CompletionEntry Reap(HostQueuePair q, int maxSteps = 10_000)
    {
        System.Diagnostics.Stopwatch? patience = null;
        for (int i = 0; ; i++)
        {
            if (TryReap(q, out var completion))
                return completion;
            Progress();
            if (i >= maxSteps)
            {
                patience ??= System.Diagnostics.Stopwatch.StartNew();
                if (patience.Elapsed > TimeSpan.FromSeconds(30))
                    throw new TimeoutException($"no completion on queue {q.Id}");
                Thread.Sleep(1);
            }
            else if (Controller.Mode == EmulatedControllerMode.Threaded)
                Thread.Yield();
        }
    }

    public CompletionEntry Execute(HostQueuePair q, SubmissionEntry command)
    {
        ushort cid = Submit(q, command);
        var completion = Reap(q);
        if (completion.CommandId != cid)
            throw new InvalidOperationException($"completion for command {completion.CommandId}, expected {cid}");
        return completion;
    }

    public CompletionEntry Admin(SubmissionEntry command) => Execute(AdminQueue, command);

    public static SubmissionEntry Command(byte opcode, uint nsid = 0) => new() { Opcode = opcode, NamespaceId = nsid };

    /// <summary>Creates I/O CQ and SQ <paramref name="qid"/>; throws on an error status.</summary>
    public HostQueuePair CreateQueuePair(ushort qid, int entries = 16)
    {
        int page = PageSize(Registers.Read32(ControllerRegisters.Cc));
        var sq = AllocAligned(entries * SubmissionEntry.Size, page);
        var cq = AllocAligned(entries * CompletionEntry.Size, page);
        var c = Command((byte)AdminOpcode.CreateIoCompletionQueue);
        c.Prp1 = cq.Iova;
        c.Cdw10 = qid | ((uint)(entries - 1) << 16);
        c.Cdw11 = 1;
        Expect(Admin(c), NvmeStatus.Success, "create CQ");
        c = Command((byte)AdminOpcode.CreateIoSubmissionQueue);
        c.Prp1 = sq.Iova;
        c.Cdw10 = qid | ((uint)(entries - 1) << 16);
        c.Cdw11 = 1 | ((uint)qid << 16);
        Expect(Admin(c), NvmeStatus.Success, "create SQ");
        return _queues[qid] = new HostQueuePair(qid, entries, sq, cq);
    }

    /// <summary>Enables the controller and creates I/O queue pair 1.</summary>
    public HostQueuePair Start(int entries = 16)
    {
        if ((Enable() & ControllerStatus.Ready) == 0)
            throw new InvalidOperationException($"controller not ready: {Controller.LastEnableError}");
        return CreateQueuePair(1, entries);
    }

    public static void Expect(CompletionEntry completion, NvmeStatus expected, string what)
    {
        if (completion.Status != expected.Value)
            throw new InvalidOperationException($"{what}: got {new NvmeStatus(completion.Status)}, expected {expected}");
    }

    /// <summary>Identify into a fresh buffer.</summary>
    public (CompletionEntry Completion, DmaBuffer Page) Identify(byte cns, uint nsid = 0, byte csi = 0)
    {
        var page = Alloc(4096);
        var c = Command((byte)AdminOpcode.Identify, nsid);
        c.Prp1 = page.Iova;
        c.Cdw10 = cns;
        c.Cdw11 = (uint)csi << 24;
        return (Admin(c), page);
    }

    /// <summary>Sets Host Behavior Support LBAFEE.</summary>
    public void EnableExtendedFormats()
    {
        var buffer = Alloc(512);
        buffer.Span[2] = 1;
        var c = Command((byte)AdminOpcode.SetFeatures);
        c.Cdw10 = (uint)FeatureId.HostBehaviorSupport;
        c.Prp1 = buffer.Iova;
        Expect(Admin(c), NvmeStatus.Success, "set LBAFEE");
    }

    /// <summary>A Read/Write-shaped command.</summary>
    public static SubmissionEntry Rw(NvmOpcode opcode, ulong slba, int blocks, ulong prp1, ulong prp2 = 0, uint nsid = 1, uint cdw12Flags = 0)
        => new()
        {
            Opcode = (byte)opcode,
            NamespaceId = nsid,
            Prp1 = prp1,
            Prp2 = prp2,
            Cdw10 = (uint)slba,
            Cdw11 = (uint)(slba >> 32),
            Cdw12 = (uint)(blocks - 1) | cdw12Flags,
        };

    public void Dispose()
    {
        Controller.Dispose();
        foreach (var b in _buffers)
            NativeMemory.AlignedFree(b.Pointer);
    }
}
