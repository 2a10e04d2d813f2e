using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Pcie;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;
using PolledNvme.Tests.Driver.Memory;

namespace PolledNvme.Tests.Driver.Pcie;

/// <summary>The PCIe queue pair: rings, phase tags, doorbells and the tracker table against an in-test device, with the driver's request pool on top.</summary>
public class PcieQueuePairTests
{
    private sealed class TestRequest : NvmeRequest
    {
        public readonly List<(ushort Cid, ushort Status, uint Result)> Log;
        public NvmeRequestPool<TestRequest>? Pool;
        public TestRequest(ushort id, List<(ushort, ushort, uint)> log) : base(id) => Log = log;
        protected internal override void OnCompleted(in CompletionEntry completion)
        {
            Log.Add((completion.CommandId, completion.Status, completion.Result));
            Pool!.Return(this);
        }
    }

    /// <summary>The PCIe queue pair and the driver-side pool sized to its depth, as IoQueuePair holds them.</summary>
    private sealed class Harness(PcieQueuePair wire, NvmeRequestPool<TestRequest> pool)
    {
        public PcieQueuePair Wire { get; } = wire;
        public int Depth => Wire.Depth;
        public int InFlight => Wire.InFlight;
        public int AvailableRequests => pool.Available;
        public CompletionQueue Completion => Wire.Rings.Completion;
        public TestRequest? TryRent() => pool.TryRent();
        public TestRequest Rent() => pool.Rent();
        public void Submit(TestRequest r, bool ringDoorbell = true) => Wire.Submit(r, ringDoorbell);
        public void RingDoorbell() => Wire.Flush();
        public int ProcessCompletions(int max = int.MaxValue) => Wire.ProcessCompletions(max);
        public int FailInFlight(ushort status) => Wire.FailInFlight(status);
    }

    private FakeMapper _mapper = null!;
    private FakeRegisters _regs = null!;
    private DmaAllocator _memory = null!;
    private PcieTransport _transport = null!;

    [SetUp]
    public void SetUp()
    {
        _mapper = new FakeMapper();
        _regs = new FakeRegisters();
        _memory = new DmaAllocator(_mapper, new DmaAllocatorOptions { AllowNonHugepageFallback = true });
        // CAP.DSTRD 0: doorbells at 0x1000 + 8 * qid (tail) and + 4 (head), as FakeRegisters lays them out.
        _regs.Window.Write64(ControllerRegisters.Cap, ControllerCapabilities.Create(mqes: 255, cqr: true, to: 1, dstrd: 0, css: 1, mpsmin: 0, mpsmax: 0).Value);
        _transport = new PcieTransport(_regs.Window, _mapper, "test:pcie");
    }

    [TearDown]
    public void TearDown()
    {
        _memory.Dispose();
        _regs.Dispose();
    }

    private (Harness Pair, FakeQueueDevice Device, List<(ushort, ushort, uint)> Log) Create(int entries)
    {
        var wire = (PcieQueuePair)_transport.CreateIoQueuePair(new QueuePairSettings(1, entries, _memory, 4096, 64 * 1024));
        var log = new List<(ushort, ushort, uint)>();
        var pool = new NvmeRequestPool<TestRequest>(1, wire.Depth, id => new TestRequest(id, log));
        for (int i = 0; i < pool.Capacity; i++)
            pool[i].Pool = pool;
        var device = new FakeQueueDevice(_regs, 1, wire.Rings.SubmissionMemory, entries, wire.Rings.CompletionMemory, entries);
        return (new Harness(wire, pool), device, log);
    }

    [Test]
    public void PhaseTagStaysRightOverManyLapsOfAFourEntryQueue()
    {
        var (pair, device, log) = Create(4);
        Assert.That(pair.Depth, Is.EqualTo(3));
        uint sent = 0;
        for (int round = 0; round < 1000; round++)
        {
            int batch = round % 3 + 1;
            for (int i = 0; i < batch; i++)
            {
                TestRequest r = pair.Rent();
                r.Command = new SubmissionEntry { Opcode = 2, Cdw10 = sent++ };
                pair.Submit(r);
            }
            device.Step();
            Assert.That(pair.ProcessCompletions(), Is.EqualTo(batch), $"round {round}");
            Assert.That(pair.InFlight, Is.Zero);
            Assert.That(_regs.Read(FakeRegisters.CqDoorbell(1)), Is.EqualTo((uint)pair.Completion.Head), "CQ head doorbell after the batch");
        }
        Assert.That(log, Has.Count.EqualTo((int)sent));
        for (int i = 0; i < log.Count; i++)
            Assert.That(log[i].Item3, Is.EqualTo((uint)i), "completions arrive in order, each exactly once");
        Assert.That(pair.ProcessCompletions(), Is.Zero, "no stale entry is taken for a new one after the laps");
    }

    [Test]
    public void CompletionsAreNotReapedBeforeThePhaseFlips()
    {
        var (pair, device, _) = Create(8);
        Assert.That(pair.ProcessCompletions(), Is.Zero);
        TestRequest r = pair.Rent();
        pair.Submit(r);
        Assert.That(pair.ProcessCompletions(), Is.Zero, "nothing posted yet");
        device.Step();
        Assert.That(pair.ProcessCompletions(), Is.EqualTo(1));
    }

