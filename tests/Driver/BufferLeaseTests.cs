using System.Collections.Concurrent;
using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Emulated;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// A buffer disposed while a command uses it goes back to the pool when that command is done:
/// reaped, failed by a reset, failed by the queue pair's disposal — and only once the
/// controller can no longer reach it (not when a fatal controller merely had its commands
/// failed). Shared between queue pairs on several threads, its lease count stays exact.
/// </summary>
public class BufferLeaseTests
{
    // Two blocks: a size class (8 KiB) that the driver's own allocations (rings, Identify pages) do not use, so pool counts are exact.
    private const int TwoBlocks = 8192;

    private static EmulatedSetup OpenInline() => EmulatedSetup.Open("mem:lbads=4096,size=1M", o => o.Mode = EmulatedControllerMode.Inline);

    /// <summary>Queues a read into a new buffer (the inline device has not run it), disposes the buffer and checks it stayed the read's.</summary>
    private static (DmaBuffer Target, int Pooled, ValueTask Read) ReadIntoADisposedBuffer(EmulatedSetup setup, IoQueuePair qp)
    {
        DmaAllocator memory = setup.Controller.Memory;
        DmaBuffer target = memory.Allocate(TwoBlocks);
        int pooled = memory.PooledSlots(TwoBlocks);
        ValueTask read = qp.ReadAsync(setup.Ns, 0, 2, target);
        target.Dispose();
        Assert.That((target.Leases, memory.PooledSlots(TwoBlocks)), Is.EqualTo((1, pooled)), "the read still owns it");
        return (target, pooled, read);
    }

    [Test]
    public void ResetFailsTheCommandAndOnlyThenReturnsItsDisposedBuffer()
    {
        using EmulatedSetup setup = OpenInline();
        DmaAllocator memory = setup.Controller.Memory;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        (DmaBuffer target, int pooled, ValueTask read) = ReadIntoADisposedBuffer(setup, qp);

        setup.Controller.Reset();
        Assert.That(target.Leases, Is.Zero);
        Assert.That(memory.PooledSlots(TwoBlocks), Is.EqualTo(pooled + 1), "failed after the controller stopped: returned");
        var e = Assert.Throws<NvmeException>(() => qp.Wait(read))!;
        Assert.That(e.Status.TypeAndCode, Is.EqualTo(NvmeStatus.AbortedSqDeletion.TypeAndCode));
        Assert.That(memory.StrayReturns, Is.Zero);
    }

    [Test]
    public void ACallbackThatDisposesItsBufferDuringFailInFlightReturnsIt()
    {
        using EmulatedSetup setup = OpenInline();
        DmaAllocator memory = setup.Controller.Memory;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        DmaBuffer target = memory.Allocate(TwoBlocks);
        int pooled = memory.PooledSlots(TwoBlocks);
        var seen = new List<(ushort Status, bool Disposed)>();
        IoCompletionCallback disposeOnCompletion = static (state, in result) =>
        {
            var (buffer, log) = ((DmaBuffer, List<(ushort, bool)>))state!;
            buffer.Dispose();
            log.Add((result.Status.TypeAndCode, buffer.IsDisposed));
        };
        qp.Read(setup.Ns, 0, 2, target, null, default, disposeOnCompletion, (target, seen));

        setup.Controller.Reset();   // FailInFlight runs the callback, which disposes the buffer
        Assert.That(seen, Is.EqualTo(new[] { (NvmeStatus.AbortedSqDeletion.TypeAndCode, true) }));
        Assert.That(memory.PooledSlots(TwoBlocks), Is.EqualTo(pooled + 1), "the lease ended before the callback: its Dispose returned it");
        Assert.That(memory.StrayReturns, Is.Zero);
    }

