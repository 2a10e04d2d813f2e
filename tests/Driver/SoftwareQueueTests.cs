using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Protection;
using PolledNvme.Queues;
using PolledNvme.Tests.Support;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// IoQueuePairOptions.SoftwareQueueDepth: commands that find every slot in use wait in a bounded
/// FIFO and go out from ProcessCompletions in order; a full software queue refuses as a full
/// queue pair does; reset and disposal fail what waits. The controller runs inline, so nothing
/// completes until the pair is polled.
/// </summary>
[TestFixture]
public class SoftwareQueueTests
{
    private static EmulatedSetup OpenInline(string device = "mem:lbads=4096,size=1M,mdts=1") =>
        EmulatedSetup.Open(device, o => o.Mode = EmulatedControllerMode.Inline);

    /// <summary>Records the starting LBA and status of each completion, in order.</summary>
    private sealed class Log
    {
        public readonly List<(ulong Lba, NvmeStatus Status, string? Detail)> Completions = [];

        public static readonly IoCompletionCallback Callback = static (object? state, in IoResult r)
            => ((Log)state!).Completions.Add((r.StartLba, r.Status, r.Detail));

        public ulong[] Lbas => Completions.Select(c => c.Lba).ToArray();
    }

    [Test]
    public void WaitingCommandsGoOutInOrderAndNoneOvertakesTheOldest()
    {
        using var setup = OpenInline();
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(new IoQueuePairOptions { Entries = 4, SoftwareQueueDepth = 8, SplitLargeTransfers = true });
        using DmaBuffer one = setup.Controller.Memory.Allocate(4096);
        using DmaBuffer four = setup.Controller.Memory.Allocate(4 * 4096);
        var log = new Log();
        for (ulong lba = 0; lba < 3; lba++)
            qp.Write(ns, lba, 1, one, null, default, Log.Callback, log);
        Assert.That((qp.InFlight, qp.QueuedCommands), Is.EqualTo((3, 0)));

        qp.Write(ns, 10, 4, four, null, default, Log.Callback, log);   // two parts of 2 blocks (MDTS 8 KiB)
        qp.Write(ns, 20, 1, one, null, default, Log.Callback, log);
        Assert.That((qp.InFlight, qp.QueuedCommands), Is.EqualTo((3, 2)), "both wait");
        Assert.That(four.Leases, Is.EqualTo(1), "a waiting command holds its buffer");

        qp.ProcessCompletions(1);
        Assert.That((qp.InFlight, qp.QueuedCommands), Is.EqualTo((3, 2)), "the freed slot went to the split command's first part; LBA 20 keeps waiting behind it");
        qp.ProcessCompletions(1);
        Assert.That((qp.InFlight, qp.QueuedCommands), Is.EqualTo((3, 1)), "the second part went out");
        qp.Write(ns, 30, 1, one, null, default, Log.Callback, log);
        Assert.That(qp.QueuedCommands, Is.EqualTo(2), "a new command queues behind the waiting ones even when a callback could have taken a slot");
        qp.ProcessCompletions(1);
        Assert.That((qp.InFlight, qp.QueuedCommands), Is.EqualTo((3, 1)));

        qp.Drain();
        Assert.That(qp.QueuedCommands, Is.Zero);
        Assert.That(log.Lbas, Is.EqualTo(new ulong[] { 0, 1, 2, 10, 20, 30 }));
        Assert.That(log.Completions.All(c => c.Status.IsSuccess));
        Assert.That(four.Leases, Is.Zero);
        Assert.That(qp.QueueFullEvents, Is.Zero);
    }

    [Test]
    public void AFullSoftwareQueueRefusesLikeAFullQueuePair()
    {
        using var setup = OpenInline();
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(new IoQueuePairOptions { Entries = 4, SoftwareQueueDepth = 2 });
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        using DmaBuffer spare = setup.Controller.Memory.Allocate(4096);
        var log = new Log();
        for (ulong lba = 0; lba < 5; lba++)
            Assert.That(qp.TryWrite(ns, lba, 1, data, null, default, Log.Callback, log), Is.True, $"command {lba}");
        Assert.That((qp.InFlight, qp.QueuedCommands), Is.EqualTo((3, 2)));

        Assert.That(qp.TryRead(ns, 9, 1, spare, null, default, Log.Callback, log), Is.False);
        Assert.That(qp.TryVerify(ns, 9, 1, default, Log.Callback, log), Is.False);
        var e = Assert.Throws<QueueFullException>(() => qp.Read(ns, 9, 1, spare, null, default, Log.Callback, log))!;
        Assert.That((e.Depth, e.SoftwareQueueDepth), Is.EqualTo((3, 2)));
        Assert.That(e.Message, Does.Contain("software queue holds 2"));
        Assert.Throws<QueueFullException>(() => qp.WriteZeroesAsync(ns, 9, 1));
        Assert.That(qp.TryFlush(ns, Log.Callback, log), Is.False, "Flush does not wait in the software queue");
        Assert.That(spare.Leases, Is.Zero, "a refused command leases nothing");
        Assert.That(qp.QueueFullEvents, Is.EqualTo(5));
        Assert.That((qp.InFlight, qp.QueuedCommands), Is.EqualTo((3, 2)));

        qp.Drain();
        Assert.That(log.Lbas, Is.EqualTo(new ulong[] { 0, 1, 2, 3, 4 }));
    }

