using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>Queue behaviour end to end: PRP lists, phase laps, threads, reset, CFS, queue full, abort, callbacks, batching.</summary>
public class QueueLifecycleTests
{
    [Test]
    public void MultiPageTransfersThroughChainedPrpLists()
    {
        // MDTS 10 = 4 MiB: 1024 pages need 1023 list entries, more than one 4 KiB list page holds.
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=16M", o => o.Mdts = 10);
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        Assert.That(qp.MaxTransferBytes, Is.EqualTo(4 << 20));
        foreach (int blocks in new[] { 2, 3, 16, 513, 1024 })
        {
            using DmaBuffer w = setup.Controller.Memory.Allocate(blocks * ns.BlockSize);
            using DmaBuffer r = setup.Controller.Memory.Allocate(w.Length);
            new Random(blocks).NextBytes(w.Span);
            qp.Wait(qp.WriteAsync(ns, 100, blocks, w));
            qp.Wait(qp.ReadAsync(ns, 100, blocks, r));
            Assert.That(r.Span.SequenceEqual(w.Span), $"{blocks} blocks");
        }
    }

    [TestCase(EmulatedControllerMode.Threaded)]
    [TestCase(EmulatedControllerMode.Inline)]
    public void PhaseTagOverManyLapsOfAFourEntryQueue(EmulatedControllerMode mode)
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", o => o.Mode = mode);
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(4);
        Assert.That(qp.Depth, Is.EqualTo(3));
        var buffers = new DmaBuffer[3];
        for (int i = 0; i < 3; i++)
            buffers[i] = setup.Controller.Memory.Allocate(ns.BlockSize);
        var tasks = new ValueTask[3];
        for (int i = 0; i < 1000; i += 3)
        {
            for (int j = 0; j < 3; j++)
            {
                buffers[j].Span.Fill((byte)(i + j));
                tasks[j] = qp.WriteAsync(ns, (ulong)((i + j) % 64), 1, buffers[j]);
            }
            for (int j = 0; j < 3; j++)
                qp.Wait(tasks[j]);
        }
        for (int j = 0; j < 3; j++)
        {
            // The last round (i = 999) wrote value 999 + j to LBA (999 + j) % 64.
            qp.Wait(qp.ReadAsync(ns, (ulong)((999 + j) % 64), 1, buffers[j]));
            Assert.That(buffers[j].Span[0], Is.EqualTo((byte)(999 + j)));
            buffers[j].Dispose();
        }
    }

    [Test]
    public void TwoThreadsWithTheirOwnQueuePairs()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,ms=8,pi=1,size=4M");
        Namespace ns = setup.Ns;
        var failures = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            try
            {
                using IoQueuePair qp = setup.Controller.CreateIoQueuePair(32);
                using DmaBuffer w = setup.Controller.Memory.Allocate(4 * ns.BlockSize);
                using DmaBuffer r = setup.Controller.Memory.Allocate(4 * ns.BlockSize);
                var pi = IoProtectionOptions.ControllerInserts(PiChecks.Guard | PiChecks.ReferenceTag);
                for (int i = 0; i < 300; i++)
                {
                    ulong slba = (ulong)(t * 512 + (i % 100) * 4);
                    w.Span.Fill((byte)(t * 100 + i));
                    qp.Wait(qp.WriteAsync(ns, slba, 4, w, null, pi));
                    qp.Wait(qp.ReadAsync(ns, slba, 4, r, null, pi));
                    if (!r.Span.SequenceEqual(w.Span))
                        throw new InvalidOperationException($"thread {t} iteration {i}: data mismatch");
                }
            }
            catch (Exception e)
            {
                failures.Add(e);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.That(failures, Is.Empty);
    }

    [Test]
    public void ResetWithIoOutstandingFailsItClearlyAndTheQueuePairWorksAfterwards()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        using DmaBuffer data = setup.Controller.Memory.Allocate(ns.BlockSize);
        setup.Device.Faults.DropNextCompletion(FaultQueue.Io, (byte)NvmOpcode.Read);
        ValueTask lost = qp.ReadAsync(ns, 0, 1, data);
        Assert.Throws<TimeoutException>(() => qp.Wait(lost, TimeSpan.FromMilliseconds(50)));
        Assert.That(qp.InFlight, Is.EqualTo(1));

        setup.Controller.Reset();
        var e = Assert.Throws<NvmeException>(() => lost.GetAwaiter().GetResult())!;
        Assert.That(e.Status.TypeAndCode, Is.EqualTo(NvmeStatus.AbortedSqDeletion.TypeAndCode));
        Assert.That(qp.InFlight, Is.Zero);
        Assert.That(qp.AvailableSlots, Is.EqualTo(qp.Depth));

        data.Span.Fill(9);
        qp.Wait(qp.WriteAsync(ns, 3, 1, data));
        data.Span.Clear();
        qp.Wait(qp.ReadAsync(ns, 3, 1, data));
        Assert.That(data.Span.ToArray(), Is.All.EqualTo(9));
    }

    [Test]
    public void ControllerFatalStatusWithIoOutstandingIsReportedNotAHang()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        using DmaBuffer data = setup.Controller.Memory.Allocate(ns.BlockSize);
        setup.Device.Faults.DropNextCompletion(FaultQueue.Io, (byte)NvmOpcode.Read);
        ValueTask lost = qp.ReadAsync(ns, 0, 1, data);
        Assert.Throws<TimeoutException>(() => qp.Wait(lost, TimeSpan.FromMilliseconds(50)), "the read was fetched and its completion dropped");
        setup.Device.Faults.SetFatalStatus();

        var fatal = Assert.Throws<NvmeControllerException>(() => qp.Wait(lost, TimeSpan.FromSeconds(10)))!;
        Assert.That(fatal.IsFatal, Is.True);
        Assert.That(fatal.Message, Does.Contain("CSTS.CFS = 1").And.Contain("Reset"));
        Assert.That(() => lost.GetAwaiter().GetResult(), Throws.TypeOf<NvmeException>(), "the outstanding read was failed, not left hanging");
        Assert.That(setup.Controller.IsOperational, Is.False);
        var admin = Assert.Throws<NvmeControllerException>(() => setup.Controller.GetSmartLog())!;
        Assert.That(admin.IsFatal, Is.True);

        setup.Controller.Reset();
        Assert.That(setup.Controller.IsOperational, Is.True);
        qp.Wait(qp.ReadAsync(ns, 0, 1, data));
    }

    [Test]
    public void AFullQueuePairRejectsClearly()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", o => o.Mode = EmulatedControllerMode.Inline);
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(4);
        using DmaBuffer data = setup.Controller.Memory.Allocate(ns.BlockSize);
        // Inline controller: nothing is processed until we poll, so three submissions fill the pair.
        var tasks = Enumerable.Range(0, 3).Select(i => qp.ReadAsync(ns, (ulong)i, 1, data)).ToArray();
        var e = Assert.Throws<QueueFullException>(() => qp.ReadAsync(ns, 3, 1, data))!;
        Assert.That(e.Message, Does.Contain("full").And.Contain("ProcessCompletions"));
        foreach (ValueTask t in tasks)
            qp.Wait(t);
        qp.Wait(qp.ReadAsync(ns, 3, 1, data));
    }

    [Test]
    public void AbortOfAWaitingCommand()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", o => o.Mode = EmulatedControllerMode.Inline);
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(ns.BlockSize);
        ValueTask read = qp.ReadAsync(ns, 0, 1, data);   // waits in the SQ: the inline controller has not run
        Assert.That(setup.Controller.Abort(qp.Id, qp.LastCommandId), Is.True);
        var e = Assert.Throws<NvmeException>(() => qp.Wait(read))!;
        Assert.That(e.Status.TypeAndCode, Is.EqualTo(NvmeStatus.AbortedByRequest.TypeAndCode));
    }

    [Test]
    public void CallbackFormBatchedDoorbellsAndMaintenanceCommands()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,ms=16,pi=2,pif=2,size=4M");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(64);
        qp.BatchDoorbells = true;
        var results = new List<IoResult>();
        IoCompletionCallback done = static (state, in result) => ((List<IoResult>)state!).Add(result);
        var pi = IoProtectionOptions.ControllerInserts(PiChecks.All) with { ApplicationTag = 7 };
        var buffers = Enumerable.Range(0, 8).Select(_ => setup.Controller.Memory.Allocate(ns.BlockSize)).ToArray();
        for (int i = 0; i < 8; i++)
        {
            buffers[i].Span.Fill((byte)(i + 1));
            qp.Write(ns, (ulong)i, 1, buffers[i], null, pi, done, results);
        }
        qp.ProcessCompletions();
        Assert.That(results, Is.Empty, "nothing is visible to the controller before the doorbell");
        qp.RingDoorbell();
        qp.Drain();
        Assert.That(results, Has.Count.EqualTo(8));
        Assert.That(results.All(r => r.IsSuccess && r.Opcode == (byte)NvmOpcode.Write && r.BlockCount == 1));
        qp.BatchDoorbells = false;

        qp.Wait(qp.FlushAsync(ns));
        qp.Wait(qp.DeallocateAsync(ns, 0, 2));
        qp.Wait(qp.WriteZeroesAsync(ns, 2, 2, IoProtectionOptions.ControllerInserts(PiChecks.None)));
        using DmaBuffer r = setup.Controller.Memory.Allocate(ns.BlockSize);
        qp.Wait(qp.ReadAsync(ns, 2, 1, r, null, IoProtectionOptions.ControllerInserts(PiChecks.Guard)));
        Assert.That(r.Span.ToArray(), Is.All.EqualTo(0));
        qp.Wait(qp.ReadAsync(ns, 5, 1, r, null, pi));
        Assert.That(r.Span.ToArray(), Is.All.EqualTo(6));
        // Compare (PRACT must be 0, so with the stored metadata): equal data passes, different data fails with CompareFailure.
        using DmaBuffer meta = setup.Controller.Memory.Allocate(ns.MetadataSize);
        qp.Wait(qp.ReadAsync(ns, 5, 1, r, meta));
        qp.Wait(qp.CompareAsync(ns, 5, 1, buffers[5], meta, IoProtectionOptions.None));
        var e = Assert.Throws<NvmeException>(() => qp.Wait(qp.CompareAsync(ns, 5, 1, buffers[4], meta, IoProtectionOptions.None)))!;
        Assert.That(e.Status.TypeAndCode, Is.EqualTo(NvmeStatus.CompareFailure.TypeAndCode));
        foreach (DmaBuffer b in buffers)
            b.Dispose();
    }

    [Test]
    public void AwaitInAnAsyncMethodContinuesOnThePollingThread()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        int pollingThread = Environment.CurrentManagedThreadId;
        var continuationThreads = new List<int>();

        async Task<int> WriteThenReadAll()
        {
            for (int i = 0; i < 20; i++)
            {
                data.Span.Fill((byte)i);
                await qp.WriteAsync(ns, (ulong)i, 1, data);
                continuationThreads.Add(Environment.CurrentManagedThreadId);
            }
            int sum = 0;
            for (int i = 0; i < 20; i++)
            {
                await qp.ReadAsync(ns, (ulong)i, 1, data);
                sum += data.Span[0];
            }
            return sum;
        }

        Task<int> work = WriteThenReadAll();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!work.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(30))
            qp.ProcessCompletions();
        Assert.That(work.Result, Is.EqualTo(Enumerable.Range(0, 20).Sum()));
        Assert.That(continuationThreads, Is.All.EqualTo(pollingThread), "continuations run inline in ProcessCompletions");
        // A failed command surfaces as NvmeException from await.
        async Task ReadPastTheEnd() => await qp.ReadAsync(ns, ns.BlockCount, 1, data);
        Task failing = ReadPastTheEnd();
        while (!failing.IsCompleted)
            qp.ProcessCompletions();
        var e = Assert.ThrowsAsync<NvmeException>(async () => await failing)!;
        Assert.That(e.Status.TypeAndCode, Is.EqualTo(NvmeStatus.LbaOutOfRange.TypeAndCode));
    }

    [Test]
    public void DeallocatedRangesReadBackAsZeros()
    {
        // DLFEAT = 001b on the emulated controller: deallocated blocks read as zeros.
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(16 * 512);
        data.Span.Fill(0xAB);
        qp.Wait(qp.WriteAsync(ns, 0, 16, data));
        using DmaBuffer ranges = setup.Controller.Memory.Allocate(2 * DatasetRange.Size);
        new DatasetRange(2, 3).Write(ranges.Span, 0);
        new DatasetRange(10, 1).Write(ranges.Span, 1);
        qp.Wait(qp.DeallocateAsync(ns, ranges, 2));
        qp.Wait(qp.DeallocateAsync(ns, 14, 1));
        qp.Wait(qp.ReadAsync(ns, 0, 16, data));
        for (int b = 0; b < 16; b++)
        {
            bool gone = b is >= 2 and < 5 || b == 10 || b == 14;
            Assert.That(data.Span.Slice(b * 512, 512).ToArray().Distinct().Single(), Is.EqualTo(gone ? (byte)0 : (byte)0xAB), $"block {b}");
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => qp.DeallocateAsync(ns, ranges, 0));
        Assert.Throws<ArgumentException>(() => qp.DeallocateAsync(ns, ranges, 3));
    }
}
