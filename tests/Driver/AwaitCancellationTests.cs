using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;
using PolledNvme.Tests.Support;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// A CancellationToken on the awaitable commands: cancelled before the call, nothing is
/// submitted; cancelled while the command waits in the SQ (the inline emulated controller runs
/// only when polled, so it sits there) or in a batch whose doorbell was not rung, the owner
/// thread sends Abort and the await throws OperationCanceledException once the controller has
/// completed the command (Command Abort Requested); cancelled after completion, nothing happens.
/// The buffer stays the command's until then.
/// </summary>
public class AwaitCancellationTests
{
    private const int TwoBlocks = 8192;   // a size class the driver's own allocations do not use, so pool counts are exact

    private static EmulatedSetup OpenInline() => EmulatedSetup.Open("mem:lbads=4096,size=1M", o => o.Mode = EmulatedControllerMode.Inline);

    [Test]
    public void ATokenCancelledBeforeTheCallSubmitsNothing()
    {
        using EmulatedSetup setup = OpenInline();
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(TwoBlocks);
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        ValueTask read = qp.ReadAsync(setup.Ns, 0, 2, data, cts.Token);
        Assert.That(read.IsCanceled, Is.True);
        Assert.That((qp.InFlight, qp.AvailableSlots, data.Leases), Is.EqualTo((0, qp.Depth, 0)), "nothing submitted, no slot, no lease");
        var e = Assert.ThrowsAsync<TaskCanceledException>(async () => await read)!;
        Assert.That(e.CancellationToken, Is.EqualTo(cts.Token));
        Assert.That(qp.WriteAsync(setup.Ns, 0, 2, data, cts.Token).IsCanceled, Is.True);
        Assert.That(qp.FlushAsync(setup.Ns, cts.Token).IsCanceled, Is.True);
        Assert.That(qp.AbortsSent, Is.Zero);
    }

    [Test]
    public void CancellingACommandWaitingInTheSqAbortsItAndTheAwaitEndsWhenTheControllerCompletedIt()
    {
        using EmulatedSetup setup = OpenInline();
        DmaAllocator memory = setup.Controller.Memory;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer stored = memory.Allocate(TwoBlocks);
        stored.Span.Fill(0x5A);
        qp.Wait(qp.WriteAsync(setup.Ns, 0, 2, stored));

        DmaBuffer target = memory.Allocate(TwoBlocks);
        target.Span.Fill(0x11);
        using var cts = new CancellationTokenSource();
        ValueTask read = qp.ReadAsync(setup.Ns, 0, 2, target, cts.Token);   // in the SQ: the inline device has not run
        cts.Cancel();
        Assert.That(read.IsCompleted, Is.False, "cancelling does not complete it: the controller has not answered yet");

        int pooled = memory.PooledSlots(TwoBlocks);
        target.Dispose();
        Assert.That((target.Leases, memory.PooledSlots(TwoBlocks)), Is.EqualTo((1, pooled)), "the buffer stays the command's after cancel and Dispose");

        var e = Assert.Throws<OperationCanceledException>(() => qp.Wait(read))!;
        Assert.That(e.CancellationToken, Is.EqualTo(cts.Token));
        Assert.That(e.Message, Does.Contain("aborted").And.Contain("transferred nothing"));
        Assert.That(qp.AbortsSent, Is.EqualTo(1));
        Assert.That((target.Leases, memory.PooledSlots(TwoBlocks)), Is.EqualTo((0, pooled + 1)), "returned once the controller completed the command");
        Assert.That((qp.InFlight, qp.AvailableSlots), Is.EqualTo((0, qp.Depth)));

        using DmaBuffer check = memory.Allocate(TwoBlocks);
        qp.Wait(qp.ReadAsync(setup.Ns, 0, 2, check));
        Assert.That(check.Span.ToArray(), Is.All.EqualTo(0x5A), "the queue pair and the data are unharmed");
    }

    [Test]
    public void CancellingACommandOfABatchNotYetRungPublishesTheBatchAndAbortsIt()
    {
        using EmulatedSetup setup = OpenInline();
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer a = setup.Controller.Memory.Allocate(TwoBlocks);
        using DmaBuffer b = setup.Controller.Memory.Allocate(TwoBlocks);
        b.Span.Fill(0x22);
        qp.BatchDoorbells = true;
        using var cts = new CancellationTokenSource();
        ValueTask first = qp.WriteAsync(setup.Ns, 4, 2, a);
        ValueTask cancelled = qp.ReadAsync(setup.Ns, 0, 2, b, cts.Token);
        cts.Cancel();

        Assert.Throws<OperationCanceledException>(() => qp.Wait(cancelled));
        qp.Wait(first);   // the rest of the batch went out with it
        Assert.That(b.Span.ToArray(), Is.All.EqualTo(0x22), "the aborted read transferred nothing");
        Assert.That(qp.AbortsSent, Is.EqualTo(1));
    }