    [Test]
    public void AnAwaitedCommandWaitsAndCompletes()
    {
        using var setup = OpenInline();
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(new IoQueuePairOptions { Entries = 2, SoftwareQueueDepth = 4 });
        using DmaBuffer a = setup.Controller.Memory.Allocate(4096);
        using DmaBuffer b = setup.Controller.Memory.Allocate(4096);
        using DmaBuffer back = setup.Controller.Memory.Allocate(4096);
        a.Span.Fill(0xA1);
        b.Span.Fill(0xB2);
        ValueTask first = qp.WriteAsync(ns, 7, 1, a);
        ValueTask second = qp.WriteAsync(ns, 7, 1, b);   // waits: depth 1
        ValueTask read = qp.ReadAsync(ns, 7, 1, back);
        Assert.That(qp.QueuedCommands, Is.EqualTo(2));
        // A completed awaitable holds its slot until it is awaited: await in submission order.
        qp.Wait(first);
        qp.Wait(second);
        Assert.That(qp.QueuedCommands, Is.Zero);
        qp.Wait(read);
        Assert.That(back.Span.IndexOfAnyExcept((byte)0xB2), Is.EqualTo(-1), "the read saw the second write");
    }

    [Test]
    public void DisposalFailsWaitingCommandsAndEndsTheirLeases()
    {
        using var setup = OpenInline();
        Namespace ns = setup.Ns;
        IoQueuePair qp = setup.Controller.CreateIoQueuePair(new IoQueuePairOptions { Entries = 4, SoftwareQueueDepth = 4, SplitLargeTransfers = true });
        using DmaBuffer data = setup.Controller.Memory.Allocate(4 * 4096);
        var log = new Log();
        for (ulong lba = 0; lba < 3; lba++)
            qp.Write(ns, lba, 1, data, null, default, Log.Callback, log);
        qp.Write(ns, 10, 4, data, null, default, Log.Callback, log);
        qp.Write(ns, 20, 1, data, null, default, Log.Callback, log);
        qp.ProcessCompletions(1);   // the split command's first part goes out
        Assert.That((qp.InFlight, qp.QueuedCommands), Is.EqualTo((3, 2)));

        qp.Dispose();
        Assert.That(log.Completions, Has.Count.EqualTo(5), "every callback ran once");
        var last = log.Completions.Single(c => c.Lba == 20);
        Assert.That(last.Status, Is.EqualTo(NvmeStatus.AbortedSqDeletion));
        Assert.That(last.Detail, Does.Contain("LBAs 20..20 were never submitted"));
        // The split command: its first part was on the wire (aborted with the queue), its second never went out.
        var split = log.Completions.Single(c => c.Lba == 10);
        Assert.That(split.Status.IsSuccess, Is.False);
        Assert.That(split.Detail, Does.Contain("2 went out").Or.Contain("1 went out"));
        Assert.That(data.Leases, Is.Zero);
    }

    [Test]
    public void AResetFailsWaitingCommandsAndThePairKeepsWorking()
    {
        using var setup = OpenInline();
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(new IoQueuePairOptions { Entries = 2, SoftwareQueueDepth = 4 });
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        var log = new Log();
        qp.Write(ns, 0, 1, data, null, default, Log.Callback, log);
        ValueTask waiting = qp.WriteAsync(ns, 1, 1, data);
        Assert.That(qp.QueuedCommands, Is.EqualTo(1));

        setup.Controller.Reset();
        Assert.That(qp.QueuedCommands, Is.Zero);
        Assert.That(waiting.IsCompleted);
        var e = Assert.Throws<NvmeException>(() => qp.Wait(waiting))!;
        Assert.That(e.Status, Is.EqualTo(NvmeStatus.AbortedSqDeletion));
        Assert.That(e.Detail, Does.Contain("software queue"));
        Assert.That(data.Leases, Is.Zero);

        qp.Wait(qp.WriteAsync(ns, 1, 1, data));
        Assert.That(log.Completions.Single().Status, Is.EqualTo(NvmeStatus.AbortedSqDeletion));
    }

    [Test]
    public void QueuedIoAllocatesNothingPerCommand()
    {
        using var setup = OpenInline("mem:lbads=512,size=1M");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(new IoQueuePairOptions { Entries = 8, SoftwareQueueDepth = 64 });
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        var counter = new CompletionCounter();
        long queuedAtSubmit = 0;
        void Run(int commands)
        {
            for (int done = 0; done < commands;)
            {
                if (qp.TryRead(ns, (ulong)(done % 64), 1, data, null, default, CompletionCounter.Callback, counter))
                {
                    queuedAtSubmit += qp.QueuedCommands;
                    done++;
                }
                else
                    qp.ProcessCompletions();
            }
            qp.Drain();
        }
        const int Commands = 16_384;
        long allocated = SteadyState.AllocatedBytes(Run, Commands);
        Assert.That(allocated, Is.LessThan(Commands), $"{allocated} bytes over {Commands} commands");
        Assert.That(queuedAtSubmit, Is.GreaterThan(Commands), "most commands went through the software queue");
        Assert.That(counter.Failed, Is.Zero);
    }

    [Test]
    public void OptionsAreCheckedAndOffByDefault()
    {
        using var setup = OpenInline();
        using (IoQueuePair plain = setup.Controller.CreateIoQueuePair())
            Assert.That((plain.SoftwareQueueDepth, plain.SplitLargeTransfers, plain.QueuedCommands), Is.EqualTo((0, false, 0)));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => setup.Controller.CreateIoQueuePair(new IoQueuePairOptions { SoftwareQueueDepth = -1 }))!.ParamName,
            Is.EqualTo("SoftwareQueueDepth"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => setup.Controller.CreateIoQueuePair(new IoQueuePairOptions { SoftwareQueueDepth = IoQueuePairOptions.MaxSoftwareQueueDepth + 1 }))!.ParamName,
            Is.EqualTo("SoftwareQueueDepth"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => setup.Controller.CreateIoQueuePair(new IoQueuePairOptions { Entries = 1 }))!.ParamName,
            Is.EqualTo("Entries"));
    }
}
