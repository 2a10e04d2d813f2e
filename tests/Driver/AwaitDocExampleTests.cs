using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>The event-loop, shared-queue-pair and cancellation examples of docs/LIBRARY.md, kept compiling and true.</summary>
public class AwaitDocExampleTests
{
    [Test]
    public void EventLoopExample()
    {
        using var controller = NvmeController.Open("mem:lbads=4096,size=64M");
        Namespace ns = controller.Namespaces[0];
        using var qp = controller.CreateIoQueuePair(entries: 64);
        using var buffer = controller.Memory.Allocate(ns.BlockSize);

        qp.Run(async q =>
        {
            buffer.Span.Fill(0xAB);
            await q.WriteAsync(ns, slba: 0, blocks: 1, buffer);
            buffer.Span.Clear();
            await q.ReadAsync(ns, slba: 0, blocks: 1, buffer);   // completes: the loop polls
        });

        Assert.That(buffer.Span.ToArray(), Is.All.EqualTo(0xAB));
    }

    [Test]
    public async Task SharedQueuePairExample()
    {
        using var controller = NvmeController.Open("mem:lbads=4096,size=64M");
        Namespace ns = controller.Namespaces[0];
        using var qp = controller.CreateIoQueuePair(entries: 64);

        var shared = new SharedIoQueuePair(qp);
        using var poller = new Poller(cpu: CoreAffinity.LastAllowedCpu(), new IPollable[] { shared });
        poller.Start();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
        {
            using var buffer = controller.Memory.Allocate(ns.BlockSize);
            await shared.ReadAsync(ns, slba: (ulong)i, blocks: 1, buffer);   // from a pool thread
        })));
        poller.Stop();

        Assert.That(qp.InFlight, Is.Zero);
    }

    [Test]
    public void CancellationExample()
    {
        using var controller = NvmeController.Open("mem:lbads=4096,size=64M,mode=inline");   // inline: the read waits in the SQ until polled
        Namespace ns = controller.Namespaces[0];
        using var qp = controller.CreateIoQueuePair(entries: 64);
        using var buffer = controller.Memory.Allocate(ns.BlockSize);
        bool aborted = false;

        using var cts = new CancellationTokenSource();
        ValueTask read = qp.ReadAsync(ns, slba: 0, blocks: 1, buffer, cts.Token);
        cts.Cancel();
        try
        {
            qp.Wait(read);          // polls: sends the Abort, then reaps the command
        }
        catch (OperationCanceledException)
        {
            // The controller aborted it: nothing was transferred, the buffer is free again.
            aborted = true;
        }

        Assert.That(aborted, Is.True);
    }
}