    [Test]
    public void DoorbellBatchingPublishesOnlyOnRing()
    {
        var (pair, device, _) = Create(16);
        for (int i = 0; i < 5; i++)
        {
            TestRequest r = pair.Rent();
            pair.Submit(r, ringDoorbell: false);
        }
        Assert.That(_regs.Read(FakeRegisters.SqDoorbell(1)), Is.Zero, "no doorbell write before RingDoorbell");
        Assert.That(device.Step(), Is.Zero);
        pair.RingDoorbell();
        Assert.That(_regs.Read(FakeRegisters.SqDoorbell(1)), Is.EqualTo(5u));
        Assert.That(device.Step(), Is.EqualTo(5));
        Assert.That(pair.ProcessCompletions(), Is.EqualTo(5));
    }

    [Test]
    public void ProcessCompletionsHonoursMax()
    {
        var (pair, device, _) = Create(16);
        for (int i = 0; i < 6; i++)
            pair.Submit(pair.Rent());
        device.Step();
        Assert.That(pair.ProcessCompletions(4), Is.EqualTo(4));
        Assert.That(pair.ProcessCompletions(4), Is.EqualTo(2));
    }

    [Test]
    public void AFullQueuePairRejectsWithQueueFull()
    {
        var (pair, device, _) = Create(4);
        for (int i = 0; i < 3; i++)
            pair.Submit(pair.Rent());
        Assert.That(pair.TryRent(), Is.Null);
        var e = Assert.Throws<QueueFullException>(() => pair.Rent());
        Assert.That(e!.Message, Does.Contain("full").And.Contain("3 commands"));
        device.Step();
        pair.ProcessCompletions();
        Assert.That(pair.TryRent(), Is.Not.Null);
    }

    [Test]
    public void SubmissionQueueDetectsFullFromTheReportedHead()
    {
        DmaBuffer mem = _memory.Allocate(4 * SubmissionEntry.Size);
        var sq = new SubmissionQueue(1, mem, 4, _regs.Window, FakeRegisters.SqDoorbell(1));
        for (int i = 0; i < 3; i++)
            sq.Enqueue(default);
        Assert.That(sq.IsFull, Is.True);
        Assert.Throws<InvalidOperationException>(() => sq.Enqueue(default));
        sq.UpdateHead(2);
        Assert.That(sq.IsFull, Is.False);
        Assert.That(sq.Pending, Is.EqualTo(1));
    }

    [Test]
    public void UnknownCommandIdFromTheDeviceIsAProtocolError()
    {
        var (pair, device, _) = Create(8);
        TestRequest r = pair.Rent();
        pair.Submit(r);
        device.Step();
        pair.ProcessCompletions();
        // Replay the same completion id: forge a new-phase entry for a command that is not outstanding.
        Span<CompletionEntry> cq = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, CompletionEntry>(_mapper.Translate(pair.Completion.Iova, 16 * 8));
        cq[1] = new CompletionEntry { CommandId = r.CommandId, StatusAndPhase = 1 };
        Assert.Throws<NvmeProtocolException>(() => pair.ProcessCompletions());
    }

    [Test]
    public void FailInFlightCompletesEveryOutstandingRequest()
    {
        var (pair, _, log) = Create(8);
        for (int i = 0; i < 5; i++)
            pair.Submit(pair.Rent());
        Assert.That(pair.FailInFlight(0x08), Is.EqualTo(5));
        Assert.That(log.Select(l => l.Item2), Is.All.EqualTo((ushort)0x08));
        Assert.That(pair.InFlight, Is.Zero);
        Assert.That(pair.AvailableRequests, Is.EqualTo(pair.Depth));
    }

    [Test]
    public void SubmitDescribesTheDataWithPrpsAndTheMetadataWithMptr()
    {
        var (pair, device, _) = Create(8);
        using DmaBuffer data = _memory.AllocatePageAligned(3 * 4096);
        using DmaBuffer metadata = _memory.Allocate(64);
        TestRequest r = pair.Rent();
        r.Command = new SubmissionEntry { Opcode = 2 };
        r.Data = data;
        r.DataOffset = 512;
        r.DataLength = 8192;
        r.Metadata = metadata;
        r.MetadataLength = 16;
        pair.Submit(r);
        device.Step();
        SubmissionEntry sent = device.Fetched.Single();
        Assert.That(sent.Prp1, Is.EqualTo(data.IovaAt(512)));
        Assert.That(sent.Prp2, Is.Not.Zero, "8 KiB from mid-page touch three pages: PRP2 points to a list");
        Assert.That(sent.MetadataPointer, Is.EqualTo(metadata.Iova));
        Assert.That(sent.CommandId, Is.EqualTo(r.CommandId));
    }

    [Test]
    public void RawCommandsKeepTheirOwnPointers()
    {
        var (pair, device, _) = Create(8);
        TestRequest r = pair.Rent();
        r.Command = new SubmissionEntry { Opcode = 2, Prp1 = 0x1234_5000, Prp2 = 0x42, MetadataPointer = 0x77 };
        pair.Submit(r);
        device.Step();
        SubmissionEntry sent = device.Fetched.Single();
        Assert.That((sent.Prp1, sent.Prp2, sent.MetadataPointer), Is.EqualTo((0x1234_5000UL, 0x42UL, 0x77UL)));
    }

    [Test]
    public void AFailedDescriptorLeavesTheRequestOffTheRing()
    {
        var (pair, device, _) = Create(8);
        using DmaBuffer data = _memory.Allocate(4096);
        TestRequest r = pair.Rent();
        r.Data = data;
        r.DataLength = 128 * 1024;   // beyond the 64 KiB the PRP lists were sized for
        Assert.Throws<ArgumentOutOfRangeException>(() => pair.Submit(r));
        Assert.That((r.InFlight, pair.InFlight, device.Step()), Is.EqualTo((false, 0, 0)));
    }
}
