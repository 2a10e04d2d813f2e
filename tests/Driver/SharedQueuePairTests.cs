using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// SharedIoQueuePair under a Poller: threads that do not own the queue pair await commands on
/// it; the poller thread submits and reaps them (the pair stays bound to it), continuations run
/// off the poller thread, errors and cancellations reach the awaiting caller, and the handoff
/// allocates nothing per command on either side.
/// </summary>
public class SharedQueuePairTests
{
    private static int PollerCpu => CoreAffinity.AllowedCpus()[0];

    [Test]
    public void CallersOnOtherThreadsAwaitCommandsThePollerSubmits()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=4M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(32);
        var shared = new SharedIoQueuePair(qp);
        int pollerThread = 0;
        using var poller = new Poller(PollerCpu, new IPollable[] { shared }, () =>
        {
            pollerThread = Environment.CurrentManagedThreadId;
            return 0;
        });
        poller.Start();
        DmaBuffer[] buffers = Enumerable.Range(0, 4).Select(_ => setup.Controller.Memory.Allocate(4096)).ToArray();
        var continuationThreads = new System.Collections.Concurrent.ConcurrentBag<int>();

        async Task Worker(int w)
        {
            DmaBuffer buffer = buffers[w];
            for (int i = 0; i < 50; i++)
            {
                ulong lba = (ulong)(w * 100 + i);
                buffer.Span.Fill((byte)(w * 50 + i));
                await shared.WriteAsync(setup.Ns, lba, 1, buffer);
                continuationThreads.Add(Environment.CurrentManagedThreadId);
                buffer.Span.Clear();
                await shared.ReadAsync(setup.Ns, lba, 1, buffer);
                continuationThreads.Add(Environment.CurrentManagedThreadId);
                Assert.That(buffer.Span.ToArray(), Is.All.EqualTo((byte)(w * 50 + i)), $"worker {w}, LBA {lba}");
            }
            await shared.FlushAsync(setup.Ns);
        }