    [Test]
    public void DisposingTheQueuePairReturnsTheDisposedBuffersOfItsOutstandingCommands()
    {
        using EmulatedSetup setup = OpenInline();
        DmaAllocator memory = setup.Controller.Memory;
        IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        DmaBuffer data = memory.Allocate(TwoBlocks);
        DmaBuffer ranges = memory.Allocate(DatasetRange.Size);
        new DatasetRange(0, 1).Write(ranges.Span, 0);
        (int pooledData, int pooledRanges) = (memory.PooledSlots(TwoBlocks), memory.PooledSlots(DatasetRange.Size));
        ValueTask write = qp.WriteAsync(setup.Ns, 0, 2, data);
        ValueTask trim = qp.DeallocateAsync(setup.Ns, ranges, 1);
        data.Dispose();
        ranges.Dispose();
        Assert.That((data.Leases, ranges.Leases), Is.EqualTo((1, 1)));
        Assert.That((memory.PooledSlots(TwoBlocks), memory.PooledSlots(DatasetRange.Size)), Is.EqualTo((pooledData, pooledRanges)));

        qp.Dispose();   // deletes the queues on the controller, then fails what was left
        Assert.That((data.Leases, ranges.Leases), Is.EqualTo((0, 0)));
        Assert.That((memory.PooledSlots(TwoBlocks), memory.PooledSlots(DatasetRange.Size)), Is.EqualTo((pooledData + 1, pooledRanges + 1)));
        Assert.That(() => write.GetAwaiter().GetResult(), Throws.TypeOf<NvmeException>());
        Assert.That(() => trim.GetAwaiter().GetResult(), Throws.TypeOf<NvmeException>());
        Assert.That(memory.StrayReturns, Is.Zero);
    }

    [Test]
    public void AFatalControllerKeepsTheDisposedBufferOutOfThePoolUntilItIsReset()
    {
        using EmulatedSetup setup = OpenInline();
        DmaAllocator memory = setup.Controller.Memory;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        (DmaBuffer target, int pooled, ValueTask read) = ReadIntoADisposedBuffer(setup, qp);
        setup.Device.Faults.SetFatalStatus();

        Assert.Throws<NvmeControllerException>(() => qp.Wait(read, TimeSpan.FromSeconds(30)));
        Assert.Throws<NvmeException>(() => read.GetAwaiter().GetResult(), "the read was failed, nothing waits forever");
        Assert.That(memory.PooledSlots(TwoBlocks), Is.EqualTo(pooled), "a fatal controller may still write it: not pooled");
        Assert.That(target.Leases, Is.EqualTo(1));

        setup.Controller.Reset();   // disabled: now it cannot
        Assert.That(target.Leases, Is.Zero);
        Assert.That(memory.PooledSlots(TwoBlocks), Is.EqualTo(pooled + 1));
        Assert.That(memory.StrayReturns, Is.Zero);
    }

    [Test]
    public void RawCommandsAndDatasetRangesAreCheckedAndLeasedToo()
    {
        using EmulatedSetup setup = OpenInline();
        using EmulatedSetup other = OpenInline();
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        DmaBuffer dead = setup.Controller.Memory.Allocate(4096);
        dead.Dispose();
        using DmaBuffer foreign = other.Controller.Memory.Allocate(4096);
        var read = new SubmissionEntry { Opcode = (byte)NvmOpcode.Read, NamespaceId = setup.Ns.Id };
        Assert.That(Assert.Throws<ObjectDisposedException>(() => qp.SubmitRawAsync(read, dead))!.ObjectName, Is.EqualTo("data"));
        Assert.That(Assert.Throws<ArgumentException>(() => qp.SubmitRawAsync(read, foreign))!.ParamName, Is.EqualTo("data"));
        Assert.That(Assert.Throws<ObjectDisposedException>(() => qp.DeallocateAsync(setup.Ns, dead, 1))!.ObjectName, Is.EqualTo("ranges"));
        Assert.That(Assert.Throws<ArgumentException>(() => qp.DeallocateAsync(setup.Ns, foreign, 1))!.ParamName, Is.EqualTo("ranges"));
        Assert.That((qp.InFlight, qp.AvailableSlots), Is.EqualTo((0, qp.Depth)), "nothing submitted, no slot lost");

        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        ValueTask raw = qp.SubmitRawAsync(read, data);
        Assert.That(data.Leases, Is.EqualTo(1));
        qp.Wait(raw);
        Assert.That(data.Leases, Is.Zero);
    }

    [Test]
    public void ARefusedSubmitLeavesNoLeaseBehind()
    {
        using EmulatedSetup setup = OpenInline();
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        DmaBuffer deadMeta = setup.Controller.Memory.Allocate(64);
        deadMeta.Dispose();
        Assert.Throws<ArgumentNullException>(() => qp.Read(setup.Ns, 0, 1, data, null, default, null!, null));
        Assert.Throws<ArgumentException>(() => qp.ReadAsync(setup.Ns, 0, 1, data, deadMeta), "no metadata on this format");
        Assert.That((data.Leases, qp.InFlight, qp.AvailableSlots), Is.EqualTo((0, 0, qp.Depth)));
    }

