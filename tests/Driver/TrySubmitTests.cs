using NUnit.Framework;
using PolledNvme.Tests.Support;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>The Try forms: false instead of QueueFullException, nothing submitted or leased; misuse still throws.</summary>
[TestFixture]
public class TrySubmitTests
{
    private static readonly IoCompletionCallback Count = static (object? state, in IoResult result) =>
    {
        var counts = (int[])state!;
        counts[result.IsSuccess ? 0 : 1]++;
    };

    private static EmulatedSetup OpenInline(string device = "mem:lbads=512,size=1M") =>
        // Inline controller: nothing completes until the queue pair is polled, so a pair stays full.
        EmulatedSetup.Open(device, o => o.Mode = EmulatedControllerMode.Inline);

    [Test]
    public void EveryTryFormReturnsFalseOnAFullPairAndLeavesNothingBehind()
    {
        using var setup = OpenInline("mem:lbads=512,ms=8,pi=1,size=1M");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(4);
        using DmaBuffer data = setup.Controller.Memory.Allocate(ns.BlockSize);
        using DmaBuffer spare = setup.Controller.Memory.Allocate(ns.BlockSize);
        using DmaBuffer meta = setup.Controller.Memory.Allocate(8);
        var pract = new IoProtectionOptions { Pract = true, Checks = PiChecks.Guard | PiChecks.ReferenceTag };
        var counts = new int[2];

        for (int i = 0; i < 3; i++)
            Assert.That(qp.TryWrite(ns, (ulong)i, 1, data, null, in pract, Count, counts), Is.True, $"slot {i} is free");
        Assert.That(qp.AvailableSlots, Is.Zero);
        int spareLeases = spare.Leases;

        Assert.That(qp.TryRead(ns, 9, 1, spare, null, in pract, Count, counts), Is.False);
        Assert.That(qp.TryWrite(ns, 9, 1, spare, null, in pract, Count, counts), Is.False);
        Assert.That(qp.TryCompare(ns, 9, 1, spare, meta, default, Count, counts), Is.False);
        Assert.That(qp.TryVerify(ns, 9, 1, default, Count, counts), Is.False);
        Assert.That(qp.TryWriteZeroes(ns, 9, 1, default, false, Count, counts), Is.False);
        Assert.That(qp.TryFlush(ns, Count, counts), Is.False);
        Assert.That(qp.TryDeallocate(ns, 9, 1, Count, counts), Is.False);
        Assert.That(spare.Leases, Is.EqualTo(spareLeases), "a refused Try leases no buffer");
        Assert.That(meta.Leases, Is.Zero);
        Assert.That(qp.InFlight, Is.EqualTo(3), "nothing more reached the ring");
        Assert.Throws<QueueFullException>(() => qp.Read(ns, 9, 1, spare, null, in pract, Count, counts), "the plain form still throws");

        qp.Drain();
        Assert.That(counts, Is.EqualTo(new[] { 3, 0 }));
        Assert.That(qp.TryRead(ns, 0, 1, spare, null, in pract, Count, counts), Is.True, "a slot is free again");
        qp.Drain();
        Assert.That(counts, Is.EqualTo(new[] { 4, 0 }));
        Assert.That(spare.Span.ToArray(), Is.EqualTo(data.Span.ToArray()), "the Try write and read moved the data");
    }

    [Test]
    public void MisuseThrowsFromTheTryFormsEvenWhenThePairIsFull()
    {
        using var setup = OpenInline();
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(2);
        using DmaBuffer data = setup.Controller.Memory.Allocate(ns.BlockSize);
        var counts = new int[2];
        Assert.That(qp.TryRead(ns, 0, 1, data, null, default, Count, counts), Is.True);
        Assert.That(qp.AvailableSlots, Is.Zero);

        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => qp.TryRead(ns, 0, 0, data, null, default, Count, counts))!.ParamName, Is.EqualTo("blocks"));
        Assert.That(Assert.Throws<ArgumentException>(() => qp.TryRead(ns, 0, 2, data, null, default, Count, counts))!.ParamName, Is.EqualTo("data"), "a buffer too small for 2 blocks");
        DmaBuffer dead = setup.Controller.Memory.Allocate(ns.BlockSize);
        dead.Dispose();
        Assert.Throws<ObjectDisposedException>(() => qp.TryWrite(ns, 0, 1, dead, null, default, Count, counts));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => qp.TryDeallocate(ns, 0, 0, Count, counts))!.ParamName, Is.EqualTo("blocks"));
        using (var other = OpenInline())
        using (DmaBuffer foreign = other.Controller.Memory.Allocate(ns.BlockSize))
            Assert.That(Assert.Throws<ArgumentException>(() => qp.TryRead(ns, 0, 1, foreign, null, default, Count, counts))!.ParamName, Is.EqualTo("data"));
        Exception? fromOtherThread = null;
        var t = new Thread(() => fromOtherThread = Record(() => qp.TryFlush(ns, Count, counts)));
        t.Start();
        t.Join();
        Assert.That(fromOtherThread, Is.TypeOf<InvalidOperationException>(), "one queue pair, one thread");
        qp.Drain();
        Assert.That(counts, Is.EqualTo(new[] { 1, 0 }));
    }

    [Test]
    public void ANullCallbackIsRefusedAndFreesItsSlot()
    {
        using var setup = OpenInline();
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(4);
        using DmaBuffer data = setup.Controller.Memory.Allocate(ns.BlockSize);
        int before = qp.AvailableSlots;
        Assert.That(Assert.Throws<ArgumentNullException>(() => qp.TryRead(ns, 0, 1, data, null, default, null!, null))!.ParamName, Is.EqualTo("callback"));
        Assert.That(qp.AvailableSlots, Is.EqualTo(before));
        Assert.That(data.Leases, Is.Zero);
    }

    [Test]
    public void TheTryFormsAllocateNothingPerIo()
    {
        using var setup = OpenInline();
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(32);
        using DmaBuffer data = setup.Controller.Memory.Allocate(ns.BlockSize);
        var counts = new int[2];
        void Run(int ios)
        {
            for (int done = 0; done < ios;)
            {
                if (qp.TryRead(ns, (ulong)(done % 64), 1, data, null, default, Count, counts))
                    done++;
                else
                    qp.ProcessCompletions();
            }
            qp.Drain();
        }
        const int Ios = 16_384;
        long allocated = SteadyState.AllocatedBytes(Run, Ios);
        // Under a byte per I/O: one-time runtime work a busy machine pushes into this phase may
        // allocate a little, a per-I/O allocation would be at least 24 bytes each.
        Assert.That(allocated, Is.LessThan(Ios), $"{allocated} bytes over {Ios} I/Os");
        Assert.That(counts[1], Is.Zero);
    }

    private static Exception? Record(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
