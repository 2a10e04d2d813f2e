using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Queues;
using PolledNvme.Tests.Driver;

namespace PolledNvme.Tests.Driver.Polling;

/// <summary>A pinned poller thread that owns a queue pair: submits from its iteration hook, reaps on the same thread.</summary>
public class PollerTests
{
    [Test]
    public void PollerPinsItselfAndDrivesItsQueuePair()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        int cpu = CoreAffinity.LastAllowedCpu();
        int submitted = 0, completed = 0, wrongCpu = 0, failed = 0;
        var state = new int[2];
        IoCompletionCallback done = static (s, in r) =>
        {
            var counts = (int[])s!;
            counts[0]++;
            if (!r.IsSuccess)
                counts[1]++;
        };
        using var allDone = new ManualResetEventSlim();
        var poller = new Poller(cpu, [qp], () =>
        {
            if (CoreAffinity.CurrentCpu != cpu)
                wrongCpu++;
            int work = 0;
            while (submitted < 500 && qp.AvailableSlots > 0)
            {
                qp.Read(ns, (ulong)(submitted % 64), 1, data, null, default, done, state);
                submitted++;
                work++;
            }
            if (state[0] == 500)
                allDone.Set();
            return work;
        });
        poller.Start();
        Assert.That(allDone.Wait(TimeSpan.FromSeconds(30)), Is.True, "all reads completed on the poller thread");
        poller.Stop();
        completed = state[0];
        failed = state[1];
        Assert.That((completed, failed, wrongCpu), Is.EqualTo((500, 0, 0)));
        Assert.That(poller.Completions, Is.EqualTo(500));
        Assert.That(poller.IsRunning, Is.False);
    }

    [Test]
    public void AHandlerFailureStopsThePollerAndIsRethrownOnStop()
    {
        var poller = new Poller(0, [], () => throw new InvalidOperationException("boom"));
        poller.Start();
        SpinWait.SpinUntil(() => !poller.IsRunning, TimeSpan.FromSeconds(10));
        var e = Assert.Throws<InvalidOperationException>(() => poller.Stop());
        Assert.That(e!.Message, Does.Contain("boom").And.Contain("CPU 0"));
    }

    [Test]
    public void PinningToAnImpossibleCpuIsAClearError()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => CoreAffinity.PinCurrentThread(-1));
        Assert.That(e!.Message, Does.Contain("CPU -1"));
    }
}
