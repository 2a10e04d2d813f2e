using NUnit.Framework;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver.Pcie;

/// <summary>The EventIdx test the host applies before ringing an MMIO doorbell (§5.9), including across the ring's wrap.</summary>
public class ShadowDoorbellNeedEventTests
{
    // (eventIdx, new, old, ring?) on a 32-entry ring: ring when the update moves the doorbell past eventIdx.
    [TestCase(0u, 1, 0, true)]      // the device has read 0 (all there was): the first new entry needs a kick
    [TestCase(0u, 2, 1, false)]     // it has not caught up to 1 yet: it will read the shadow anyway
    [TestCase(5u, 9, 3, true)]      // 5 lies in (3, 9]
    [TestCase(9u, 9, 3, false)]     // 9 is not passed (the device asks about moving beyond 9)
    [TestCase(3u, 9, 3, true)]      // eventIdx == old: the device has read everything before this update
    [TestCase(31u, 2, 30, true)]    // wraps: 30 -> 31 -> 0 -> 1 -> 2 passes 31
    [TestCase(1u, 2, 30, true)]
    [TestCase(30u, 2, 30, true)]
    [TestCase(29u, 2, 30, false)]   // behind old: not passed by this update
    [TestCase(2u, 2, 30, false)]
    [TestCase(10u, 2, 30, false)]
    public void RingsExactlyWhenTheUpdatePassesEventIdx(uint eventIndex, int next, int old, bool ring)
        => Assert.That(ShadowDoorbells.NeedEvent(eventIndex, next, old), Is.EqualTo(ring));
}
