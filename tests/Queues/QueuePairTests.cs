using NUnit.Framework;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Queues;

/// <summary>Rings, phase tags, doorbells and the request table against an in-test device.</summary>
public class QueuePairTests
{
    private sealed class TestRequest : QueueRequest
    {
        public readonly List<(ushort Cid, ushort Status, uint Result)> Log;
        public QueuePair<TestRequest>? Pair;
        public TestRequest(ushort id, List<(ushort, ushort, uint)> log) : base(id) => Log = log;
        protected internal override void OnCompleted(in CompletionEntry completion)
        {
            Log.Add((completion.CommandId, completion.Status, completion.Result));
            Pair!.Return(this);
        }
    }

    private FakeMapper _mapper = null!;
    private FakeRegisters _regs = null!;
    private DmaAllocator _memory = null!;

    [SetUp]
    public void SetUp()
    {
        _mapper = new FakeMapper();
        _regs = new FakeRegisters();
        _memory = new DmaAllocator(_mapper, new DmaAllocatorOptions { AllowNonHugepageFallback = true });
    }

    [TearDown]
    public void TearDown()
    {
        _memory.Dispose();
        _regs.Dispose();
    }

    private (QueuePair<TestRequest> Pair, FakeQueueDevice Device, List<(ushort, ushort, uint)> Log) Create(int entries)
    {
        DmaBuffer sqMem = _memory.Allocate(entries * SubmissionEntry.Size);
        DmaBuffer cqMem = _memory.Allocate(entries * CompletionEntry.Size);
        var sq = new SubmissionQueue(1, sqMem, entries, _regs.Window, FakeRegisters.SqDoorbell(1));
        var cq = new CompletionQueue(1, cqMem, entries, _regs.Window, FakeRegisters.CqDoorbell(1));
        var log = new List<(ushort, ushort, uint)>();
        var pair = new QueuePair<TestRequest>(sq, cq, id => new TestRequest(id, log));
        for (int i = 0; i < pair.Depth; i++)
            pair.RequestFor((ushort)i).Pair = pair;
        return (pair, new FakeQueueDevice(_regs, 1, sqMem, entries, cqMem, entries), log);
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
}
