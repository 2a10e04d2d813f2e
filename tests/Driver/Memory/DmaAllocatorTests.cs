using NUnit.Framework;
using PolledNvme.Queues;
using PolledNvme.Tests.Support;

namespace PolledNvme.Tests.Driver.Memory;

/// <summary>Hugepage carving, the locked-page fallback, pooling and the errors that name the fix.</summary>
public class DmaAllocatorTests
{
    [Test]
    public void WithoutHugepagesAndWithoutFallbackTheErrorNamesTheFix()
    {
        using var turn = HugepagePool.TakeTurn();   // no run of this suite reserves hugepages meanwhile
        if (HugepagePool.Free > 0)
            Assert.Ignore("Hugepages are reserved on this machine; the no-hugepage error cannot occur.");
        using var memory = new DmaAllocator(new FakeMapper());
        DmaBuffer? buffer = null;
        var e = Assert.Catch(() => buffer = memory.Allocate(4096));
        if (buffer is not null)
        {
            buffer.Dispose();
            Assert.That(memory.UsesHugepages, Is.True, "without hugepages and without the fallback, an allocation must fail");
            Assert.Inconclusive("another process on the machine reserved hugepages while this test ran");
        }
        Assert.That(e, Is.TypeOf<DmaMemoryException>());
        Assert.That(e!.Message, Does.Contain("scripts/setup-hugepages.sh").And.Contain("/proc/sys/vm/nr_hugepages").And.Contain("AllowNonHugepageFallback"));
    }

    [Test]
    public void FallbackIsReportedAndBuffersAreAlignedMappedOncePerChunkAndPooled()
    {
        var mapper = new FakeMapper();
        using var memory = new DmaAllocator(mapper, new DmaAllocatorOptions { AllowNonHugepageFallback = true });
        var buffers = new List<DmaBuffer>();
        foreach (int size in new[] { 64, 100, 512, 4096, 4097, 65536, 1 << 20 })
        {
            DmaBuffer b = memory.Allocate(size);
            buffers.Add(b);
            Assert.That(b.Length, Is.EqualTo(size));
            Assert.That(b.Span.Length, Is.EqualTo(size));
            Assert.That(b.Iova - (ulong)b.Pointer, Is.EqualTo(FakeMapper.Shift), "IOVA comes from the mapper");
            int alignment = Math.Min(4096, b.Capacity);
            Assert.That((long)b.Pointer % alignment, Is.Zero, $"{size}-byte buffer aligned to {alignment}");
            if (size <= 4096)
                Assert.That((long)b.Pointer / 4096, Is.EqualTo(((long)b.Pointer + size - 1) / 4096), "a buffer of up to one page stays in one page");
            Assert.That(b.Span.ToArray(), Is.All.EqualTo(0));
            b.Span.Fill(0xA5);
        }
        // Whether hugepages were free when it allocated is the machine's business (another process may
        // have taken or reserved some since): the report must match what it got.
        Assert.That(memory.MemoryKind, memory.UsesHugepages ? Is.EqualTo("2 MiB hugepages") : Does.Contain("fallback"));
        Assert.That(mapper.MapCalls, Is.LessThanOrEqualTo(2), "whole 2 MiB chunks are mapped, not buffers");

        nint reused = buffers[3].Pointer;
        buffers[3].Dispose();
        Assert.That(() => buffers[3].Span.Length, Throws.TypeOf<ObjectDisposedException>());
        DmaBuffer again = memory.Allocate(4000);
        Assert.That(again.Pointer, Is.EqualTo(reused), "a freed buffer comes back from its size class");
        Assert.That(again.Span.ToArray(), Is.All.EqualTo(0), "pooled buffers are zeroed when handed out again");
    }

    [Test]
    public void LargeBuffersAreOneContiguousMapping()
    {
        var mapper = new FakeMapper();
        using var memory = new DmaAllocator(mapper, new DmaAllocatorOptions { AllowNonHugepageFallback = true });
        using DmaBuffer big = memory.Allocate(5 << 20);
        Assert.That(mapper.Translate(big.Iova, big.Length).Length, Is.EqualTo(5 << 20));
    }

    [Test]
    public void DisposingTheAllocatorKillsItsBuffers()
    {
        var memory = new DmaAllocator(new FakeMapper(), new DmaAllocatorOptions { AllowNonHugepageFallback = true });
        DmaBuffer b = memory.Allocate(512);
        memory.Dispose();
        Assert.That(b.IsDisposed, Is.True);
        Assert.Throws<ObjectDisposedException>(() => _ = b.Pointer);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DmaAllocator(new FakeMapper()).Allocate(0));
    }
}

/// <summary>The per-queue request pool.</summary>
public class RequestPoolTests
{
    [Test]
    public void RentsEachIndexOnceAndReusesReturnedOnes()
    {
        var pool = new RequestPool<object>(3, i => new object());
        Assert.That(pool.TryRent(out int a), Is.True);
        Assert.That(pool.TryRent(out int b), Is.True);
        Assert.That(pool.TryRent(out int c), Is.True);
        Assert.That(new[] { a, b, c }, Is.EquivalentTo(new[] { 0, 1, 2 }));
        Assert.That(pool.TryRent(out _), Is.False);
        pool.Return(b);
        Assert.That(pool.TryRent(out int d), Is.True);
        Assert.That(d, Is.EqualTo(b));
        pool.Return(a); pool.Return(c); pool.Return(d);
        Assert.Throws<InvalidOperationException>(() => pool.Return(0));
    }
}

/// <summary>The hugepage path proper; runs only where hugepages are reserved (scripts/setup-hugepages.sh).</summary>
public class HugepageTests
{
    [Test]
    public void HugepagesAreUsedWhenReserved()
    {
        // Reserve two pages for this test where none are free and we may (root); other processes may take
        // free pages at any moment, so a failed allocation is the machine's state, not the allocator's fault.
        using var turn = HugepagePool.TakeTurn();
        int restore = -1;
        if (HugepagePool.Free < 2)
        {
            if (!HugepagePool.CanResize)
                Assert.Ignore("No free 2 MiB hugepages reserved here (echo N > /proc/sys/vm/nr_hugepages).");
            restore = HugepagePool.Persistent;
            HugepagePool.SetPersistent(restore + 2);
        }
        try
        {
            var mapper = new FakeMapper();
            using var memory = new DmaAllocator(mapper);
            DmaBuffer a, b;
            try
            {
                a = memory.Allocate(4096);
                b = memory.Allocate(1 << 20);
            }
            catch (DmaMemoryException e)
            {
                Assert.Inconclusive($"other processes took the free hugepages (or the kernel could not reserve them): {e.Message}");
                throw;
            }
            using (a)
            using (b)
            {
                Assert.That(memory.UsesHugepages, Is.True);
                Assert.That(memory.MemoryKind, Is.EqualTo("2 MiB hugepages"));
                Assert.That((long)a.Pointer % (2 << 20), Is.Zero, "the first buffer starts the 2 MiB chunk");
                Assert.That(mapper.MapCalls, Is.EqualTo(1), "one mapping for the chunk");
                b.Span.Fill(1);
            }
        }
        finally
        {
            if (restore >= 0)
                HugepagePool.SetPersistent(restore);
        }
    }
}
