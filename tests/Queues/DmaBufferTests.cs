using NUnit.Framework;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Queues;

/// <summary>
/// DmaBuffer handles and leases: a disposed handle is dead for good, a leased buffer goes back
/// to the pool only after its last lease, exactly once, whichever thread disposes or releases.
/// </summary>
public class DmaBufferTests
{
    private static DmaAllocator NewAllocator() => new(new FakeMapper(), new DmaAllocatorOptions { AllowNonHugepageFallback = true });

    [Test]
    public void EachAllocationIsANewHandleAndADisposedOneNeverComesBack()
    {
        using DmaAllocator memory = NewAllocator();
        DmaBuffer first = memory.Allocate(512);
        nint slot = first.Pointer;
        first.Dispose();
        DmaBuffer second = memory.Allocate(512);
        Assert.That(second.Pointer, Is.EqualTo(slot), "the slot is pooled");
        Assert.That(second, Is.Not.SameAs(first), "but handed out behind a new handle");
        Assert.That(first.IsDisposed, Is.True);
        Assert.That(second.IsDisposed, Is.False);
        Assert.Throws<ObjectDisposedException>(() => _ = first.Span.Length);
        Assert.That(first.TryAcquireLease(), Is.False, "a dead handle cannot be leased");
        first.Dispose();   // a second Dispose of the dead handle does nothing to the slot's new owner
        Assert.That(second.IsDisposed, Is.False);
        Assert.That(memory.PooledSlots(512), Is.Zero);
        second.Dispose();
        Assert.That(memory.PooledSlots(512), Is.EqualTo(1));
        Assert.That(memory.StrayReturns, Is.Zero);
    }

    [Test]
    public void ALeasedBufferReturnsToThePoolWhenItsLastLeaseEnds()
    {
        using DmaAllocator memory = NewAllocator();
        DmaBuffer buffer = memory.Allocate(4096);
        Assert.That(buffer.TryAcquireLease(), Is.True);
        Assert.That(buffer.TryAcquireLease(), Is.True);
        Assert.That(buffer.Leases, Is.EqualTo(2));

        Assert.DoesNotThrow(buffer.Dispose);
        Assert.That(buffer.IsDisposed, Is.True);
        Assert.That(buffer.TryAcquireLease(), Is.False, "no new lease once disposed");
        Assert.That(memory.PooledSlots(4096), Is.Zero, "still leased: not pooled");
        using (DmaBuffer other = memory.Allocate(4096))
            Assert.That(other.Iova, Is.Not.EqualTo(buffer.Iova), "its slot is not handed out");

        buffer.ReleaseLease();
        Assert.That(memory.PooledSlots(4096), Is.EqualTo(1), "one lease left: still not pooled (the other buffer went back)");
        buffer.ReleaseLease();
        Assert.That(memory.PooledSlots(4096), Is.EqualTo(2), "the last release returned it");
        Assert.That(buffer.Leases, Is.Zero);
        Assert.That(memory.StrayReturns, Is.Zero);
    }

    [Test]
    public void LeasesWithoutDisposeLeaveTheBufferAlive()
    {
        using DmaAllocator memory = NewAllocator();
        using DmaBuffer buffer = memory.Allocate(64);
        for (int i = 0; i < 3; i++)
        {
            Assert.That(buffer.TryAcquireLease(), Is.True);
            buffer.ReleaseLease();
        }
        Assert.That((buffer.IsDisposed, buffer.Leases, memory.PooledSlots(64)), Is.EqualTo((false, 0, 0)));
        buffer.Span.Fill(1);
    }

    [Test]
    public void DisposingTheAllocatorKillsLeasedBuffersAndLateReleasesAreHarmless()
    {
        DmaAllocator memory = NewAllocator();
        DmaBuffer leased = memory.Allocate(512);
        Assert.That(leased.TryAcquireLease(), Is.True);
        memory.Dispose();
        Assert.That(leased.IsDisposed, Is.True);
        Assert.Throws<ObjectDisposedException>(() => _ = leased.Pointer);
        Assert.DoesNotThrow(leased.ReleaseLease);
        Assert.DoesNotThrow(leased.Dispose);
        Assert.That(memory.StrayReturns, Is.Zero);
    }

    /// <summary>
    /// Two threads take and end leases on one buffer while a third disposes it at an arbitrary
    /// point: afterwards no lease is left, the slot went back to the pool exactly once, and no
    /// thread got a lease after it had once been refused (dispose is final).
    /// </summary>
    [Test]
    public void ConcurrentLeasesAndDisposeReturnTheSlotExactlyOnce()
    {
        const int Rounds = 200;
        const int Iterations = 20_000;
        using DmaAllocator memory = NewAllocator();
        for (int round = 0; round < Rounds; round++)
        {
            DmaBuffer buffer = memory.Allocate(256);
            int pooled = memory.PooledSlots(256);
            var leasedAfterRefusal = new int[2];
            var started = new CountdownEvent(2);
            var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
            {
                started.Signal();
                bool refused = false;
                for (int i = 0; i < Iterations; i++)
                {
                    if (buffer.TryAcquireLease())
                    {
                        if (refused)
                            leasedAfterRefusal[t]++;
                        buffer.ReleaseLease();
                    }
                    else
                    {
                        refused = true;
                    }
                }
            })).ToArray();
            foreach (Thread thread in threads)
                thread.Start();
            started.Wait();
            buffer.Dispose();
            foreach (Thread thread in threads)
                thread.Join();
            Assert.That(buffer.Leases, Is.Zero, $"round {round}");
            Assert.That(memory.PooledSlots(256), Is.EqualTo(pooled + 1), $"round {round}: returned exactly once");
            Assert.That(leasedAfterRefusal, Is.All.Zero, $"round {round}");
            Assert.That(memory.StrayReturns, Is.Zero);
            memory.Allocate(256);   // takes the slot back out so the next round starts from the same pool
        }
    }
}
