using System.Runtime.InteropServices;
using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation;

/// <summary>
/// The emulated controller's completion interrupt (<see cref="EmulatedCompletionQueue.RaiseInterrupt"/>)
/// against a host that goes to sleep in the driver's order (IoQueuePair: caught up and head published,
/// arm = Armed and consume the signal, fence, re-check the CQ, sleep), with the device posting and
/// raising at every point of it: the host's re-check finds the entry or its eventfd is readable when it
/// sleeps (or becomes so during the sleep). One thread plays both sides in each order: nothing waits,
/// nothing depends on timing. Also what the idle device thread reads of the host (<see cref="EmulatedCompletionQueue.PeekHead"/>).
/// </summary>
public unsafe class CompletionInterruptTests
{
    public enum Point { BeforeArm, BeforeRecheck, BeforeSleep, DuringSleep }

    private static IEnumerable<TestCaseData> PostThenRaise()
    {
        foreach (Point post in new[] { Point.BeforeArm, Point.BeforeRecheck, Point.BeforeSleep })
            foreach (Point raise in Enum.GetValues<Point>())
                if (raise >= post)
                    yield return new TestCaseData(post, raise);
    }

    private sealed class Rig : IDisposable
    {
        public const int Entries = 8;
        public readonly CompletionEntry* Ring = (CompletionEntry*)NativeMemory.AllocZeroed(Entries * CompletionEntry.Size);
        public readonly uint* Head = (uint*)NativeMemory.AllocZeroed(4);
        public readonly EventFd Vector = new();
        public readonly EmulatedCompletionQueue Cq;
        public int HostHead;

        public Rig() => Cq = new EmulatedCompletionQueue(1, Entries, Ring, Head) { InterruptsEnabled = true, InterruptVector = 1 };

        public void Post(ushort commandId) => Cq.Post(0, 0, 1, commandId, NvmeStatus.Success);

        /// <summary>The host's poll: consumes new entries (first lap: phase 1) and publishes its head.</summary>
        public int Reap()
        {
            int reaped = 0;
            while (HostHead < Entries && (Volatile.Read(ref Ring[HostHead].StatusAndPhase) & 1) == 1)
            {
                HostHead++;
                reaped++;
            }
            if (reaped != 0)
                Volatile.Write(ref *Head, (uint)HostHead);
            return reaped;
        }

        public void Dispose()
        {
            Vector.Dispose();
            NativeMemory.Free(Ring);
            NativeMemory.Free(Head);
        }
    }

    [TestCaseSource(nameof(PostThenRaise))]
    public void ACompletionAtAnyPointOfTheHostsSleepIsSeen(Point post, Point raise)
    {
        using var rig = new Rig();
        void DeviceAt(Point p)
        {
            if (post == p)
                rig.Post(1);
            if (raise == p)
                rig.Cq.RaiseInterrupt(rig.Vector);
        }

        DeviceAt(Point.BeforeArm);
        rig.Vector.Armed = true;   // arm
        rig.Vector.Consume();
        Interlocked.MemoryBarrier();
        DeviceAt(Point.BeforeRecheck);
        int found = rig.Reap();   // re-check
        DeviceAt(Point.BeforeSleep);
        if (found != 0)
        {
            Assert.That(post, Is.Not.EqualTo(Point.BeforeSleep));
            return;
        }
        bool readable = rig.Vector.Wait(0);   // the sleep: returns at once when signalled
        DeviceAt(Point.DuringSleep);
        readable |= rig.Vector.Wait(0);       // a signal during the sleep wakes it
        Assert.That(readable, Is.True, $"posted {post}, raised {raise}: the re-check missed the entry and nothing woke the sleep");
        Assert.That(rig.Reap(), Is.EqualTo(1), "woken, the host finds the entry");
    }

    /// <summary>
    /// The lost wake-up the bench showed (a host asleep 100 ms with 128 completions in its CQ): the
    /// device posts several entries in one pass; the host consumes the first ones while the pass is
    /// still running, catches up, arms, re-checks before the next entry lands, and sleeps. The pass
    /// must signal at its end although the host's head is past where the pass began.
    /// </summary>
    [Test]
    public void AHostThatCatchesUpInTheMiddleOfAPassAndSleepsIsWoken()
    {
        using var rig = new Rig();
        rig.Post(1);   // the pass begins
        Assert.That(rig.Reap(), Is.EqualTo(1), "the host consumes it at once and publishes its head");
        rig.Vector.Armed = true;   // nothing more for a while: arm, re-check, sleep
        rig.Vector.Consume();
        Interlocked.MemoryBarrier();
        Assert.That(rig.Reap(), Is.Zero);
        rig.Post(2);   // the same pass goes on
        rig.Cq.RaiseInterrupt(rig.Vector);   // and ends
        Assert.That(rig.Vector.Wait(0), Is.True, "the sleeping host was not signalled for the entry it has not seen");
        Assert.That(rig.Reap(), Is.EqualTo(1));
    }

    [Test]
    public void AHostThatHasSeenEverythingIsNotSignalled()
    {
        using var rig = new Rig();
        rig.Post(1);
        rig.Post(2);
        Assert.That(rig.Reap(), Is.EqualTo(2), "consumed during the pass");
        rig.Vector.Armed = true;
        rig.Cq.RaiseInterrupt(rig.Vector);
        Assert.That(rig.Vector.Wait(0), Is.False, "no write(2) for entries the host has consumed");
    }

    [Test]
    public void APollingHostGetsNoSignal()
    {
        using var rig = new Rig();
        rig.Post(1);
        rig.Cq.RaiseInterrupt(rig.Vector);   // not armed: a masked vector sends nothing
        Assert.That(rig.Vector.Wait(0), Is.False);
        rig.Vector.Armed = true;   // arming: the re-check that follows finds the entry
        rig.Vector.Consume();
        Interlocked.MemoryBarrier();
        Assert.That(rig.Reap(), Is.EqualTo(1));
    }

    [Test]
    public void TheDeviceKnowsAHostItSignalledIsWakingUntilItConsumes()
    {
        using var rig = new Rig();
        Assert.That(rig.Cq.PeekHead(out bool waking), Is.EqualTo(0u));
        Assert.That(waking, Is.False);

        rig.Post(1);
        rig.Cq.RaiseInterrupt(rig.Vector);   // the host polls (unarmed): no signal, no wake-up to wait for
        rig.Cq.PeekHead(out waking);
        Assert.That(waking, Is.False, "a polling host is not waking up");
        Assert.That(rig.Reap(), Is.EqualTo(1));

        rig.Vector.Armed = true;   // the host sleeps now
        rig.Post(2);
        rig.Cq.RaiseInterrupt(rig.Vector);
        Assert.That(rig.Vector.Wait(0), Is.True);
        rig.Cq.PeekHead(out waking);
        Assert.That(waking, Is.True, "signalled and not consumed: the host is waking up");
        rig.Post(3);
        rig.Cq.PeekHead(out waking);
        Assert.That(waking, Is.True, "still behind");

        Assert.That(rig.Reap(), Is.EqualTo(2));
        Assert.That(rig.Cq.PeekHead(out waking), Is.EqualTo(3u), "the head the host published");
        Assert.That(waking, Is.False, "caught up");
    }
}
