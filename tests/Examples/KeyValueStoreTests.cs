using System.Text;
using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Examples.KeyValueStore;
using PolledNvme.Tests.Driver.Tcp;

namespace PolledNvme.Tests.Examples;

/// <summary>
/// examples/KeyValueStore on the emulated controller (a file image, reopened), on NVMe/TCP (the
/// scripted target) and on a PI namespace; its workload and its refusals.
/// </summary>
public class KeyValueStoreTests
{
    private static byte[] Key(int k) => Encoding.ASCII.GetBytes($"key-{k:D5}");
    private static byte[] Value(int k) => Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat($"value of {k};", 1 + k % 7)));

    /// <summary>Puts <paramref name="count"/> keys, 16 at a time, then gets them back and one that is absent.</summary>
    private static void PutThenGet(NvmeController controller, int count, bool put)
    {
        Namespace ns = controller.Namespaces[0];
        using IoQueuePair qp = controller.CreateIoQueuePair(new IoQueuePairOptions { Entries = 16, SoftwareQueueDepth = 64 });
        using var store = new BlockKeyValueStore(controller, ns, qp, slots: 1024, concurrency: 8);
        qp.Run(async _ =>
        {
            if (put)
                for (int first = 0; first < count; first += 16)
                    await Task.WhenAll(Enumerable.Range(first, Math.Min(16, count - first)).Select(k => store.PutAsync(Key(k), Value(k)).AsTask()));
            var destination = new byte[store.MaxValueLength(16)];
            for (int k = 0; k < count; k++)
            {
                int length = await store.GetAsync(Key(k), destination);
                Assert.That(destination.AsSpan(0, Math.Max(length, 0)).ToArray(), Is.EqualTo(Value(k)), $"key {k}");
            }
            Assert.That(await store.GetAsync(Key(count + 1), destination), Is.EqualTo(-1));
        });
        if (put)
            Assert.That(store.BackPressureWaits, Is.GreaterThan(0), "16 operations at a time over 8 arena slices: some waited");
    }

    [Test]
    public void ValuesSurviveReopeningTheImage()
    {
        string dir = Directory.CreateTempSubdirectory("pnvme-kv-").FullName;
        try
        {
            string device = $"emu:{Path.Combine(dir, "kv.img")},lbads=4096,size=16M";
            using (var controller = NvmeController.Open(device))
                PutThenGet(controller, 200, put: true);
            using (var controller = NvmeController.Open(device))
                PutThenGet(controller, 200, put: false);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void RunsOnNvmeTcpAlike()
    {
        using var target = new ScriptedTcpTarget(blocks: 2048, blockSize: 4096);
        using var controller = TcpTestSupport.Open(target);
        PutThenGet(controller, 100, put: true);
    }

    [Test]
    public void RunsOnAPiNamespaceWithTheControllerInsertingProtection()
    {
        using var controller = NvmeController.Open("mem:lbads=4096,ms=8,pi=1,size=16M");
        PutThenGet(controller, 100, put: true);
    }

    [Test]
    public void TheWorkloadReportsItsOperationsAndLatency()
    {
        KeyValueReport report = KeyValueWorkload.Run("mem:lbads=4096,size=16M", keys: 300, concurrency: 16, TimeSpan.FromMilliseconds(300));
        Assert.That(report.Gets + report.Puts, Is.GreaterThan(0));
        Assert.That(report.Hits, Is.EqualTo(report.Gets), "every key was loaded first: every get hits");
        Assert.That(report.Cancelled, Is.LessThanOrEqualTo(16));
        Assert.That(report.P50Us, Is.GreaterThan(0).And.LessThanOrEqualTo(report.P99Us));
        Assert.That(report.ToString(), Does.Contain("ops/s").And.Contain("p99"));
    }

    private static async Task<T> Throws<T>(Func<ValueTask> operation) where T : Exception
    {
        try
        {
            await operation();
        }
        catch (T e)
        {
            return e;
        }
        throw new AssertionException($"expected {typeof(T).Name}");
    }

    private static Task<T> Throws<T>(Func<ValueTask<int>> operation) where T : Exception
        => Throws<T>(async () => { await operation(); });

    [Test]
    public void BadInputsAreRefusedAndAFullStoreSaysSo()
    {
        using var controller = NvmeController.Open("mem:lbads=4096,size=16M");
        Namespace ns = controller.Namespaces[0];
        using IoQueuePair qp = controller.CreateIoQueuePair(new IoQueuePairOptions { Entries = 8, SoftwareQueueDepth = 8 });
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new BlockKeyValueStore(controller, ns, qp, slots: 0, concurrency: 1))!.ParamName, Is.EqualTo("slots"));
        using var store = new BlockKeyValueStore(controller, ns, qp, slots: 4, concurrency: 2);
        qp.Run(async _ =>
        {
            // On the event loop an exception is awaited, never waited for (a blocking wait there would stop the polling).
            await Throws<ArgumentException>(() => store.PutAsync(Array.Empty<byte>(), Value(1)));
            await Throws<ArgumentException>(() => store.PutAsync(Key(1), new byte[4096]));
            using var cancelled = new CancellationTokenSource();
            cancelled.Cancel();
            await Throws<OperationCanceledException>(() => store.GetAsync(Key(1), new byte[64], cancelled.Token));
            for (int k = 0; k < 4; k++)
                await store.PutAsync(Key(k), Value(k));
            var full = await Throws<InvalidOperationException>(() => store.PutAsync(Key(99), Value(99)));
            Assert.That(full.Message, Does.Contain("full"));
            await Throws<ArgumentException>(() => store.GetAsync(Key(0), new byte[2]));
            await store.PutAsync(Key(2), Value(7));   // an update of a key in a full store
            var destination = new byte[512];
            int length = await store.GetAsync(Key(2), destination);
            Assert.That(destination.AsSpan(0, length).ToArray(), Is.EqualTo(Value(7)));
        });
    }
}
