using NUnit.Framework;
using PolledNvme.Tests.Support;
using PolledNvme.Driver;
using PolledNvme.Queues;
using static PolledNvme.Tests.Driver.Tcp.TcpTestSupport;

namespace PolledNvme.Tests.Driver.Tcp;

/// <summary>
/// Steady-state NVMe/TCP I/O allocates nothing on the submitting/polling thread: in-capsule
/// writes, R2T writes, reads (with SUCCESS or a response capsule), digests, Keep Alive ticks.
/// The scripted target runs on its own threads, so only host-side allocations are counted.
/// </summary>
public class TcpAllocationTests
{
    private const int Iterations = 10_000;

    [TestCase("kato=1")]
    [TestCase("hdgst=1,ddgst=1,sqflow=0,kato=1")]
    public void CallbackIoOverTcpAllocatesNothingInSteadyState(string keys)
    {
        using var target = new ScriptedTcpTarget(blocks: 4096);
        using NvmeController controller = Open(target, keys);
        Namespace ns = controller.Namespaces[0];
        using IoQueuePair qp = controller.CreateIoQueuePair(32);
        using DmaBuffer small = controller.Memory.Allocate(4096);
        using DmaBuffer large = controller.Memory.Allocate(32 * 1024);   // above the 16 KiB in-capsule size: R2T + H2CData
        var counter = new CompletionCounter();
        IoCompletionCallback done = CompletionCounter.Callback;

        // Made once: a lambda expression evaluated inside Run would allocate its delegate per run.
        Action<int> submitOne = i =>
        {
            ulong lba = (ulong)(i % 64) * 64;
            switch (i % 4)
            {
                case 0: qp.Write(ns, lba, 8, small, null, default, done, counter); break;
                case 1: qp.Read(ns, lba, 8, small, null, default, done, counter); break;
                case 2: qp.Write(ns, lba, 64, large, null, default, done, counter); break;
                default: qp.Read(ns, lba, 64, large, null, default, done, counter); break;
            }
        };
        void Run(int count) => CompletionCounter.RunCallbackLoop(qp, count, submitOne);

        long allocated = SteadyState.AllocatedBytes(Run, Iterations);
        Assert.That(counter.Failed, Is.Zero);
        Assert.That(counter.Completed, Is.EqualTo(2 * Iterations));
        Assert.That(target.R2TWrites, Is.GreaterThan(0));
        Assert.That(allocated, Is.Zero, $"{allocated} bytes allocated over {Iterations} I/Os over NVMe/TCP");
    }

    [Test]
    public void AwaitableIoOverTcpAllocatesNothingInSteadyState()
    {
        using var target = new ScriptedTcpTarget(blocks: 4096);
        using NvmeController controller = Open(target, "ddgst=1");
        Namespace ns = controller.Namespaces[0];
        using IoQueuePair qp = controller.CreateIoQueuePair(32);
        using DmaBuffer data = controller.Memory.Allocate(4096);
        var tasks = new ValueTask[16];

        void Run(int count)
        {
            for (int n = 0; n < count; n += tasks.Length)
            {
                for (int i = 0; i < tasks.Length; i++)
                    tasks[i] = (i & 1) == 0 ? qp.ReadAsync(ns, (ulong)i * 8, 8, data) : qp.WriteAsync(ns, (ulong)i * 8, 8, data);
                for (int i = 0; i < tasks.Length; i++)
                    qp.Wait(tasks[i]);
            }
        }

        Run(Iterations);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(Iterations);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.Zero, $"{allocated} bytes allocated over {Iterations} awaited I/Os over NVMe/TCP");
    }
}
