using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>Memory&lt;byte&gt; over DMA buffers: the same bytes, dead with the buffer, pins that lease.</summary>
[TestFixture]
public class DmaBufferMemoryTests
{
    [Test]
    public async Task MemoryIsTheBuffersBytesAndWorksWithStreams()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        using DmaBuffer buffer = setup.Controller.Memory.Allocate(4096);
        byte[] source = new byte[4096];
        new Random(3).NextBytes(source);
        using (var stream = new MemoryStream(source))
            Assert.That(await stream.ReadAsync(buffer.Memory), Is.EqualTo(4096));
        Assert.That(buffer.Span.ToArray(), Is.EqualTo(source));
        Assert.That(buffer.Memory.Slice(100, 8).ToArray(), Is.EqualTo(source.AsSpan(100, 8).ToArray()));
        using DmaBuffer slice = buffer.Slice(512, 512);
        Assert.That(slice.Memory.ToArray(), Is.EqualTo(source.AsSpan(512, 512).ToArray()));

        _ = buffer.Memory;
        long before = GC.GetAllocatedBytesForCurrentThread();
        Memory<byte> again = buffer.Memory;
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, "the manager is made once");
        Assert.That(again.Length, Is.EqualTo(4096));
    }

    [Test]
    public void MemoryOfADisposedBufferThrows()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        DmaBuffer buffer = setup.Controller.Memory.Allocate(4096);
        Memory<byte> memory = buffer.Memory;
        buffer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _ = memory.Span);
        Assert.Throws<ObjectDisposedException>(() => _ = buffer.Memory);
        Assert.Throws<ObjectDisposedException>(() => memory.Pin());
    }

    [Test]
    public unsafe void APinKeepsTheMemoryUntilItsHandleIsDisposed()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        DmaAllocator memory = setup.Controller.Memory;
        DmaBuffer buffer = memory.Allocate(4096);
        int pooled = memory.PooledSlots(4096);
        System.Buffers.MemoryHandle pin = buffer.Memory.Slice(16).Pin();
        Assert.That((nint)pin.Pointer, Is.EqualTo(buffer.Pointer + 16));
        Assert.That(buffer.Leases, Is.EqualTo(1));
        buffer.Dispose();
        Assert.That(memory.PooledSlots(4096), Is.EqualTo(pooled), "pinned memory is not handed out again");
        pin.Dispose();
        Assert.That(memory.PooledSlots(4096), Is.EqualTo(pooled + 1), "returned when the pin ends");
        Assert.That(memory.StrayReturns, Is.Zero);
    }
}
