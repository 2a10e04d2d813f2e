using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// `await using` on queue pairs and controllers: the admin I/O of their disposal runs off the
/// awaiting thread, and it does what Dispose does (queues deleted, outstanding commands failed,
/// memory freed).
/// </summary>
public class AsyncDisposalTests
{
    [Test]
    public async Task Queue_pair_DisposeAsync_deletes_the_queues_and_fails_what_is_outstanding()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", o => o.Mode = EmulatedControllerMode.Inline);
        IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        var seen = new List<ushort>();
        qp.Read(setup.Ns, 0, 1, data, null, default, static (state, in result) => ((List<ushort>)state!).Add(result.Status.TypeAndCode), seen);

        await qp.DisposeAsync();
        Assert.That(seen, Is.EqualTo(new[] { NvmeStatus.AbortedSqDeletion.TypeAndCode }));
        Assert.Throws<ObjectDisposedException>(() => _ = qp.ReadAsync(setup.Ns, 0, 1, data));
        await qp.DisposeAsync();   // a second call does nothing
        using IoQueuePair next = setup.Controller.CreateIoQueuePair(8);
        next.Wait(next.ReadAsync(setup.Ns, 0, 1, data));
    }

    [Test]
    public async Task Controller_DisposeAsync_shuts_down_and_frees_everything()
    {
        var controller = NvmeController.Open("mem:lbads=512,size=1M");
        IoQueuePair qp = controller.CreateIoQueuePair(4);
        DmaBuffer data = controller.Memory.Allocate(512);
        await using (controller)
            qp.Wait(qp.WriteAsync(controller.Namespaces[0], 0, 1, data));
        Assert.That(controller.IsOperational, Is.False);
        Assert.That(data.IsDisposed, Is.True, "its memory was freed");
        Assert.Throws<ObjectDisposedException>(() => controller.CreateIoQueuePair(4));
        await controller.DisposeAsync();
    }
}
