using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Protection;
using PolledNvme.Queues;
using PolledNvme.Tests.Support;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// The "PolledNvme" meter, read by a MeterListener, counts exactly what a known workload did on
/// an emulated controller: commands by op, bytes, error statuses, PI errors by kind (controller
/// status and host verification), queue-full events, commands in flight, one latency recording
/// per completion; and a disposed queue pair leaves the meter.
/// </summary>
public class MetricsTests
{
    // 64-bit guard with a storage tag: all four PI checks can fail.
    private const string Pi64Extended = "mem:lbads=4096,ms=16,mset=1,pi=1,pif=2,sts=18,size=1M";

    private static string UniqueAddress() => $"mem:metrics-{Guid.NewGuid():N}";

    [Test]
    public void AKnownWorkloadIsCountedByOpBytesStatusAndPiKind()
    {
        string address = UniqueAddress();
        using var listener = new PolledNvmeMeterListener(address);
        using var setup = EmulatedSetup.Open(Pi64Extended, o => o.Address = address);
        Assert.That(setup.Controller.Address, Is.EqualTo(address));
        Namespace ns = setup.Ns;
        DmaAllocator memory = setup.Controller.Memory;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(4);   // depth 3
        string pair = $"nvme.queue_pair={qp.Id}";

        // One write of 8 blocks (PRACT=1: the controller inserts PI).
        var write = IoProtectionOptions.ControllerInserts(PiChecks.None) with { ApplicationTag = 0xBEEF, StorageTag = 0x2AAAA };
        long blockBytes = ns.DataBytes(1, write.Pract);
        using DmaBuffer data = memory.Allocate((int)(8 * blockBytes));
        new Random(3).NextBytes(data.Span);
        qp.Wait(qp.WriteAsync(ns, 0, 8, data, null, write));

        // Four reads that fail one PI check each, then two good reads and an injected media error.
        CorruptionTarget[] targets = [CorruptionTarget.Guard, CorruptionTarget.ApplicationTag, CorruptionTarget.ReferenceTag, CorruptionTarget.StorageTag];
        PiChecks[] checks = [PiChecks.Guard, PiChecks.ApplicationTag, PiChecks.ReferenceTag, PiChecks.StorageTag];
        using DmaBuffer one = memory.Allocate((int)blockBytes);
        for (int i = 0; i < 4; i++)
        {
            setup.Device.Faults.CorruptBlock(ns.Id, i, targets[i]);
            Assert.Throws<NvmeException>(() => qp.Wait(qp.ReadAsync(ns, (ulong)i, 1, one, null, write with { Checks = checks[i] })));
        }
        qp.Wait(qp.ReadAsync(ns, 4, 1, one, null, write with { Checks = PiChecks.Guard }));
        qp.Wait(qp.ReadAsync(ns, 5, 1, one, null, write with { Checks = PiChecks.Guard }));
        setup.Device.Faults.FailNextCommand(FaultQueue.Io, (byte)NvmOpcode.Read, NvmeStatus.UnrecoveredReadError);
        Assert.Throws<NvmeException>(() => qp.Wait(qp.ReadAsync(ns, 6, 1, one, null, write)));
        qp.Wait(qp.FlushAsync(ns));

        // Host verification of the raw block 0 (PRACT=0) finds the guard damage: a host PI error.
        long rawBytes = ns.DataBytes(1, pract: false);
        using DmaBuffer raw = memory.Allocate((int)rawBytes);
        qp.Wait(qp.ReadAsync(ns, 0, 1, raw));
        Assert.That(HostProtection.TryVerifyFrom(ns, write with { Checks = PiChecks.Guard }, 0, raw, null, new byte[ns.BlockSize], 1, out PiError hostError), Is.False);
        Assert.That(hostError.Kind, Is.EqualTo(PiErrorKind.Guard));

        // Fill the pair (slots free only when completions are reaped): the Try form and the throwing form each count a queue-full event.
        ValueTask[] outstanding = [.. Enumerable.Range(0, 3).Select(i => qp.ReadAsync(ns, (ulong)(4 + (i & 1)), 1, memory.Allocate((int)blockBytes), null, write))];
        Assert.That(qp.TryRead(ns, 4, 1, one, null, write, CompletionCounter.Callback, new CompletionCounter()), Is.False);
        Assert.Throws<QueueFullException>(() => qp.ReadAsync(ns, 4, 1, one, null, write));
        listener.Collect();
        Assert.That(listener.Value("pollednvme.io.in_flight", pair), Is.EqualTo(3), "three reads outstanding");
        foreach (ValueTask t in outstanding)
            qp.Wait(t);

        listener.Clear();
        listener.Collect();
        const int reads = 4 + 2 + 1 + 1 + 3, writes = 1, others = 1;
        Assert.Multiple(() =>
        {
            Assert.That(listener.Value("pollednvme.io.completed", pair, "nvme.op=read"), Is.EqualTo(reads));
            Assert.That(listener.Value("pollednvme.io.completed", pair, "nvme.op=write"), Is.EqualTo(writes));
            Assert.That(listener.Value("pollednvme.io.completed", pair, "nvme.op=other"), Is.EqualTo(others));
            Assert.That(listener.Value("pollednvme.io.bytes", pair, "nvme.op=read"), Is.EqualTo((2 + 3) * blockBytes + rawBytes), "successful reads only");
            Assert.That(listener.Value("pollednvme.io.bytes", pair, "nvme.op=write"), Is.EqualTo(8 * blockBytes));
            Assert.That(listener.Value("pollednvme.io.errors", pair), Is.EqualTo(5));
            foreach (NvmeStatus s in new[] { NvmeStatus.EndToEndGuardCheckError, NvmeStatus.EndToEndApplicationTagCheckError, NvmeStatus.EndToEndReferenceTagCheckError, NvmeStatus.EndToEndStorageTagCheckError, NvmeStatus.UnrecoveredReadError })
                Assert.That(listener.Value("pollednvme.io.errors", pair, $"nvme.status={s.Name} (SCT 2h, SC {s.Code:X2}h)"), Is.EqualTo(1), s.Name);
            foreach (string kind in new[] { "guard", "app_tag", "ref_tag", "storage_tag" })
                Assert.That(listener.Value("pollednvme.pi.errors", pair, $"nvme.pi.kind={kind}", "nvme.pi.source=controller"), Is.EqualTo(1), kind);
            Assert.That(listener.Value("pollednvme.pi.errors", "nvme.pi.kind=guard", "nvme.pi.source=host"), Is.EqualTo(1));
            Assert.That(listener.Value("pollednvme.pi.errors", "nvme.pi.kind=app_tag", "nvme.pi.source=host"), Is.Zero);
            Assert.That(listener.Value("pollednvme.queue.full", pair), Is.EqualTo(2));
            Assert.That(listener.Value("pollednvme.io.in_flight", pair), Is.Zero);
            // One latency recording per completion, tagged with its op.
            Assert.That(listener.Latencies.Count(l => l.Op == "read"), Is.EqualTo(reads));
            Assert.That(listener.Latencies.Count(l => l.Op == "write"), Is.EqualTo(writes));
            Assert.That(listener.Latencies.Count(l => l.Op == "other"), Is.EqualTo(others));
            Assert.That(listener.Latencies.All(l => l.Micros > 0), Is.True, "latencies are positive µs");
        });
    }