    /// <summary>
    /// Two threads, each with its own queue pair, write from one shared buffer (two leases at
    /// once, taken and released on two threads): after a fixed number of writes the buffer has
    /// no lease left and is still alive; disposed, it goes back exactly once.
    /// </summary>
    [Test]
    public void TwoQueuePairsOnTwoThreadsShareOneWriteBuffer()
    {
        const int WritesPerThread = 3000;
        using EmulatedSetup setup = EmulatedSetup.Open("null:lbads=4096,size=64M");
        DmaAllocator memory = setup.Controller.Memory;
        DmaBuffer shared = memory.Allocate(TwoBlocks);
        shared.Span.Fill(0x3C);
        var failures = new ConcurrentQueue<string>();
        var completed = new int[2];
        var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
            IoCompletionCallback done = static (state, in result) =>
            {
                var (counts, index, errors) = ((int[], int, ConcurrentQueue<string>))state!;
                counts[index]++;
                if (!result.IsSuccess)
                    errors.Enqueue(result.Status.ToString());
            };
            object state = (completed, t, failures);
            int submitted = 0;
            while (completed[t] < WritesPerThread)
            {
                while (submitted < WritesPerThread && qp.AvailableSlots > 0)
                {
                    qp.Write(setup.Ns, (ulong)(t * 8192 + 2 * (submitted % 4096)), 2, shared, null, default, done, state);
                    submitted++;
                }
                qp.ProcessCompletions();
            }
            qp.Drain();
        })).ToList();
        threads.ForEach(thread => thread.Start());
        threads.ForEach(thread => thread.Join());

        Assert.That(failures, Is.Empty);
        Assert.That(completed, Is.EqualTo(new[] { WritesPerThread, WritesPerThread }));
        Assert.That((shared.Leases, shared.IsDisposed), Is.EqualTo((0, false)));
        int pooled = memory.PooledSlots(TwoBlocks);
        shared.Dispose();
        Assert.That(memory.PooledSlots(TwoBlocks), Is.EqualTo(pooled + 1));
        Assert.That(memory.StrayReturns, Is.Zero);
    }

    /// <summary>
    /// The same sharing, with the buffer disposed from a third thread while both keep writing:
    /// each writer then gets ObjectDisposedException on its next submit; once both drained, no
    /// lease is left and the slot went back exactly once.
    /// </summary>
    [Test]
    public void ASharedBufferDisposedWhileTwoThreadsWriteFromItReturnsExactlyOnce()
    {
        using EmulatedSetup setup = EmulatedSetup.Open("null:lbads=4096,size=64M");
        DmaAllocator memory = setup.Controller.Memory;
        for (int round = 0; round < 20; round++)
        {
            DmaBuffer shared = memory.Allocate(TwoBlocks);
            int pooled = memory.PooledSlots(TwoBlocks);
            var submitted = new int[2];
            var refusals = new ObjectDisposedException?[2];
            var errors = new ConcurrentQueue<Exception>();
            var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
            {
                try
                {
                    using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
                    IoCompletionCallback done = static (_, in _) => { };
                    try
                    {
                        while (true)
                        {
                            if (qp.AvailableSlots > 0)
                            {
                                qp.Write(setup.Ns, (ulong)(t * 8192 + 2 * (submitted[t] % 4096)), 2, shared, null, default, done, null);
                                Volatile.Write(ref submitted[t], submitted[t] + 1);
                            }
                            qp.ProcessCompletions();
                        }
                    }
                    catch (ObjectDisposedException e)
                    {
                        refusals[t] = e;
                    }
                    qp.Drain();
                }
                catch (Exception e)
                {
                    errors.Enqueue(e);
                }
            })).ToList();
            threads.ForEach(thread => thread.Start());
            // Dispose once both have writes going (a liveness guard, not a timing assumption).
            Assert.That(SpinWait.SpinUntil(() => Volatile.Read(ref submitted[0]) > 50 && Volatile.Read(ref submitted[1]) > 50, TimeSpan.FromMinutes(1)), Is.True);
            var disposer = new Thread(shared.Dispose);
            disposer.Start();
            disposer.Join();
            threads.ForEach(thread => thread.Join());

            Assert.That(errors, Is.Empty);
            Assert.That(refusals.Select(r => r?.ObjectName), Is.All.EqualTo("data"), $"round {round}");
            Assert.That(shared.Leases, Is.Zero, $"round {round}");
            Assert.That(memory.PooledSlots(TwoBlocks), Is.EqualTo(pooled + 1), $"round {round}: returned exactly once");
            Assert.That(memory.StrayReturns, Is.Zero);
        }
    }
}
