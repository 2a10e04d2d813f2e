using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver.Polling;

/// <summary>
/// Sleeping queue pairs (PollMode Adaptive and Interrupt) against the threaded emulated
/// controller, whose device thread sleeps too: data is right, nothing is lost between a sleep
/// and a completion (a lost wake-up hangs until Wait's timeout, so the device's safety-net
/// timeout is off here), several pairs wait from one thread, and an idle controller's device
/// thread is blocked in its wait. No assertion depends on timing.
/// </summary>
public class AdaptivePollingTests
{
    private static EmulatedSetup Open(int dbbuf, PollMode mode = PollMode.Spin) => EmulatedSetup.Open(
        $"mem:lbads=4096,size=8M,mode=threaded,dbbuf={dbbuf}",
        o => o.IdleSleepLimit = Timeout.InfiniteTimeSpan,
        new NvmeControllerOptions { AllowNonHugepageMemory = true, PollMode = mode });

    [TestCase(PollMode.Adaptive, 0)]
    [TestCase(PollMode.Adaptive, 1)]
    [TestCase(PollMode.Interrupt, 0)]
    [TestCase(PollMode.Interrupt, 1)]
    public void SleepingPairsMoveDataIntactAndTheDeviceSleepsAndWakes(PollMode mode, int dbbuf)
    {
        using EmulatedSetup setup = Open(dbbuf, mode);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        Assert.That(qp.PollMode, Is.EqualTo(mode), "the controller option is the default of CreateIoQueuePair");
        Assert.That(setup.Device.Core.CompletionQueueInterrupt(qp.Id), Is.EqualTo(((bool, ushort)?)(true, qp.Id)), "CQ created with IEN and vector = queue id");
        WriteAndReadBack(setup, qp, seed: (int)mode * 10 + dbbuf, rounds: 20);

        // Idle: the device thread goes to sleep (eventually: no timing assumed), then a doorbell wakes it.
        Assert.That(WaitUntil(() => setup.Device.IsDeviceAsleep), Is.True, "the idle device thread never went to sleep");
        long deviceSleeps = setup.Device.Sleeps;
        Assert.That(deviceSleeps, Is.GreaterThan(0));
        WriteAndReadBack(setup, qp, seed: 99, rounds: 3);
    }

    [Test]
    public void SpinPairsKeepInterruptsOffOnTheirCompletionQueue()
    {
        using EmulatedSetup setup = Open(0);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        Assert.That(qp.PollMode, Is.EqualTo(PollMode.Spin));
        Assert.That(setup.Device.Core.CompletionQueueInterrupt(qp.Id), Is.EqualTo(((bool, ushort)?)(false, 0)));
        WriteAndReadBack(setup, qp, seed: 5, rounds: 3);
        Assert.That(qp.Sleeps, Is.Zero, "a spinning pair never sleeps");
    }

    /// <summary>Short bursts with random idle gaps, so host and device go to sleep in every phase of a command; a lost wake-up would hang until the 30 s timeout.</summary>
    [TestCase(PollMode.Interrupt, 0)]
    [TestCase(PollMode.Interrupt, 1)]
    [TestCase(PollMode.Adaptive, 0)]
    [TestCase(PollMode.Adaptive, 1)]
    public void NoWakeUpIsLostUnderBurstsWithRandomGaps(PollMode mode, int dbbuf)
    {
        using EmulatedSetup setup = Open(dbbuf, mode);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        var random = new Random(1234 + dbbuf);
        var pending = new ValueTask[qp.Depth];
        int completed = 0;
        for (int burst = 0; burst < 400; burst++)
        {
            int n = random.Next(1, qp.Depth + 1);
            qp.BatchDoorbells = random.Next(2) == 0;
            for (int i = 0; i < n; i++)
                pending[i] = qp.ReadAsync(setup.Ns, (ulong)random.Next(0, 2048), 1, data, null, default);
            qp.RingDoorbell();
            for (int i = 0; i < n; i++)
            {
                qp.Wait(pending[i], TimeSpan.FromSeconds(30));
                completed++;
            }
            switch (random.Next(4))
            {
                case 0: break;
                case 1: Thread.SpinWait(random.Next(1, 20_000)); break;
                case 2: Thread.Yield(); break;
                default: Thread.Sleep(random.Next(0, 3)); break;
            }
        }
        Assert.That(completed, Is.GreaterThan(400));
        Assert.That(qp.InFlight, Is.Zero);
    }

    [Test]
    public void AWaitSetServesSeveralPairsFromOneThread()
    {
        using EmulatedSetup setup = Open(1, PollMode.Interrupt);
        using IoQueuePair a = setup.Controller.CreateIoQueuePair(8);
        using IoQueuePair b = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        using var set = new CompletionWaitSet();
        set.Add(a);
        set.Add(b);
        var e = Assert.Throws<ArgumentException>(() => set.Add(a))!;
        Assert.That(e.Message, Does.Contain("already"));
        int[] counts = new int[1];
        IoCompletionCallback done = static (s, in r) => { if (r.IsSuccess) ((int[])s!)[0]++; };
        var random = new Random(7);
        for (int round = 0; round < 50; round++)
        {
            IoQueuePair target = random.Next(2) == 0 ? a : b;
            int n = random.Next(1, 6);
            for (int i = 0; i < n; i++)
                target.Read(setup.Ns, (ulong)i, 1, data, null, default, done, counts);
            int goal = counts[0] + n;
            while (counts[0] < goal)
                set.SleepUntilCompletion(TimeSpan.FromSeconds(30));
            if (random.Next(3) == 0)
                Thread.Sleep(1);
        }
        Assert.That(a.InFlight + b.InFlight, Is.Zero);
        Assert.That(set.Remove(a), Is.True);
        Assert.That(set.Remove(a), Is.False);
    }

