using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Emulation;
using PolledNvme.Queues;
using PolledNvme.Tests.Support;

namespace PolledNvme.Tests.Driver.Memory;

/// <summary>
/// An application's own memory registered once (DmaAllocator.Register) and carved with Slice:
/// I/O lands in the application's bytes, the registration is checked (page aligned, whole pages,
/// pinnable, no overlap), and the buffer follows the DmaBuffer rules (one controller, dead once
/// disposed, mapped and pinned until the last command on it completed).
/// </summary>
public class RegisteredMemoryTests
{
    private const int Page = 4096;

    [Test]
    public void Io_at_offsets_lands_in_the_applications_own_array()
    {
        using var controller = NvmeController.Open("mem:lbads=4096,size=1M");
        Namespace ns = controller.Namespaces[0];
        using IoQueuePair qp = controller.CreateIoQueuePair(8);
        byte[] pool = GC.AllocateArray<byte>(9 * Page, pinned: true);
        Memory<byte> pages = DmaAllocator.PageAlignedPart(pool);
        Assert.That(pages.Length, Is.EqualTo(8 * Page), "one page of slack holds the alignment");
        long mappedBefore = controller.Memory.MappedBytes;
        using DmaBuffer arena = controller.Memory.Register(pages);
        Assert.That(controller.Memory.MappedBytes - mappedBefore, Is.EqualTo(8 * Page), "mapped once, as one region");

        pages.Span.Slice(3 * Page, Page).Fill(0xA5);   // the application writes its own memory
        qp.Wait(qp.WriteAsync(ns, slba: 5, blocks: 1, arena.Slice(3 * Page, Page)));
        qp.Wait(qp.ReadAsync(ns, slba: 5, blocks: 1, arena.Slice(6 * Page, Page)));
        Assert.That(pages.Span.Slice(6 * Page, Page).ToArray(), Is.All.EqualTo((byte)0xA5), "read into page 6 of the application's array");
        Assert.That(pages.Span[..(3 * Page)].ToArray(), Is.All.Zero, "nothing else was touched");
    }

    [Test]
    public void Bad_regions_are_refused_with_what_to_do()
    {
        using var controller = NvmeController.Open("mem:lbads=4096,size=1M");
        DmaAllocator memory = controller.Memory;
        byte[] pool = GC.AllocateArray<byte>(10 * Page, pinned: true);
        Memory<byte> aligned = DmaAllocator.PageAlignedPart(pool);

        var empty = Assert.Throws<ArgumentException>(() => memory.Register(Memory<byte>.Empty))!;
        Assert.That(empty.ParamName, Is.EqualTo("memory"));
        Assert.That(empty.Message, Does.Contain("empty"));
        var partial = Assert.Throws<ArgumentException>(() => memory.Register(aligned[..(Page + 512)]))!;
        Assert.That(partial.Message, Does.Contain("whole number of 4 KiB pages").And.Contain("4608"));
        var unaligned = Assert.Throws<ArgumentException>(() => memory.Register(aligned.Slice(64, 2 * Page)))!;
        Assert.That(unaligned.Message, Does.Contain("page boundary").And.Contain("from offset 4032"));
        using var unpinnable = new NativePages(2, pinnable: false);
        var moving = Assert.Throws<ArgumentException>(() => memory.Register(unpinnable.Memory))!;
        Assert.That(moving.Message, Does.Contain("could not be pinned"));

        using DmaBuffer first = memory.Register(aligned[..(4 * Page)]);
        var twice = Assert.Throws<ArgumentException>(() => memory.Register(aligned.Slice(3 * Page, 2 * Page)))!;
        Assert.That(twice.Message, Does.Contain("overlaps memory already registered"));
        using DmaBuffer own = memory.Allocate(2 * Page);
        var ours = Assert.Throws<ArgumentException>(() => memory.Register(own.Memory))!;
        Assert.That(ours.Message, Does.Contain("allocator's own DMA memory"));
        Assert.That(own.Leases, Is.Zero, "the refused registration let go of the buffer's pin");

        Assert.That(memory.Register(aligned.Slice(4 * Page, 4 * Page)).Length, Is.EqualTo(4 * Page), "the rest registers fine");
        controller.Dispose();
        Assert.Throws<ObjectDisposedException>(() => memory.Register(aligned.Slice(8 * Page, Page)));
    }

