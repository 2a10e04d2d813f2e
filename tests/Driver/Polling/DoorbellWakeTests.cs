using NUnit.Framework;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver.Polling;

/// <summary>
/// The sleeping device's side of <see cref="DoorbellWake"/> against a host doorbell write at every
/// point of its sleep (before the announcement, between it and the re-check, between the re-check
/// and the sleep): either the re-check sees the write or the sleep returns at once, woken. One
/// thread plays both sides in each order, so no interleaving is left to chance and nothing waits.
/// </summary>
public class DoorbellWakeTests
{
    public enum WritePoint { None, BeforeAnnouncement, BeforeRecheck, BeforeSleep }

    [TestCase(WritePoint.None)]
    [TestCase(WritePoint.BeforeAnnouncement)]
    [TestCase(WritePoint.BeforeRecheck)]
    [TestCase(WritePoint.BeforeSleep)]
    public void AHostWriteAtAnyPointOfTheSleepIsSeen(WritePoint point)
    {
        using var wake = new DoorbellWake();
        int doorbell = 0, seen = 0;
        void HostWrite()
        {
            Volatile.Write(ref doorbell, doorbell + 1);   // the doorbell store, then the wake check
            wake.AfterHostWrite();
        }

        if (point == WritePoint.BeforeAnnouncement)
            HostWrite();
        wake.PrepareToSleep();
        if (point == WritePoint.BeforeRecheck)
            HostWrite();
        bool recheckFound = Volatile.Read(ref doorbell) != seen;
        if (point == WritePoint.BeforeSleep)
            HostWrite();

        if (recheckFound)
        {
            wake.CancelSleep();
            Assert.That(point, Is.EqualTo(WritePoint.BeforeAnnouncement).Or.EqualTo(WritePoint.BeforeRecheck));
            return;
        }
        bool woken = wake.Sleep(0);   // no wait: a lost write would show as false here, not as a hang
        Assert.That(woken, Is.EqualTo(point == WritePoint.BeforeSleep), "a write after the re-check must leave the device woken; none must not");
        Assert.That(wake.IsSleeping, Is.False);
    }

    [Test]
    public void AWakeBeforeTheSleepIsConsumedByIt()
    {
        using var wake = new DoorbellWake();
        wake.PrepareToSleep();
        wake.Wake();
        Assert.That(wake.IsSleeping, Is.False);
        Assert.That(wake.Sleep(0), Is.True);
        wake.PrepareToSleep();
        Assert.That(wake.Sleep(0), Is.False, "the signal was consumed by the previous sleep");
    }
}
