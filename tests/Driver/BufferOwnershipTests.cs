using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Emulated;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// The driver never lets the device DMA into memory the caller does not own (issue 10 §1): a
/// disposed buffer, a buffer or namespace of another controller are refused before anything
/// reaches the ring, and a buffer disposed while a command uses it stays the command's until
/// that command completes.
/// </summary>
public class BufferOwnershipTests
{
    private const byte Pattern = 0x5A;

    /// <summary>An inline controller (nothing runs until we poll) whose block 0 holds <see cref="Pattern"/>.</summary>
    private static EmulatedSetup OpenSeeded(string address = "mem:lbads=4096,size=1M")
    {
        var setup = EmulatedSetup.Open(address, o => o.Mode = EmulatedControllerMode.Inline);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer seed = setup.Controller.Memory.Allocate(setup.Ns.BlockSize);
        seed.Span.Fill(Pattern);
        qp.Wait(qp.WriteAsync(setup.Ns, 0, 1, seed));
        return setup;
    }

    [Test]
    public void IoWithADisposedBufferIsRefusedAndTheSlotsNextOwnerIsUntouched()
    {
        using EmulatedSetup setup = OpenSeeded();
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        DmaBuffer stale = setup.Controller.Memory.Allocate(setup.Ns.BlockSize);
        stale.Dispose();
        using DmaBuffer next = setup.Controller.Memory.Allocate(setup.Ns.BlockSize);   // takes the pooled slot

        var e = Assert.Throws<ObjectDisposedException>(() => qp.ReadAsync(setup.Ns, 0, 1, stale))!;
        Assert.That(e.ObjectName, Is.EqualTo("data"));
        Assert.That(e.Message, Does.Contain("disposed"));
        Assert.That(qp.InFlight, Is.Zero, "nothing was submitted");
        qp.Drain();
        Assert.That(next.Span.ToArray(), Is.All.EqualTo(0), "the slot's next owner got no data");
        Assert.That(stale.IsDisposed, Is.True, "a disposed handle stays dead after its slot was handed out again");
        Assert.Throws<ObjectDisposedException>(() => _ = stale.Span.Length);

        using DmaBuffer meta = setup.Controller.Memory.Allocate(64);
        meta.Dispose();
        using EmulatedSetup separate = EmulatedSetup.Open("mem:lbads=512,ms=8,size=1M");
        using IoQueuePair sqp = separate.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = separate.Controller.Memory.Allocate(512);
        DmaBuffer deadMeta = separate.Controller.Memory.Allocate(8);
        deadMeta.Dispose();
        var m = Assert.Throws<ObjectDisposedException>(() => sqp.WriteAsync(separate.Ns, 0, 1, data, deadMeta))!;
        Assert.That(m.ObjectName, Is.EqualTo("metadata"));
    }

    [Test]
    public void ABufferDisposedWhileItsReadIsInFlightStaysTheCommandsUntilItCompletes()
    {
        using EmulatedSetup setup = OpenSeeded();
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        DmaBuffer target = setup.Controller.Memory.Allocate(setup.Ns.BlockSize);
        nint slot = target.Pointer;
        ValueTask read = qp.ReadAsync(setup.Ns, 0, 1, target);   // queued: the inline device has not run
        Assert.DoesNotThrow(() => target.Dispose(), "disposing a buffer in use does not throw");
        Assert.That(target.IsDisposed, Is.True);

        using DmaBuffer other = setup.Controller.Memory.Allocate(setup.Ns.BlockSize);
        Assert.That(other.Pointer, Is.Not.EqualTo(slot), "the slot is still the read's: not handed out again");
        qp.Wait(read);
        Assert.That(other.Span.ToArray(), Is.All.EqualTo(0), "the read's data did not land in another buffer");

        using DmaBuffer after = setup.Controller.Memory.Allocate(setup.Ns.BlockSize);
        Assert.That(after.Pointer, Is.EqualTo(slot), "once the read completed the slot went back to the pool");
        Assert.That(after.Span.ToArray(), Is.All.EqualTo(0), "and is handed out zeroed");
    }

    [Test]
    public void ABufferOfAnotherControllerIsRefusedAndThatControllersMemoryIsUntouched()
    {
        using EmulatedSetup one = OpenSeeded();
        using EmulatedSetup two = OpenSeeded();
        using IoQueuePair mirror = one.Controller.CreateIoQueuePair(8);
        using IoQueuePair qp = two.Controller.CreateIoQueuePair(8);
        using DmaBuffer foreign = one.Controller.Memory.Allocate(4096);
        using DmaBuffer own = two.Controller.Memory.Allocate(4096);
        // Both controllers carved the same allocations in the same order, so the two buffers share an IOVA.
        Assert.That(own.Iova, Is.EqualTo(foreign.Iova));

        var e = Assert.Throws<ArgumentException>(() => qp.ReadAsync(two.Ns, 0, 1, foreign))!;
        Assert.That(e.ParamName, Is.EqualTo("data"));
        Assert.That(e.Message, Does.Contain(one.Controller.Address).And.Contain("Memory"));
        Assert.That(qp.InFlight, Is.Zero, "nothing was submitted");
        qp.Drain();
        Assert.That(own.Span.ToArray(), Is.All.EqualTo(0), "the controller's own buffer at that IOVA was not overwritten");
    }

    [Test]
    public void ANamespaceOfAnotherControllerIsRefused()
    {
        using EmulatedSetup small = EmulatedSetup.Open("mem:lbads=512,size=1M");
        using EmulatedSetup large = EmulatedSetup.Open("mem:lbads=4096,size=1M");
        using IoQueuePair qp = large.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = large.Controller.Memory.Allocate(4096);
        Namespace foreign = small.Ns;
        Assert.That(foreign.Id, Is.EqualTo(large.Ns.Id), "same NSID, different geometry");

        var e = Assert.Throws<ArgumentException>(() => qp.ReadAsync(foreign, 0, 1, data))!;
        Assert.That(e.ParamName, Is.EqualTo("ns"));
        Assert.That(e.Message, Does.Contain(small.Controller.Address).And.Contain(large.Controller.Address));
        Assert.That(qp.InFlight, Is.Zero);
        Assert.That(Assert.Throws<ArgumentException>(() => qp.FlushAsync(foreign))!.ParamName, Is.EqualTo("ns"));
        Assert.That(Assert.Throws<ArgumentException>(() => qp.WriteZeroesAsync(foreign, 0, 1))!.ParamName, Is.EqualTo("ns"));
        Assert.That(Assert.Throws<ArgumentException>(() => qp.DeallocateAsync(foreign, 0, 1))!.ParamName, Is.EqualTo("ns"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => qp.FlushAsync(null!))!.ParamName, Is.EqualTo("ns"));
    }
}