        Task all = Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() => Worker(w))));
        Assert.That(all.Wait(TimeSpan.FromMinutes(2)), Is.True);
        all.GetAwaiter().GetResult();
        poller.Stop();

        Assert.That(pollerThread, Is.Not.Zero);
        Assert.That(continuationThreads, Has.Count.EqualTo(400));
        Assert.That(continuationThreads, Has.None.EqualTo(pollerThread), "continuations run off the poller thread");
        Assert.That((qp.InFlight, qp.AvailableSlots), Is.EqualTo((0, qp.Depth)));
        foreach (DmaBuffer b in buffers)
            b.Dispose();
    }

    [Test]
    public void ThePairStaysBoundToThePollerThread()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        var shared = new SharedIoQueuePair(qp);
        using var poller = new Poller(PollerCpu, new IPollable[] { shared });
        poller.Start();
        shared.ReadAsync(setup.Ns, 0, 1, data).AsTask().Wait();
        var e = Assert.Throws<InvalidOperationException>(() => qp.ReadAsync(setup.Ns, 0, 1, data))!;
        Assert.That(e.Message, Does.Contain("belongs to thread"));
        poller.Stop();
        qp.Wait(qp.ReadAsync(setup.Ns, 0, 1, data));   // handed back when the poller stopped
    }

    [Test]
    public void AnArgumentErrorReachesTheAwaitAndThePollerKeepsRunning()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer small = setup.Controller.Memory.Allocate(512);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        var shared = new SharedIoQueuePair(qp);
        using var poller = new Poller(PollerCpu, new IPollable[] { shared });
        poller.Start();

        var e = Assert.ThrowsAsync<ArgumentException>(async () => await shared.ReadAsync(setup.Ns, 0, 1, small))!;
        Assert.That(e.ParamName, Is.EqualTo("data"));
        DmaBuffer disposed = setup.Controller.Memory.Allocate(4096);
        disposed.Dispose();
        Assert.ThrowsAsync<ObjectDisposedException>(async () => await shared.WriteAsync(setup.Ns, 0, 1, disposed));
        shared.ReadAsync(setup.Ns, 0, 1, data).AsTask().Wait();
        Assert.That(poller.IsRunning, Is.True);
        poller.Stop();
    }

    [Test]
    public void ACommandCancelledWhileHandedOverIsNeverSubmitted()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        data.Span.Fill(0x44);
        var shared = new SharedIoQueuePair(qp);
        using var cts = new CancellationTokenSource();
        ValueTask read = shared.ReadAsync(setup.Ns, 0, 1, data, cancellationToken: cts.Token);   // no poller yet: it waits in the ring
        cts.Cancel();
        Assert.That(shared.ProcessCompletions(), Is.EqualTo(1), "this thread polls it: taken from the ring and completed as cancelled");
        Assert.ThrowsAsync<OperationCanceledException>(async () => await read);
        Assert.That((qp.InFlight, data.Leases), Is.EqualTo((0, 0)));
        Assert.That(data.Span.ToArray(), Is.All.EqualTo(0x44));
        Assert.That(shared.ReadAsync(setup.Ns, 0, 1, data, cancellationToken: cts.Token).IsCanceled, Is.True, "already cancelled: not even handed over");
    }

    [Test]
    public void ACommandCancelledInTheSqIsAbortedAndTheCallerSeesTheCancellation()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M", o => o.Mode = EmulatedControllerMode.Inline);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        var shared = new SharedIoQueuePair(qp);
        using var cts = new CancellationTokenSource();
        ValueTask read = shared.ReadAsync(setup.Ns, 0, 1, data, cancellationToken: cts.Token);
        Assert.That(shared.SubmitHandedOff(), Is.EqualTo(1), "the poller's half, without polling: the inline device has not run it");
        Assert.That(qp.InFlight, Is.EqualTo(1));
        cts.Cancel();
        while (!read.IsCompleted)
            shared.ProcessCompletions();
        Assert.ThrowsAsync<OperationCanceledException>(async () => await read);
        Assert.That(qp.AbortsSent, Is.EqualTo(1));
        Assert.That((qp.InFlight, data.Leases), Is.EqualTo((0, 0)));
    }

    [Test]
    public void WithBatchedDoorbellsOneDoorbellPublishesAHandoffBatch()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M", o => o.Mode = EmulatedControllerMode.Inline);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        var shared = new SharedIoQueuePair(qp);
        qp.BatchDoorbells = true;
        ValueTask[] reads = Enumerable.Range(0, 4).Select(i => shared.ReadAsync(setup.Ns, (ulong)i, 1, data)).ToArray();
        long before = qp.MmioDoorbellWrites;
        Assert.That(shared.SubmitHandedOff(), Is.EqualTo(4));
        Assert.That(qp.MmioDoorbellWrites - before, Is.EqualTo(1), "one SQ tail doorbell for the batch");
        while (reads.Any(r => !r.IsCompleted))
            shared.ProcessCompletions();
        foreach (ValueTask r in reads)
            r.GetAwaiter().GetResult();
    }

    [Test]
    public void AllSlotsInUseIsQueueFullAndSlotsAreBoundedByTheDepth()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SharedIoQueuePair(qp, qp.Depth + 1));
        var shared = new SharedIoQueuePair(qp, 2);
        ValueTask a = shared.ReadAsync(setup.Ns, 0, 1, data);
        ValueTask b = shared.ReadAsync(setup.Ns, 1, 1, data);
        Assert.Throws<QueueFullException>(() => shared.ReadAsync(setup.Ns, 2, 1, data));
        while (!a.IsCompleted || !b.IsCompleted)
            shared.ProcessCompletions();
        a.GetAwaiter().GetResult();
        b.GetAwaiter().GetResult();
        var stale = Assert.Throws<InvalidOperationException>(() => a.GetAwaiter().GetResult())!;
        Assert.That(stale.Message, Does.Contain("already awaited"));
        ValueTask c = shared.ReadAsync(setup.Ns, 2, 1, data);   // slots came back
        while (!c.IsCompleted)
            shared.ProcessCompletions();
        c.GetAwaiter().GetResult();
    }

    [Test]
    public void TheHandoffAllocatesNothingPerCommandOnEitherThread()
    {
        // Inline device: it runs on the poller thread, so only two threads take turns (a busy machine has few cores).
        using var setup = EmulatedSetup.Open("null:lbads=4096,size=1G", o => o.Mode = EmulatedControllerMode.Inline);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(64);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        var shared = new SharedIoQueuePair(qp);
        long pollerAllocated = 0;
        // onIteration samples the poller thread's own allocation counter (reading it allocates nothing).
        using var poller = new Poller(PollerCpu, new IPollable[] { shared }, () =>
        {
            Volatile.Write(ref pollerAllocated, GC.GetAllocatedBytesForCurrentThread());
            return 0;
        });
        poller.Start();
        using var cts = new CancellationTokenSource();
        var tasks = new ValueTask[16];

        void Run(int count)
        {
            for (int done = 0; done < count; done += tasks.Length)
            {
                for (int i = 0; i < tasks.Length; i++)
                    tasks[i] = shared.ReadAsync(setup.Ns, (ulong)i, 1, data, null, default, cts.Token);
                for (int i = 0; i < tasks.Length; i++)
                {
                    while (!tasks[i].IsCompleted)
                        Thread.Yield();
                    tasks[i].GetAwaiter().GetResult();
                }
            }
        }

        Run(4_000);
        long pollerBefore = Volatile.Read(ref pollerAllocated);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(4_000);
        long callerAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Run(64);   // a few more iterations so the poller's sample is taken after the measured run
        long pollerDelta = Volatile.Read(ref pollerAllocated) - pollerBefore;
        poller.Stop();
        Assert.That(callerAllocated, Is.Zero, $"{callerAllocated} bytes allocated on the calling thread over 4 000 handed-off reads");
        Assert.That(pollerDelta, Is.Zero, $"{pollerDelta} bytes allocated on the poller thread over 4 000 handed-off reads");
    }
}
