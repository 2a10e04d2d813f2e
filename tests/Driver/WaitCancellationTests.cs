using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>CancellationToken on Wait and Drain: the wait stops, the command stays outstanding and can still complete.</summary>
[TestFixture]
public class WaitCancellationTests
{
    [Test]
    public void CancellingAWaitOnALostCompletionStopsItAndLeavesTheCommandOutstanding()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        using DmaBuffer data = setup.Controller.Memory.Allocate(ns.BlockSize);
        setup.Device.Faults.DropNextCompletion(FaultQueue.Io, (byte)NvmOpcode.Read);
        ValueTask lost = qp.ReadAsync(ns, 0, 1, data);
        using var cts = new CancellationTokenSource();
        cts.CancelAfter(TimeSpan.FromMilliseconds(20));
        // A timeout far beyond any machine's delay: only the token can end this wait.
        var e = Assert.Throws<OperationCanceledException>(() => qp.Wait(lost, cts.Token, TimeSpan.FromMinutes(10)))!;
        Assert.That(e.CancellationToken, Is.EqualTo(cts.Token));
        Assert.That(e.Message, Does.Contain("1 commands outstanding").And.Contain("stay outstanding"));
        Assert.That(qp.InFlight, Is.EqualTo(1));
        Assert.That(lost.IsCompleted, Is.False);

        var drain = Assert.Throws<OperationCanceledException>(() => qp.Drain(cts.Token, TimeSpan.FromMinutes(10)))!;
        Assert.That(drain.CancellationToken, Is.EqualTo(cts.Token), "an already cancelled token stops Drain at once");

        setup.Controller.Reset();   // ends the lost command
        Assert.That(qp.InFlight, Is.Zero);
        qp.Wait(qp.ReadAsync(ns, 0, 1, data), CancellationToken.None);
    }

    [Test]
    public void AnAlreadyCancelledTokenStopsBeforePollingAndTheTaskCanBeWaitedLater()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", o => o.Mode = EmulatedControllerMode.Inline);
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        using DmaBuffer data = setup.Controller.Memory.Allocate(ns.BlockSize);
        ValueTask read = qp.ReadAsync(ns, 0, 1, data);   // inline device: still in the SQ until polled
        Assert.Throws<OperationCanceledException>(() => qp.Wait(read, new CancellationToken(canceled: true)));
        Assert.That(read.IsCompleted, Is.False, "nothing was polled");
        qp.Wait(read, CancellationToken.None);
        Assert.That(qp.InFlight, Is.Zero);
    }

    [Test]
    public void ATokenThatIsNeverCancelledChangesNothing()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        using DmaBuffer data = setup.Controller.Memory.Allocate(ns.BlockSize);
        using var cts = new CancellationTokenSource();
        for (int i = 0; i < 100; i++)
            qp.Wait(qp.ReadAsync(ns, (ulong)i, 1, data), cts.Token);
        ValueTask[] reads = Enumerable.Range(0, 8).Select(i => qp.ReadAsync(ns, (ulong)i, 1, data)).ToArray();
        qp.Drain(cts.Token);
        Assert.That(qp.InFlight, Is.Zero);
        foreach (ValueTask read in reads)
            qp.Wait(read, cts.Token);   // completed: returns its result without polling
        Assert.That(qp.AvailableSlots, Is.EqualTo(15));
    }
}
