using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Emulated;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// A ValueTask from IoQueuePair is backed by a pooled request: awaiting or waiting it twice, or
/// after its slot was reused, is an error that says so (not the runtime's bare "not valid due to
/// the current state of the object").
/// </summary>
public class AwaitMisuseTests
{
    [Test]
    public void WaitingTwiceOnTheSameTaskSaysItWasAlreadyAwaited()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        ValueTask read = qp.ReadAsync(setup.Ns, 0, 1, data);
        qp.Wait(read);
        var e = Assert.Throws<InvalidOperationException>(() => qp.Wait(read))!;
        Assert.That(e.Message, Does.Contain("already awaited").And.Contain("awaited or waited once"));
        var again = Assert.Throws<InvalidOperationException>(() => read.GetAwaiter().GetResult())!;
        Assert.That(again.Message, Does.Contain("already awaited"));
        qp.Wait(qp.ReadAsync(setup.Ns, 0, 1, data));   // the queue pair is unharmed
    }

    [Test]
    public void AStaleTaskWhoseSlotWasReusedSaysSoAndLeavesTheNewCommandAlone()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", o => o.Mode = EmulatedControllerMode.Inline);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        ValueTask first = qp.ReadAsync(setup.Ns, 0, 1, data);
        ushort slot = qp.LastCommandId;
        qp.Wait(first);
        ValueTask second = qp.ReadAsync(setup.Ns, 1, 1, data);
        Assert.That(qp.LastCommandId, Is.EqualTo(slot), "the freed request slot is the next one handed out");

        var e = Assert.Throws<InvalidOperationException>(() => qp.Wait(first))!;
        Assert.That(e.Message, Does.Contain("already awaited").And.Contain("reused"));
        Assert.That(Assert.Throws<InvalidOperationException>(() => first.GetAwaiter().GetResult())!.Message, Does.Contain("already awaited"));
        Assert.That(Assert.Throws<InvalidOperationException>(() => _ = first.IsCompleted)!.Message, Does.Contain("already awaited"));
        Assert.That(qp.InFlight, Is.EqualTo(1), "the new command is still outstanding");
        qp.Wait(second);
        Assert.That(qp.InFlight, Is.Zero);
    }

    [Test]
    public void GettingTheResultBeforeCompletionSaysHowToWait()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", o => o.Mode = EmulatedControllerMode.Inline);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        ValueTask read = qp.ReadAsync(setup.Ns, 0, 1, data);   // the inline device has not run
        var e = Assert.Throws<InvalidOperationException>(() => read.GetAwaiter().GetResult())!;
        Assert.That(e.Message, Does.Contain("not completed").And.Contain("Wait"));
        qp.Wait(read);   // still waitable: the early GetResult consumed nothing
    }

    [Test]
    public async Task AwaitingTwiceSaysItWasAlreadyAwaited()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        ValueTask read = qp.ReadAsync(setup.Ns, 0, 1, data);
        qp.Wait(read);
        InvalidOperationException? e = null;
        try
        {
            await read;
        }
        catch (InvalidOperationException caught)
        {
            e = caught;
        }
        Assert.That(e?.Message, Does.Contain("already awaited"));
    }
}
