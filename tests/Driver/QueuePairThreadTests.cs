using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Emulated;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// A queue pair belongs to one thread (it has no locks): used from another thread it refuses
/// with a message naming both threads, instead of corrupting its request table.
/// </summary>
public class QueuePairThreadTests
{
    /// <summary>Runs <paramref name="action"/> on a new named thread and returns what it threw.</summary>
    private static Exception? OnThread(string name, Action action)
    {
        Exception? thrown = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                thrown = e;
            }
        }) { Name = name };
        thread.Start();
        thread.Join();
        return thrown;
    }

    [Test]
    public void ASubmitFromASecondThreadIsRefusedNamingBothThreads()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        Thread.CurrentThread.Name ??= "test-owner";
        qp.Wait(qp.WriteAsync(setup.Ns, 0, 1, data));   // first use: this thread owns the pair
        int owner = Environment.CurrentManagedThreadId;

        int intruder = 0;
        Exception? e = OnThread("intruder", () =>
        {
            intruder = Environment.CurrentManagedThreadId;
            _ = qp.ReadAsync(setup.Ns, 0, 1, data);
        });
        Assert.That(e, Is.TypeOf<InvalidOperationException>());
        Assert.That(e!.Message, Does.Contain($"thread {owner}").And.Contain($"thread {intruder}").And.Contain("intruder").And.Contain(Thread.CurrentThread.Name));
        Assert.That(qp.InFlight, Is.Zero, "nothing was submitted");
        qp.Wait(qp.ReadAsync(setup.Ns, 0, 1, data));   // the owner goes on
    }

    /// <summary>Every entry that touches the rings or the request pool, as (name, call).</summary>
    private static IEnumerable<(string Name, Action Call)> Entries(IoQueuePair qp, Namespace ns, DmaBuffer data, DmaBuffer ranges, ValueTask pending)
    {
        IoCompletionCallback done = static (_, in _) => { };
        var raw = new SubmissionEntry { Opcode = (byte)NvmOpcode.Flush, NamespaceId = ns.Id };
        yield return ("ReadAsync", () => _ = qp.ReadAsync(ns, 0, 1, data));
        yield return ("Read", () => qp.Read(ns, 0, 1, data, null, default, done, null));
        yield return ("WriteAsync", () => _ = qp.WriteAsync(ns, 0, 1, data));
        yield return ("Write", () => qp.Write(ns, 0, 1, data, null, default, done, null));
        yield return ("CompareAsync", () => _ = qp.CompareAsync(ns, 0, 1, data));
        yield return ("Compare", () => qp.Compare(ns, 0, 1, data, null, default, done, null));
        yield return ("VerifyAsync", () => _ = qp.VerifyAsync(ns, 0, 1));
        yield return ("Verify", () => qp.Verify(ns, 0, 1, default, done, null));
        yield return ("WriteZeroesAsync", () => _ = qp.WriteZeroesAsync(ns, 0, 1));
        yield return ("WriteZeroes", () => qp.WriteZeroes(ns, 0, 1, default, false, done, null));
        yield return ("FlushAsync", () => _ = qp.FlushAsync(ns));
        yield return ("Flush", () => qp.Flush(ns, done, null));
        yield return ("DeallocateAsync", () => _ = qp.DeallocateAsync(ns, 0, 1));
        yield return ("DeallocateAsync(ranges)", () => _ = qp.DeallocateAsync(ns, ranges, 1));
        yield return ("Deallocate", () => qp.Deallocate(ns, 0, 1, done, null));
        yield return ("SubmitRawAsync", () => _ = qp.SubmitRawAsync(raw));
        yield return ("RingDoorbell", qp.RingDoorbell);
        yield return ("ProcessCompletions", () => qp.ProcessCompletions());
        yield return ("Wait", () => qp.Wait(pending));
        yield return ("Drain", () => qp.Drain());
        yield return ("GetResult (await)", () => pending.GetAwaiter().GetResult());
    }

    [Test]
    public void EveryEntryThatTouchesTheQueuesIsRefusedFromAnotherThread()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", o => o.Mode = EmulatedControllerMode.Inline);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        using DmaBuffer ranges = setup.Controller.Memory.Allocate(DatasetRange.Size);
        new DatasetRange(0, 1).Write(ranges.Span, 0);
        ValueTask pending = qp.ReadAsync(setup.Ns, 0, 1, data);   // binds this thread; stays outstanding (inline device)
        int owner = Environment.CurrentManagedThreadId;
        var checkedEntries = new List<string>();
        foreach ((string name, Action call) in Entries(qp, setup.Ns, data, ranges, pending))
        {
            int intruder = 0;
            Exception? e = OnThread("intruder", () =>
            {
                intruder = Environment.CurrentManagedThreadId;
                call();
            });
            Assert.That(e, Is.TypeOf<InvalidOperationException>(), name);
            Assert.That(e!.Message, Does.Contain($"thread {owner}").And.Contain($"thread {intruder} ('intruder')"), name);
            Assert.That((qp.InFlight, qp.AvailableSlots), Is.EqualTo((1, qp.Depth - 1)), $"{name}: nothing submitted, no slot taken");
            checkedEntries.Add(name);
        }
        Assert.That(checkedEntries, Has.Count.EqualTo(21));
        qp.Wait(pending);   // the owner is unaffected
        Assert.That(data.Leases, Is.Zero);
    }

    [Test]
    public void APairCreatedOnOneThreadBelongsToTheFirstThreadThatUsesIt()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);   // created here, not bound
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        Exception? worker = OnThread("worker", () =>
        {
            qp.Wait(qp.WriteAsync(setup.Ns, 0, 1, data));
            qp.Wait(qp.ReadAsync(setup.Ns, 0, 1, data));
        });
        Assert.That(worker, Is.Null);
        // The worker has ended: its pair can be taken over by whoever uses it next.
        qp.Wait(qp.ReadAsync(setup.Ns, 0, 1, data));
    }

    [Test]
    public void AnExplicitHandOverBetweenLiveThreads()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        using var owned = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        using var finish = new ManualResetEventSlim();
        Exception? ownerFailure = null;
        var owner = new Thread(() =>
        {
            try
            {
                qp.BindToCurrentThread();
                owned.Set();
                release.Wait();
                qp.ReleaseThread();
                owned.Reset();
                finish.Wait();
            }
            catch (Exception e)
            {
                ownerFailure = e;
            }
        }) { Name = "owner" };
        owner.Start();
        owned.Wait();

        var bind = Assert.Throws<InvalidOperationException>(qp.BindToCurrentThread)!;
        Assert.That(bind.Message, Does.Contain("('owner')").And.Contain("ReleaseThread"));
        var steal = Assert.Throws<InvalidOperationException>(qp.ReleaseThread)!;
        Assert.That(steal.Message, Does.Contain("('owner')"));
        Assert.Throws<InvalidOperationException>(() => qp.ProcessCompletions());

        release.Set();
        SpinWait.SpinUntil(() => !owned.IsSet, TimeSpan.FromMinutes(1));
        qp.BindToCurrentThread();   // the owner is alive but gave the pair up
        qp.Wait(qp.WriteAsync(setup.Ns, 0, 1, data));
        finish.Set();
        owner.Join();
        Assert.That(ownerFailure, Is.Null);
    }

    [Test]
    public void APollerTakesOverAPairItsStarterUsedAndGivesItBackWhenStopped()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        qp.Wait(qp.WriteAsync(setup.Ns, 0, 1, data));   // this thread owns it now
        int completed = 0, submitted = 0;
        IoCompletionCallback done = static (state, in result) => ((System.Runtime.CompilerServices.StrongBox<int>)state!).Value++;
        var count = new System.Runtime.CompilerServices.StrongBox<int>();
        using var allDone = new ManualResetEventSlim();
        var poller = new Poller(0, [qp], () =>
        {
            if (submitted < 100 && qp.AvailableSlots > 0)
            {
                qp.Read(setup.Ns, 0, 1, data, null, default, done, count);
                submitted++;
            }
            if (count.Value == 100)
                allDone.Set();
            return 1;
        });
        poller.Start();
        Assert.That(allDone.Wait(TimeSpan.FromMinutes(1)), Is.True);
        Assert.Throws<InvalidOperationException>(() => qp.ProcessCompletions(), "the poller thread owns it while it runs");
        poller.Stop();
        completed = count.Value;
        Assert.That(completed, Is.EqualTo(100));
        qp.Wait(qp.ReadAsync(setup.Ns, 0, 1, data));   // given back: this thread takes it again
    }

    [Test]
    public void APollerCannotStartWithAPairAnotherLiveThreadOwns()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using var owned = new ManualResetEventSlim();
        using var finish = new ManualResetEventSlim();
        var owner = new Thread(() =>
        {
            qp.BindToCurrentThread();
            owned.Set();
            finish.Wait();
        }) { Name = "owner" };
        owner.Start();
        owned.Wait();
        using var poller = new Poller(0, [qp]);
        var e = Assert.Throws<InvalidOperationException>(poller.Start)!;
        Assert.That(e.Message, Does.Contain("('owner')"));
        Assert.That(poller.IsRunning, Is.False);
        finish.Set();
        owner.Join();
    }
}
