using System.Runtime.CompilerServices;
using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Emulation;
using PolledNvme.Queues;
using PolledNvme.Tests.Support;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// IoQueuePair.Run / RunAsync: a plain <c>await qp.ReadAsync(...)</c> completes with no polling
/// loop of the caller's; continuations (of I/O and of other awaits) run on the loop thread; the
/// body's exception comes out once its commands drained; cancelling stops the loop cleanly;
/// awaited I/O allocates nothing per command.
/// </summary>
public class EventLoopTests
{
    [Test]
    public void PlainAwaitsCompleteInsideRun()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        Namespace ns = setup.Ns;
        byte[]? readBack = null;

        qp.Run(async q =>
        {
            data.Span.Fill(0x6B);
            await q.WriteAsync(ns, 7, 1, data);
            data.Span.Clear();
            await q.ReadAsync(ns, 7, 1, data);
            readBack = data.Span.ToArray();
        });

        Assert.That(readBack, Is.Not.Null.And.All.EqualTo(0x6B));
        Assert.That(qp.InFlight, Is.Zero);
        Assert.That(SynchronizationContext.Current, Is.Not.InstanceOf<EventLoopContext>(), "the caller's context is restored");
    }

    [Test]
    public void EveryContinuationRunsOnTheLoopThread()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        int loopThread = Environment.CurrentManagedThreadId;
        var seen = new List<(string After, int Thread)>();

        qp.Run(async q =>
        {
            await q.ReadAsync(setup.Ns, 0, 1, data);
            seen.Add(("read", Environment.CurrentManagedThreadId));
            await Task.Yield();
            seen.Add(("yield", Environment.CurrentManagedThreadId));
            await Task.Run(() => Thread.Sleep(1));   // completes on a pool thread; resumes on the loop through its context
            seen.Add(("pool task", Environment.CurrentManagedThreadId));
            await q.FlushAsync(setup.Ns);
            seen.Add(("flush", Environment.CurrentManagedThreadId));
        });

        Assert.That(seen.Select(s => s.After), Is.EqualTo(new[] { "read", "yield", "pool task", "flush" }));
        Assert.That(seen.Select(s => s.Thread), Is.All.EqualTo(loopThread));
    }

    [Test]
    public void TheBodysExceptionComesOutAfterItsCommandsDrained()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        ValueTask fired = default;

        var e = Assert.Throws<InvalidDataException>(() => qp.Run(async q =>
        {
            await q.ReadAsync(setup.Ns, 0, 1, data);
            fired = q.ReadAsync(setup.Ns, 1, 1, data);   // not awaited: still in flight when the body throws
            throw new InvalidDataException("the body failed");
        }))!;
        Assert.That(e.Message, Is.EqualTo("the body failed"));
        Assert.That((qp.InFlight, data.Leases), Is.EqualTo((0, 0)), "the command in flight completed before Run returned");
        Assert.That(fired.IsCompletedSuccessfully, Is.True);
        fired.GetAwaiter().GetResult();

        // A body that throws before its first await, too.
        Assert.Throws<ArgumentException>(() => qp.Run(_ => throw new ArgumentException("synchronous")));
    }

    [Test]
    public void CancellingTheLoopStopsNewCommandsDrainsTheOldOnesAndThrows()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        using var cts = new CancellationTokenSource();
        int reads = 0;
        Exception? seenByBody = null;

        var e = Assert.Throws<OperationCanceledException>(() => qp.Run(async q =>
        {
            try
            {
                while (true)   // ignores the token: the loop's refusal of new commands ends it
                {
                    await q.ReadAsync(setup.Ns, (ulong)(reads % 16), 1, data);
                    if (++reads == 100)
                        cts.Cancel();
                }
            }
            catch (OperationCanceledException oce)
            {
                seenByBody = oce;
                throw;
            }
        }, cts.Token))!;

        Assert.That(reads, Is.InRange(100, 101));
        Assert.That(seenByBody, Is.Not.Null);
        Assert.That(seenByBody!.Message, Does.Contain("stopping"));
        Assert.That(e.CancellationToken, Is.EqualTo(cts.Token));
        Assert.That((qp.InFlight, data.Leases), Is.EqualTo((0, 0)));
        qp.Wait(qp.ReadAsync(setup.Ns, 0, 1, data));   // usable again after the loop
    }

    [Test]
    public void CancellingFromAnotherThreadEndsALoopWhoseBodyWaitsOnSomethingElse()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        using var cts = new CancellationTokenSource();
        var never = new TaskCompletionSource();
        var started = new ManualResetEventSlim();
        Task canceller = Task.Run(() =>
        {
            started.Wait();
            cts.Cancel();
        });

        Assert.Throws<OperationCanceledException>(() => qp.Run(async _ =>
        {
            started.Set();
            await never.Task;
        }, cts.Token));
        canceller.Wait();
    }

    [Test]
    public void CommandsGivenTheLoopsTokenAreAbortedWhenItIsCancelled()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M", o => o.Mode = EmulatedControllerMode.Inline);
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        using var cts = new CancellationTokenSource();

        Assert.Throws<OperationCanceledException>(() => qp.Run(async q =>
        {
            ValueTask read = q.ReadAsync(setup.Ns, 0, 1, data, cts.Token);   // sits in the SQ of the inline device
            cts.Cancel();
            await read;
        }, cts.Token));
        Assert.That(qp.AbortsSent, Is.EqualTo(1));
        Assert.That((qp.InFlight, data.Leases), Is.EqualTo((0, 0)));
    }

    [Test]
    public void RunAsyncRunsTheLoopOnItsOwnThreadAndHandsThePairBack()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        int loopThread = 0;
        qp.Wait(qp.WriteAsync(setup.Ns, 0, 1, data));   // this thread owns it first: RunAsync hands it over

        Task loop = qp.RunAsync(async q =>
        {
            for (int i = 0; i < 50; i++)
                await q.ReadAsync(setup.Ns, (ulong)i, 1, data);
            loopThread = Environment.CurrentManagedThreadId;
        });
        Assert.That(loop.Wait(TimeSpan.FromMinutes(2)), Is.True);
        Assert.That(loopThread, Is.Not.EqualTo(Environment.CurrentManagedThreadId).And.Not.Zero);
        qp.Wait(qp.ReadAsync(setup.Ns, 0, 1, data));   // released by the loop thread: this thread takes it back

        Task failing = qp.RunAsync(_ => throw new InvalidDataException("boom"));
        var e = Assert.Throws<AggregateException>(() => failing.Wait())!;
        Assert.That(e.InnerException, Is.TypeOf<InvalidDataException>());
    }

    [Test]
    public void RunRefusesAnotherThreadsPairAndANestedLoop()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        qp.Wait(qp.ReadAsync(setup.Ns, 0, 1, data));
        Exception? other = null;
        var thread = new Thread(() => other = Record(() => qp.Run(_ => ValueTask.CompletedTask)));
        thread.Start();
        thread.Join();
        Assert.That(other, Is.TypeOf<InvalidOperationException>());
        Assert.That(other!.Message, Does.Contain("belongs to thread"));

        var nested = Assert.Throws<InvalidOperationException>(() => qp.Run(q =>
        {
            q.Run(_ => ValueTask.CompletedTask);
            return ValueTask.CompletedTask;
        }))!;
        Assert.That(nested.Message, Does.Contain("already runs an event loop"));
    }

    [Test]
    public void AwaitingIoOnTheLoopAllocatesNothingPerIo()
    {
        using var setup = EmulatedSetup.Open("null:lbads=4096,size=1G");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(64);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        Namespace ns = setup.Ns;
        const int Ios = 20_000;
        var wrongThread = new StrongBox<int>();
        int loopThread = Environment.CurrentManagedThreadId;
        int count = 0;
        // Made once: the body delegate and its closure are not part of the per-I/O cost.
        Func<IoQueuePair, ValueTask> body = q => AwaitLoop(q, ns, data, count, loopThread, wrongThread);
        void RunLoop(int n)
        {
            count = n;
            qp.Run(body);
        }

        long allocated = SteadyState.AllocatedBytes(RunLoop, Ios);
        Assert.That(wrongThread.Value, Is.Zero);
        // One async state machine box per Run (a plain async method), nothing per awaited I/O.
        Assert.That(allocated, Is.LessThanOrEqualTo(256), $"{allocated} bytes allocated over {Ios} awaited I/Os on the event loop");
    }

    private static async ValueTask AwaitLoop(IoQueuePair qp, Namespace ns, DmaBuffer data, int count, int loopThread, StrongBox<int> wrongThread)
    {
        for (int i = 0; i < count; i++)
        {
            if ((i & 1) == 0)
                await qp.ReadAsync(ns, (ulong)(i % 1024), 1, data);
            else
                await qp.WriteAsync(ns, (ulong)(i % 1024), 1, data);
            if (Environment.CurrentManagedThreadId != loopThread)
                wrongThread.Value++;
        }
    }

    private static Exception? Record(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