    [Test]
    public void NoLatencyIsRecordedWhileTheHistogramHasNoListener()
    {
        string address = UniqueAddress();
        using var listener = new PolledNvmeMeterListener(address, histogram: false);
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", o => o.Address = address);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        qp.Wait(qp.WriteAsync(setup.Ns, 0, 1, data));
        listener.Collect();
        Assert.That(listener.Value("pollednvme.io.completed", "nvme.op=write"), Is.EqualTo(1));
        Assert.That(listener.Latencies, Is.Empty);
    }

    [Test]
    public void ADisposedQueuePairLeavesTheMeter()
    {
        string address = UniqueAddress();
        using var listener = new PolledNvmeMeterListener(address);
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", o => o.Address = address);
        int before = NvmeMetrics.RegisteredQueuePairs;
        IoQueuePair first = setup.Controller.CreateIoQueuePair(8);
        using IoQueuePair second = setup.Controller.CreateIoQueuePair(8);
        Assert.That(NvmeMetrics.RegisteredQueuePairs, Is.EqualTo(before + 2));
        listener.Collect();
        Assert.That(listener.Series("pollednvme.queue.full"), Is.EqualTo(2));

        first.Dispose();
        Assert.That(NvmeMetrics.RegisteredQueuePairs, Is.EqualTo(before + 1));
        listener.Clear();
        listener.Collect();
        Assert.That(listener.Series("pollednvme.queue.full"), Is.EqualTo(1));
        Assert.That(listener.Value("pollednvme.queue.full", $"nvme.queue_pair={second.Id}"), Is.Zero);
        Assert.That(listener.Value("pollednvme.queue.full", $"nvme.queue_pair={first.Id}"), Is.Zero);

        // The controller's own series (host PI errors) go with it.
        setup.Dispose();
        Assert.That(NvmeMetrics.RegisteredQueuePairs, Is.EqualTo(before));
        listener.Clear();
        listener.Collect();
        Assert.That(listener.Series("pollednvme.pi.errors"), Is.Zero);
    }

    [Test]
    public void MoreDistinctErrorStatusesThanSlotsShareOneSeries()
    {
        string address = UniqueAddress();
        using var listener = new PolledNvmeMeterListener(address);
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", o => o.Address = address);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        int distinct = QueuePairMetrics.StatusSlots + 3;
        for (int i = 0; i < distinct; i++)
        {
            setup.Device.Faults.FailNextCommand(FaultQueue.Io, (byte)NvmOpcode.Read, NvmeStatus.Create(StatusCodeType.VendorSpecific, (byte)(0x10 + i)));
            Assert.Throws<NvmeException>(() => qp.Wait(qp.ReadAsync(setup.Ns, 0, 1, data)));
        }
        listener.Collect();
        Assert.That(listener.Value("pollednvme.io.errors"), Is.EqualTo(distinct), "every failure counted");
        Assert.That(listener.Series("pollednvme.io.errors"), Is.EqualTo(QueuePairMetrics.StatusSlots + 1));
        Assert.That(listener.Value("pollednvme.io.errors", $"nvme.status=Other (more than {QueuePairMetrics.StatusSlots} distinct statuses)"), Is.EqualTo(3));
    }
}