    [Test]
    public void Another_controller_refuses_a_registered_buffer()
    {
        using var a = NvmeController.Open("mem:lbads=4096,size=1M");
        using var b = NvmeController.Open("mem:lbads=4096,size=1M");
        using IoQueuePair qp = b.CreateIoQueuePair(4);
        using var pages = new NativePages(1);
        using DmaBuffer registered = a.Memory.Register(pages.Memory);
        var e = Assert.Throws<ArgumentException>(() => _ = qp.ReadAsync(b.Namespaces[0], 0, 1, registered))!;
        Assert.That(e.ParamName, Is.EqualTo("data"));
    }

    [Test]
    public void Disposed_while_in_flight_it_stays_mapped_and_pinned_until_the_command_completes()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M", o => o.Mode = EmulatedControllerMode.Inline);
        DmaAllocator memory = setup.Controller.Memory;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using var pages = new NativePages(4);
        long mappedBefore = memory.MappedBytes;
        DmaBuffer arena = memory.Register(pages.Memory);
        DmaBuffer slot = arena.Slice(2 * Page, Page);
        Assert.That(pages.Pins, Is.EqualTo(1));

        ValueTask read = qp.ReadAsync(setup.Ns, 0, 1, slot);   // waits in the SQ: the inline controller has not run
        arena.Dispose();
        Assert.That(arena.IsDisposed && slot.IsDisposed, Is.True);
        Assert.Throws<ObjectDisposedException>(() => _ = qp.ReadAsync(setup.Ns, 1, 1, slot), "a disposed arena takes no new I/O");
        Assert.That((memory.MappedBytes - mappedBefore, pages.Pins), Is.EqualTo((4L * Page, 1)), "the read still owns the memory");

        qp.Wait(read);
        Assert.That((memory.MappedBytes - mappedBefore, pages.Pins), Is.EqualTo((0L, 0)), "unmapped and unpinned once the read completed");
        Assert.That(memory.StrayReturns, Is.Zero);
    }

    [Test]
    public void Controller_disposal_unpins_what_is_still_registered()
    {
        var controller = NvmeController.Open("mem:lbads=4096,size=1M");
        using var pages = new NativePages(2);
        DmaBuffer registered = controller.Memory.Register(pages.Memory);
        controller.Dispose();
        Assert.That((registered.IsDisposed, pages.Pins), Is.EqualTo((true, 0)));
    }

    [Test]
    public void Io_at_offsets_of_a_registered_arena_allocates_nothing()
    {
        using var setup = EmulatedSetup.Open("null:lbads=4096,size=1G");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(64);
        using var pages = new NativePages(16);
        using DmaBuffer arena = setup.Controller.Memory.Register(pages.Memory);
        DmaBuffer[] slots = Enumerable.Range(0, 16).Select(i => arena.Slice(i * Page, Page)).ToArray();   // carved once
        Namespace ns = setup.Ns;
        var counter = new CompletionCounter();
        Action<int> submitOne = i => qp.Read(ns, (ulong)(i % 1024), 1, slots[i % slots.Length], null, default, CompletionCounter.Callback, counter);

        long allocated = SteadyState.AllocatedBytes(count => CompletionCounter.RunCallbackLoop(qp, count, submitOne), 20_000);
        Assert.That(counter.Failed, Is.Zero);
        Assert.That(allocated, Is.Zero, $"{allocated} bytes allocated over 20000 I/Os at offsets of a registered arena");
    }
}
