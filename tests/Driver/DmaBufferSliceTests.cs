using NUnit.Framework;
using PolledNvme.Tests.Support;
using PolledNvme.Driver;
using PolledNvme.Emulation;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>Slices of a DMA buffer: I/O at offsets inside an arena, bounded by the slice, leasing the arena's memory.</summary>
[TestFixture]
public class DmaBufferSliceTests
{
    private static EmulatedSetup Open(string device = "mem:lbads=512,size=1M", EmulatedControllerMode mode = EmulatedControllerMode.Threaded) =>
        EmulatedSetup.Open(device, o => o.Mode = mode);

    [Test]
    public void IoThroughSlicesTouchesOnlyTheirBytesOfTheArena()
    {
        using var setup = Open("mem:lbads=512,ms=8,pi=1,size=1M");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer arena = setup.Controller.Memory.Allocate(64 * 1024);
        var pi = new IoProtectionOptions { Pract = true, Checks = PiChecks.Guard | PiChecks.ReferenceTag };

        // Written from an unaligned (not page-aligned) slice spanning a page boundary: PRP1 at an offset, PRP2 on the next page.
        using DmaBuffer source = arena.Slice(4096 - 512, 2 * 512);
        new Random(5).NextBytes(source.Span);
        byte[] written = source.Span.ToArray();
        qp.Wait(qp.WriteAsync(ns, 10, 2, source, null, pi));

        arena.Span.Fill(0xA5);
        using DmaBuffer target = arena.Slice(3 * 4096 + 516, 2 * 512);
        qp.Wait(qp.ReadAsync(ns, 10, 2, target, null, pi));
        Assert.That(target.Span.ToArray(), Is.EqualTo(written));
        Assert.That(target.Iova, Is.EqualTo(arena.Iova + 3 * 4096 + 516));
        byte[] all = arena.Span.ToArray();
        for (int i = 0; i < all.Length; i++)
        {
            if (i >= 3 * 4096 + 516 && i < 3 * 4096 + 516 + 1024)
                continue;
            if (all[i] != 0xA5)
                Assert.Fail($"byte {i} of the arena, outside the slice, changed");
        }
    }

    [Test]
    public void ACommandCannotReachPastItsSlice()
    {
        using var setup = Open();
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer arena = setup.Controller.Memory.Allocate(8 * 512);
        using DmaBuffer one = arena.Slice(512, 512);
        var e = Assert.Throws<ArgumentException>(() => qp.ReadAsync(ns, 0, 2, one))!;
        Assert.That(e.ParamName, Is.EqualTo("data"));
        Assert.That(one.Leases, Is.Zero);
    }

    [Test]
    public void SliceBoundsAlignmentAndNesting()
    {
        using var setup = Open();
        using DmaBuffer arena = setup.Controller.Memory.Allocate(4096);
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => arena.Slice(2, 16))!.ParamName, Is.EqualTo("offset"), "not dword aligned");
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => arena.Slice(4096, 4))!.ParamName, Is.EqualTo("offset"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => arena.Slice(-4, 4))!.ParamName, Is.EqualTo("offset"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => arena.Slice(4092, 8))!.ParamName, Is.EqualTo("length"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => arena.Slice(0, 0))!.ParamName, Is.EqualTo("length"));
        using DmaBuffer outer = arena.Slice(1024, 2048);
        using DmaBuffer inner = outer.Slice(512, 512);
        Assert.That(inner.Iova, Is.EqualTo(arena.Iova + 1536));
        Assert.That(inner.Pointer, Is.EqualTo(arena.Pointer + 1536));
        Assert.Throws<ArgumentOutOfRangeException>(() => outer.Slice(1024, 1028), "a slice of a slice stays inside it");
        inner.Span.Fill(7);
        Assert.That(arena.Span.Slice(1536, 512).ToArray(), Is.All.EqualTo(7));
    }

    [Test]
    public void DisposingTheArenaKillsItsSlicesAndDisposingASliceOnlyItself()
    {
        using var setup = Open();
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        DmaBuffer arena = setup.Controller.Memory.Allocate(4096);
        DmaBuffer a = arena.Slice(0, 512);
        DmaBuffer b = arena.Slice(512, 512);
        a.Dispose();
        Assert.That(a.IsDisposed, Is.True);
        Assert.Throws<ObjectDisposedException>(() => qp.ReadAsync(ns, 0, 1, a));
        Assert.That(arena.IsDisposed, Is.False);
        qp.Wait(qp.ReadAsync(ns, 0, 1, b));

        arena.Dispose();
        Assert.That(b.IsDisposed, Is.True);
        Assert.Throws<ObjectDisposedException>(() => _ = b.Span);
        Assert.Throws<ObjectDisposedException>(() => qp.ReadAsync(ns, 0, 1, b));
        Assert.Throws<ObjectDisposedException>(() => b.Slice(0, 4));
    }

    [Test]
    public void AnArenaDisposedWhileASlicesReadIsInFlightStaysTheCommandsUntilItCompletes()
    {
        using var setup = Open(mode: EmulatedControllerMode.Inline);   // nothing completes until polled
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        DmaBuffer arena = setup.Controller.Memory.Allocate(4096);
        DmaBuffer slice = arena.Slice(1024, 512);
        int freeBefore = setup.Controller.Memory.PooledSlots(4096);
        ValueTask read = qp.ReadAsync(ns, 0, 1, slice);
        Assert.That(arena.Leases, Is.EqualTo(1), "the slice's command leases the arena");
        arena.Dispose();
        Assert.That(setup.Controller.Memory.PooledSlots(4096), Is.EqualTo(freeBefore), "not back in the pool while the read may still land");
        qp.Wait(read);
        Assert.That(arena.Leases, Is.Zero);
        Assert.That(setup.Controller.Memory.PooledSlots(4096), Is.EqualTo(freeBefore + 1), "back once the read completed");
        Assert.That(setup.Controller.Memory.StrayReturns, Is.Zero, "the slice returned nothing of its own");
    }

    [Test]
    public void ASliceOfAnotherControllersBufferIsRefused()
    {
        using var one = Open();
        using var two = Open();
        using IoQueuePair qp = one.Controller.CreateIoQueuePair(8);
        using DmaBuffer foreign = two.Controller.Memory.Allocate(4096);
        using DmaBuffer slice = foreign.Slice(512, 512);
        Assert.That(Assert.Throws<ArgumentException>(() => qp.ReadAsync(one.Ns, 0, 1, slice))!.ParamName, Is.EqualTo("data"));
    }

    [Test]
    public void IoThroughSlicesAllocatesNothing()
    {
        using var setup = Open(mode: EmulatedControllerMode.Inline);
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(32);
        using DmaBuffer arena = setup.Controller.Memory.Allocate(16 * 512);
        DmaBuffer[] slices = Enumerable.Range(0, 16).Select(i => arena.Slice(i * 512, 512)).ToArray();
        void Run(int ios)
        {
            for (int i = 0; i < ios; i++)
                qp.Wait(qp.ReadAsync(ns, (ulong)(i % 64), 1, slices[i % slices.Length]));
        }
        const int Ios = 16_384;
        long allocated = SteadyState.AllocatedBytes(Run, Ios);
        Assert.That(allocated, Is.LessThan(Ios), $"{allocated} bytes over {Ios} I/Os (a per-I/O allocation would be 24+ bytes each)");
    }
}
