using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;
using PolledNvme.Tests.Support;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// Cancellation of commands the queue pair holds itself: one waiting in the software queue
/// (nothing submitted: it leaves the queue as cancelled), and a split command with parts in the
/// SQ (each part aborted; cancelled only when no part transferred anything). The inline emulated
/// controller runs only when polled, so commands sit in the SQ until the test polls.
/// </summary>
public class SplitCancellationTests
{
    private const int Block = 4096;

    private static EmulatedSetup OpenInline() => EmulatedSetup.Open("mem:lbads=4096,size=1M,mdts=1", o => o.Mode = EmulatedControllerMode.Inline);

    [Test]
    public void ACommandWaitingInTheSoftwareQueueLeavesItCancelledWithNothingSubmitted()
    {
        using EmulatedSetup setup = OpenInline();
        DmaAllocator memory = setup.Controller.Memory;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(new IoQueuePairOptions { Entries = 2, SoftwareQueueDepth = 4 });
        using DmaBuffer first = memory.Allocate(Block), second = memory.Allocate(Block), third = memory.Allocate(Block);
        first.Span.Fill(1);
        second.Span.Fill(2);
        third.Span.Fill(3);
        using var cts = new CancellationTokenSource();
        ValueTask a = qp.WriteAsync(setup.Ns, 0, 1, first);                   // the one slot
        ValueTask b = qp.WriteAsync(setup.Ns, 1, 1, second, cts.Token);       // waits
        ValueTask c = qp.WriteAsync(setup.Ns, 2, 1, third);                   // waits behind it
        Assert.That(qp.QueuedCommands, Is.EqualTo(2));
        cts.Cancel();

        var e = Assert.Throws<OperationCanceledException>(() => qp.Wait(b))!;
        Assert.That(e.CancellationToken, Is.EqualTo(cts.Token));
        qp.Wait(a);
        qp.Wait(c);
        Assert.That((qp.QueuedCommands, qp.InFlight, second.Leases), Is.EqualTo((0, 0, 0)));
        Assert.That(qp.AbortsSent, Is.Zero, "it never reached the controller: nothing to abort");

        using DmaBuffer check = memory.Allocate(3 * Block);
        qp.Wait(qp.ReadAsync(setup.Ns, 0, 1, first));
        qp.Wait(qp.ReadAsync(setup.Ns, 1, 1, second));
        qp.Wait(qp.ReadAsync(setup.Ns, 2, 1, third));
        Assert.That((first.Span[0], second.Span[0], third.Span[0]), Is.EqualTo(((byte)1, (byte)0, (byte)3)),
            "the cancelled write never ran; the one behind it did");
    }

    /// <summary>
    /// All four parts sit in the SQ when the token is cancelled. The inline device runs the SQ as
    /// it executes the first Abort, so that part is aborted and the other three run before their
    /// Aborts arrive: the command reports the aborted range as an error, every part is whole
    /// (written or not, never torn), and the aborted blocks are untouched.
    /// </summary>
    [Test]
    public void ASplitCommandWithPartsInTheSqIsAbortedAndReportsWhatDidNotRun()
    {
        using EmulatedSetup setup = OpenInline();
        DmaAllocator memory = setup.Controller.Memory;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(new IoQueuePairOptions { Entries = 8, SoftwareQueueDepth = 4, SplitLargeTransfers = true });
        using DmaBuffer data = memory.Allocate(8 * Block);   // MDTS 8 KiB: four parts of two blocks
        data.Span.Fill(0x77);
        using var cts = new CancellationTokenSource();
        ValueTask write = qp.WriteAsync(setup.Ns, 16, 8, data, cts.Token);
        Assert.That(qp.InFlight, Is.EqualTo(4), "all four parts in the SQ");
        cts.Cancel();

        var e = Assert.Throws<NvmeException>(() => qp.Wait(write))!;
        Assert.That(e.Status.TypeAndCode, Is.EqualTo(NvmeStatus.AbortedByRequest.TypeAndCode));
        Assert.That(e.Message, Does.Contain("it was cancelled"));
        Assert.That(qp.AbortsSent, Is.GreaterThanOrEqualTo(1));
        Assert.That((qp.InFlight, data.Leases), Is.EqualTo((0, 0)));
        using DmaBuffer check = memory.Allocate(8 * Block);
        qp.Wait(qp.ReadAsync(setup.Ns, 16, 8, check));
        for (int part = 0; part < 4; part++)
        {
            byte[] bytes = check.Span.Slice(part * 2 * Block, 2 * Block).ToArray();
            Assert.That(bytes.All(b => b == 0) || bytes.All(b => b == 0x77), Is.True, $"part {part} is whole");
        }
        Assert.That(check.Span[..(2 * Block)].ToArray(), Is.All.EqualTo(0), "the aborted first part never ran");
    }

    [Test]
    public void ASplitCommandThatTransferredPartOfItsDataReportsAnErrorNotACancellation()
    {
        using EmulatedSetup setup = OpenInline();
        DmaAllocator memory = setup.Controller.Memory;
        // Two slots: one part on the wire at a time, the rest waits for slots.
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(new IoQueuePairOptions { Entries = 2, SoftwareQueueDepth = 4, SplitLargeTransfers = true });
        using DmaBuffer data = memory.Allocate(8 * Block);
        data.Span.Fill(0x42);
        using var cts = new CancellationTokenSource();
        ValueTask write = qp.WriteAsync(setup.Ns, 32, 8, data, cts.Token);
        Assert.That(qp.InFlight, Is.EqualTo(1));
        qp.ProcessCompletions();   // the inline device runs the first part; the second goes out
        qp.ProcessCompletions();
        cts.Cancel();

        var e = Assert.Throws<NvmeException>(() => qp.Wait(write))!;
        Assert.That(e.Status.TypeAndCode, Is.EqualTo(NvmeStatus.AbortedByRequest.TypeAndCode));
        Assert.That(e.Message, Does.Contain("it was cancelled").And.Contain("did transfer their data"));
        Assert.That((qp.InFlight, qp.QueuedCommands, data.Leases), Is.EqualTo((0, 0, 0)));
        using DmaBuffer check = memory.Allocate(2 * Block);
        qp.Wait(qp.ReadAsync(setup.Ns, 32, 2, check));
        Assert.That(check.Span.ToArray(), Is.All.EqualTo(0x42), "the first part did run: reported as an error naming the blocks not done, not as 'nothing happened'");
    }
}