    [Test]
    public void ASpinningPairCannotJoinAWaitSet()
    {
        using EmulatedSetup setup = Open(0);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using var set = new CompletionWaitSet();
        var e = Assert.Throws<ArgumentException>(() => set.Add(qp))!;
        Assert.That(e.Message, Does.Contain("PollMode.Spin").And.Contain("Adaptive"));
    }

    [Test]
    public void APollerOverSleepingPairsCompletesItsWorkAndStops()
    {
        using EmulatedSetup setup = Open(0, PollMode.Adaptive);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        int submitted = 0;
        var state = new int[2];
        IoCompletionCallback done = static (s, in r) =>
        {
            var c = (int[])s!;
            c[0]++;
            if (!r.IsSuccess) c[1]++;
        };
        using var allDone = new ManualResetEventSlim();
        using var poller = new Poller(CoreAffinity.LastAllowedCpu(), [qp], () =>
        {
            int work = 0;
            // Bursts of 5 so the pair goes idle (and sleeps) between them.
            if (submitted < 300 && qp.InFlight == 0)
                for (int i = 0; i < 5; i++, submitted++, work++)
                    qp.Read(setup.Ns, (ulong)i, 1, data, null, default, done, state);
            if (state[0] == 300)
                allDone.Set();
            return work;
        });
        poller.Start();
        Assert.That(allDone.Wait(TimeSpan.FromSeconds(60)), Is.True, "the poller did not complete its reads");
        poller.Stop();
        Assert.That((state[0], state[1]), Is.EqualTo((300, 0)));
        Assert.That(poller.Completions, Is.EqualTo(300));
    }

    [Test]
    public void AnIdleControllerWithAnAdaptivePairHasItsDeviceThreadAsleep()
    {
        using EmulatedSetup setup = Open(0, PollMode.Adaptive);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        qp.Wait(qp.FlushAsync(setup.Ns));
        Assert.That(WaitUntil(() => setup.Device.IsDeviceAsleep), Is.True, "the idle device thread kept running");
        // A register read (what health checks do) must not wake it; a command does, and completes.
        _ = setup.Controller.Transport.GetProperty32(ControllerRegisters.Csts);
        qp.Wait(qp.FlushAsync(setup.Ns));
    }

    [Test]
    public void SleepingModesNeedInterruptsTheInlineControllerHasNot()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M,mode=inline");
        var e = Assert.Throws<NotSupportedException>(() => setup.Controller.CreateIoQueuePair(16, PollMode.Adaptive))!;
        Assert.That(e.Message, Does.Contain("PollMode.Adaptive").And.Contain("inline").And.Contain("mode=threaded").And.Contain("PollMode.Spin"));
        Assert.Throws<ArgumentOutOfRangeException>(() => setup.Controller.CreateIoQueuePair(16, (PollMode)7));
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16, PollMode.Spin);   // the queue id was given back
        Assert.That(qp.Id, Is.EqualTo(1));
    }

    [Test]
    public void TheControllerRefusesAnInterruptVectorItDoesNotHave()
    {
        using EmulatedSetup setup = Open(0);
        using DmaBuffer ring = setup.Controller.Memory.AllocatePageAligned(4096);
        var command = new SubmissionEntry
        {
            Opcode = (byte)AdminOpcode.CreateIoCompletionQueue,
            Prp1 = ring.Iova,
            Cdw10 = 9u | (15u << 16),
            Cdw11 = 1u | 2u | (4000u << 16),   // PC, IEN, IV 4000 (the controller has MaxIoQueuePairs + 1)
        };
        CompletionEntry cqe = setup.Controller.ExecuteAdminRaw(command);
        Assert.That(new NvmeStatus((ushort)(cqe.StatusAndPhase >> 1)).Name, Is.EqualTo("InvalidInterruptVector"));
    }

    private static bool WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                return false;
            Thread.Sleep(1);
        }
        return true;
    }

    private static void WriteAndReadBack(EmulatedSetup setup, IoQueuePair qp, int seed, int rounds)
    {
        var random = new Random(seed);
        using DmaBuffer write = setup.Controller.Memory.Allocate(4096 * 8);
        using DmaBuffer read = setup.Controller.Memory.Allocate(4096 * 8);
        for (int round = 0; round < rounds; round++)
        {
            int blocks = random.Next(1, 9);
            ulong lba = (ulong)random.Next(0, 2040);
            random.NextBytes(write.Span);
            qp.Wait(qp.WriteAsync(setup.Ns, lba, blocks, write, null, default));
            read.Span.Clear();
            qp.Wait(qp.ReadAsync(setup.Ns, lba, blocks, read, null, default));
            Assert.That(read.Span[..(blocks * 4096)].SequenceEqual(write.Span[..(blocks * 4096)]), Is.True, $"round {round}: LBA {lba} x{blocks} read back different data");
        }
    }
}
