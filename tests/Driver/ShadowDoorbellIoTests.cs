using System.Runtime.CompilerServices;
using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Pcie;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// Shadow doorbells through the driver against the emulated controller: used when offered (and not
/// when the user opts out), data intact in both modes, MMIO doorbells rung only when EventIdx asks,
/// and everything back after a controller reset.
/// </summary>
public class ShadowDoorbellIoTests
{
    private static long MmioWrites(IoQueuePair qp) => qp.MmioDoorbellWrites;

    [TestCase("mode=inline", false)]
    [TestCase("mode=inline", true)]
    [TestCase("mode=threaded", false)]
    [TestCase("mode=threaded", true)]
    public void DataIsIntactAndSurvivesAReset(string mode, bool dbbuf)
    {
        using var setup = EmulatedSetup.Open($"mem:lbads=4096,size=8M,{mode},dbbuf={(dbbuf ? 1 : 0)}");
        Assert.That(setup.Controller.ShadowDoorbellsEnabled, Is.EqualTo(dbbuf));
        Assert.That(setup.Device.Core.ShadowDoorbellsConfigured, Is.EqualTo(dbbuf));
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        Assert.That(((PcieQueuePair)qp.Wire).Rings.UsesShadowDoorbells, Is.EqualTo(dbbuf));
        WriteAndVerify(setup, qp, seed: 1, blocks: 200);   // more than a lap of the 16-entry rings, at QD 15

        setup.Controller.Reset();   // the controller forgets the configuration; the driver sends it again and re-creates the queues
        Assert.That(setup.Controller.ShadowDoorbellsEnabled, Is.EqualTo(dbbuf));
        Assert.That(setup.Device.Core.ShadowDoorbellsConfigured, Is.EqualTo(dbbuf));
        Assert.That(((PcieQueuePair)qp.Wire).Rings.UsesShadowDoorbells, Is.EqualTo(dbbuf));
        WriteAndVerify(setup, qp, seed: 2, blocks: 200);
    }

    [Test]
    public void OptingOutKeepsMmioDoorbells()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=8M,mode=inline,dbbuf=1",
            options: new NvmeControllerOptions { AllowNonHugepageMemory = true, ShadowDoorbells = false });
        Assert.That(setup.Controller.ShadowDoorbellsEnabled, Is.False);
        Assert.That(setup.Device.Core.ShadowDoorbellsConfigured, Is.False, "the driver sent Doorbell Buffer Config although the options opted out");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        WriteAndVerify(setup, qp, seed: 3, blocks: 40);
    }

    [Test]
    public void ARawDoorbellBufferConfigIsRefusedAndTheQueuesKeepWorking()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=8M,mode=inline,dbbuf=1");
        using DmaBuffer pages = setup.Controller.Memory.Allocate(8192);
        var command = new SubmissionEntry { Opcode = (byte)PolledNvme.Driver.Spec.AdminOpcode.DoorbellBufferConfig };
        var e = Assert.Throws<ArgumentException>(() => setup.Controller.ExecuteAdminRaw(command, pages, 8192))!;
        Assert.That(e.Message, Does.Contain("cannot be sent raw"));
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        WriteAndVerify(setup, qp, seed: 4, blocks: 20);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void MmioDoorbellsAreRungOnlyWhenEventIdxAsks(bool dbbuf)
    {
        // Inline: the device runs only when the host polls, so what it has read (and put in EventIdx) is known.
        using var setup = EmulatedSetup.Open($"mem:lbads=4096,size=8M,mode=inline,dbbuf={(dbbuf ? 1 : 0)}");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(64);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4096);
        int completed = 0;
        IoCompletionCallback done = static (state, in result) =>
        {
            Assert.That(result.IsSuccess, Is.True);
            ((StrongBox<int>)state!).Value++;
        };
        var box = new StrongBox<int>();
        long before = MmioWrites(qp);
        // 32 submissions, each published at once (BatchDoorbells off), before the device runs.
        for (int i = 0; i < 32; i++)
            qp.Write(setup.Ns, (ulong)i, 1, data, null, default, done, box);
        long afterSubmit = MmioWrites(qp);
        qp.Drain();
        completed = box.Value;
        long afterDrain = MmioWrites(qp);
        Assert.That(completed, Is.EqualTo(32));
        if (!dbbuf)
        {
            Assert.That(afterSubmit - before, Is.EqualTo(32), "one MMIO tail doorbell per published submission");
            return;
        }
        // The device had read tail 0 (EventIdx 0): the first update passes it, the next 31 do not.
        Assert.That(afterSubmit - before, Is.EqualTo(1), "SQ tail MMIO writes for 32 submissions");
        // CQ: EventIdx 0 is passed by the first head update only (the device never ran short of CQ slots).
        Assert.That(afterDrain - afterSubmit, Is.EqualTo(1), "CQ head MMIO writes while reaping 32 completions");

        // Now the device has read tail 32 and says so in EventIdx: the next update passes it and must ring.
        qp.Write(setup.Ns, 0, 1, data, null, default, done, box);
        Assert.That(MmioWrites(qp) - afterDrain, Is.EqualTo(1), "the update that passes EventIdx rang no MMIO doorbell");
        qp.Drain();
        Assert.That(box.Value, Is.EqualTo(33));
    }

    private static void WriteAndVerify(EmulatedSetup setup, IoQueuePair qp, int seed, int blocks)
    {
        Namespace ns = setup.Ns;
        var random = new Random(seed);
        int depth = qp.Depth;
        var writes = new DmaBuffer[depth];
        var reads = new DmaBuffer[depth];
        try
        {
            for (int i = 0; i < depth; i++)
            {
                writes[i] = setup.Controller.Memory.Allocate(4096);
                reads[i] = setup.Controller.Memory.Allocate(4096);
            }
            var expected = new Dictionary<ulong, byte[]>();
            for (int start = 0; start < blocks; start += depth)
            {
                int n = Math.Min(depth, blocks - start);
                var pending = new List<ValueTask>(n);
                for (int i = 0; i < n; i++)
                {
                    ulong lba = (ulong)random.Next(0, 2048);
                    random.NextBytes(writes[i].Span);
                    expected[lba] = writes[i].Span.ToArray();
                    pending.Add(qp.WriteAsync(ns, lba, 1, writes[i], null, default));
                }
                foreach (var p in pending)
                    qp.Wait(p);
            }
            var lbas = expected.Keys.ToArray();
            for (int start = 0; start < lbas.Length; start += depth)
            {
                int n = Math.Min(depth, lbas.Length - start);
                var pending = new List<ValueTask>(n);
                for (int i = 0; i < n; i++)
                    pending.Add(qp.ReadAsync(ns, lbas[start + i], 1, reads[i], null, default));
                for (int i = 0; i < n; i++)
                {
                    qp.Wait(pending[i]);
                    Assert.That(reads[i].Span.SequenceEqual(expected[lbas[start + i]]), Is.True, $"LBA {lbas[start + i]} read back other data");
                }
            }
        }
        finally
        {
            foreach (var b in writes)
                b?.Dispose();
            foreach (var b in reads)
                b?.Dispose();
        }
    }
}
