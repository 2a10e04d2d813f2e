using System.Runtime.CompilerServices;
using NUnit.Framework;
using PolledNvme.Tests.Support;
using PolledNvme.Driver;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// Steady-state I/O allocates nothing on the submitting/polling thread (callback and awaitable
/// forms, with PI options), measured with GC.GetAllocatedBytesForCurrentThread on the null backend.
/// The emulated controller runs on its own thread, so only host-side allocations are counted.
/// </summary>
public class AllocationTests
{
    private const int Iterations = 20_000;

    [TestCase("null:lbads=4096,ms=8,pi=1,size=1G")]
    [TestCase("null:lbads=4096,ms=8,pi=1,size=1G,dbbuf=1")]   // shadow doorbells: the EventIdx path allocates nothing either
    public void CallbackIoAllocatesNothingInSteadyState(string device)
    {
        using var setup = EmulatedSetup.Open(device);
        Assert.That(setup.Controller.ShadowDoorbellsEnabled, Is.EqualTo(device.Contains("dbbuf=1")));
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(64);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        var counter = new CompletionCounter();
        var pi = IoProtectionOptions.ControllerInserts(PiChecks.Guard | PiChecks.ReferenceTag);

        // Made once: a lambda expression evaluated inside Run would allocate its delegate per run.
        Action<int> submitOne = i =>
        {
            ulong lba = (ulong)(i % 1024);
            if ((i & 1) == 0)
                qp.Read(ns, lba, 1, data, null, pi, CompletionCounter.Callback, counter);
            else
                qp.Write(ns, lba, 1, data, null, pi, CompletionCounter.Callback, counter);
        };
        void Run(int count) => CompletionCounter.RunCallbackLoop(qp, count, submitOne);

        long allocated = SteadyState.AllocatedBytes(Run, Iterations);
        Assert.That(counter.Failed, Is.Zero);
        Assert.That(counter.Completed, Is.EqualTo(2 * Iterations));
        Assert.That(allocated, Is.Zero, $"{allocated} bytes allocated over {Iterations} callback I/Os");
    }

    [Test]
    public void AwaitableIoAllocatesNothingInSteadyState()
    {
        using var setup = EmulatedSetup.Open("null:lbads=4096,size=1G");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(64);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        var tasks = new ValueTask[32];

        void Run(int count)
        {
            for (int done = 0; done < count; done += tasks.Length)
            {
                for (int i = 0; i < tasks.Length; i++)
                    tasks[i] = (i & 1) == 0 ? qp.ReadAsync(ns, (ulong)i, 1, data) : qp.WriteAsync(ns, (ulong)i, 1, data);
                for (int i = 0; i < tasks.Length; i++)
                    qp.Wait(tasks[i]);
            }
        }

        Run(Iterations);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(Iterations);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.Zero, $"{allocated} bytes allocated over {Iterations} awaited I/Os");
    }

    /// <summary>
    /// The awaitable form used with <c>await</c> (not <c>Wait</c>): an async loop awaits one I/O
    /// after another; each continuation runs on this thread inside ProcessCompletions. The async
    /// method's own box is pooled (PoolingAsyncValueTaskMethodBuilder), so a whole run of
    /// awaited I/Os allocates nothing once warm.
    /// </summary>
    [Test]
    public void AwaitedIoAllocatesNothingInSteadyState()
    {
        using var setup = EmulatedSetup.Open("null:lbads=4096,ms=8,pi=1,size=1G");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(64);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        SynchronizationContext? saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);   // continuations inline, as on a poller thread
        try
        {
            int pollingThread = Environment.CurrentManagedThreadId;
            var wrongThread = new StrongBox<int>();

            void Run(int count)
            {
                ValueTask loop = AwaitLoop(qp, ns, data, count, pollingThread, wrongThread);
                while (!loop.IsCompleted)
                    qp.ProcessCompletions();
                loop.GetAwaiter().GetResult();
            }

            Run(Iterations);
            long before = GC.GetAllocatedBytesForCurrentThread();
            Run(Iterations);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.That(wrongThread.Value, Is.Zero, "continuations ran off the polling thread");
            Assert.That(allocated, Is.Zero, $"{allocated} bytes allocated over {Iterations} awaited I/Os");
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask AwaitLoop(IoQueuePair qp, Namespace ns, DmaBuffer data, int count, int pollingThread, StrongBox<int> wrongThread)
    {
        var pi = IoProtectionOptions.ControllerInserts(PiChecks.Guard | PiChecks.ReferenceTag);
        for (int i = 0; i < count; i++)
        {
            ulong lba = (ulong)(i % 1024);
            if ((i & 1) == 0)
                await qp.WriteAsync(ns, lba, 1, data, null, pi);
            else
                await qp.ReadAsync(ns, lba, 1, data, null, pi);
            if (Environment.CurrentManagedThreadId != pollingThread)
                wrongThread.Value++;
        }
    }
}