    [Test]
    public void CancellingAfterCompletionChangesNothing()
    {
        using EmulatedSetup setup = OpenInline();
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(TwoBlocks);
        using var cts = new CancellationTokenSource();
        qp.Wait(qp.WriteAsync(setup.Ns, 0, 2, data, cts.Token));
        cts.Cancel();
        ValueTask next = qp.ReadAsync(setup.Ns, 0, 2, data);   // reuses the same request slot
        qp.Wait(next);
        Assert.That(qp.AbortsSent, Is.Zero, "the registration ended with the command: a later cancel reaches nothing");
    }

    [Test]
    public void ACommandTheControllerAlreadyRanCompletesWithItsResultDespiteTheCancel()
    {
        using EmulatedSetup setup = OpenInline();
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(TwoBlocks);
        data.Span.Fill(0x33);
        using var cts = new CancellationTokenSource();
        ValueTask write = qp.WriteAsync(setup.Ns, 0, 2, data, cts.Token);
        setup.Device.Step();   // the controller fetches and runs it before the cancel
        cts.Cancel();
        qp.Wait(write);   // its real result: it won the race
        Assert.That(qp.AbortsSent, Is.EqualTo(1), "an Abort was sent and found nothing to abort");
        data.Span.Clear();
        qp.Wait(qp.ReadAsync(setup.Ns, 0, 2, data));
        Assert.That(data.Span.ToArray(), Is.All.EqualTo(0x33));
    }

    [Test]
    public void CancelRacingCompletionEndsEachCommandOnceWithItsResultOrTheCancellation()
    {
        using EmulatedSetup setup = EmulatedSetup.Open("mem:lbads=4096,size=1M");   // the device thread races the cancelling thread
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(TwoBlocks);
        int completed = 0, cancelled = 0;
        for (int i = 0; i < 300; i++)
        {
            using var cts = new CancellationTokenSource();
            ValueTask read = qp.ReadAsync(setup.Ns, (ulong)(i % 64), 2, data, cts.Token);
            Task canceller = Task.Run(cts.Cancel);
            try
            {
                qp.Wait(read);
                completed++;
            }
            catch (OperationCanceledException)
            {
                cancelled++;
            }
            canceller.Wait();
            // A later command on the same slot, with a token that is not cancelled, is never hit by a stray Abort.
            qp.Wait(qp.ReadAsync(setup.Ns, 0, 2, data, CancellationToken.None));
        }
        Assert.That(completed + cancelled, Is.EqualTo(300));
        Assert.That((qp.InFlight, qp.AvailableSlots, data.Leases), Is.EqualTo((0, qp.Depth, 0)));
    }

    [Test]
    public void AnAbortWithoutACancelledTokenStaysAnNvmeException()
    {
        using EmulatedSetup setup = OpenInline();
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(TwoBlocks);
        using var cts = new CancellationTokenSource();
        ValueTask read = qp.ReadAsync(setup.Ns, 0, 2, data, cts.Token);
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => qp.Wait(read));
        // The same slot, now with a plain awaitable: an Abort from outside is an NvmeException, not a cancellation.
        ValueTask plain = qp.ReadAsync(setup.Ns, 0, 2, data);
        Assert.That(setup.Controller.Abort(qp.Id, qp.LastCommandId), Is.True);
        var e = Assert.Throws<NvmeException>(() => qp.Wait(plain))!;
        Assert.That(e.Status.TypeAndCode, Is.EqualTo(NvmeStatus.AbortedByRequest.TypeAndCode));
    }

    [Test]
    public void ATokenThatIsNeverCancelledAllocatesNothingPerIo()
    {
        using var setup = EmulatedSetup.Open("null:lbads=4096,size=1G");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(64);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        using var cts = new CancellationTokenSource();
        CancellationToken token = cts.Token;
        var tasks = new ValueTask[32];

        void Run(int count)
        {
            for (int done = 0; done < count; done += tasks.Length)
            {
                for (int i = 0; i < tasks.Length; i++)
                    tasks[i] = (i & 1) == 0 ? qp.ReadAsync(setup.Ns, (ulong)i, 1, data, token) : qp.WriteAsync(setup.Ns, (ulong)i, 1, data, token);
                for (int i = 0; i < tasks.Length; i++)
                    qp.Wait(tasks[i]);
            }
        }

        long allocated = SteadyState.AllocatedBytes(Run, 20_000);
        Assert.That(allocated, Is.Zero, $"{allocated} bytes allocated over 20 000 I/Os with a cancellable token");
        Assert.That(qp.AbortsSent, Is.Zero);
    }
}
