using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation;

/// <summary>The device thread: works without Step(), pins to a CPU, takes faults from another thread, stops on Dispose.</summary>
public class ThreadedControllerTests
{
    private static TestHost Threaded(Action<EmulatedControllerOptions>? configure = null)
        => TestHost.Create(ns => ns.PiType = 0, o => { o.Mode = EmulatedControllerMode.Threaded; configure?.Invoke(o); });

    [Test]
    public void WriteReadWithoutStepping()
    {
        using var host = Threaded(o => o.DeviceCpu = 0);
        host.Registers.Write32(ControllerRegisters.Aqa, 0x000F_000F);
        var q = StartThreaded(host);
        var data = host.Alloc(4096);
        IoCommandTests.Pattern(data.Span, 1);
        for (int i = 0; i < 50; i++)
            TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Write, (ulong)(8 * i), 8, data.Iova)), NvmeStatus.Success, "write");
        var sink = host.Alloc(4096);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 8 * 49, 8, sink.Iova)), NvmeStatus.Success, "read");
        Assert.That(sink.Span.SequenceEqual(data.Span), Is.True);
        Assert.Throws<InvalidOperationException>(() => host.Controller.Step());
    }

    [Test]
    public void FaultsAreAppliedByTheDeviceThread()
    {
        using var host = TestHost.Create(ns => { ns.MetadataSize = 8; ns.PiType = 1; }, o => o.Mode = EmulatedControllerMode.Threaded);
        var q = StartThreaded(host);
        var data = host.Alloc(512);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova, cdw12Flags: CommandFields.Pract)), NvmeStatus.Success, "write");
        host.Controller.Faults.CorruptBlock(1, 0, CorruptionTarget.Guard);
        Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 1, data.Iova, cdw12Flags: CommandFields.Pract | CommandFields.PrchkGuard)).Status,
            Is.EqualTo(NvmeStatus.EndToEndGuardCheckError.Value));
    }

    [Test]
    public void DisposingTheTransportStopsTheController()
    {
        var host = Threaded();
        StartThreaded(host);
        host.Transport.Dispose();
        Assert.Throws<ObjectDisposedException>(() => host.Controller.Faults.SetFatalStatus());
        host.Dispose();
    }

    [Test]
    public void InlineControllerCanBeProgressedFromSeveralHostThreads()
    {
        // One queue pair per host thread, each spinning on Progress(): one pass runs at a time.
        using var host = TestHost.Create(ns => ns.CapacityBytes = 1 << 20);
        var queues = new[] { host.Start(entries: 8), host.CreateQueuePair(2, entries: 8) };
        var sources = new[] { host.Alloc(4096), host.Alloc(4096) };
        var sinks = new[] { host.Alloc(4096), host.Alloc(4096) };
        var failures = new int[2];
        var errors = new Exception?[2];
        var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            ulong lba = (ulong)(t * 1000);
            try
            {
                for (int i = 0; i < 400; i++)
                {
                    // Each thread's data is its own: any mixing of the two passes shows up as a mismatch.
                    sources[t].Span.Fill((byte)(t * 100 + i % 100));
                    var write = host.Execute(queues[t], TestHost.Rw(NvmOpcode.Write, lba, 8, sources[t].Iova));
                    var read = host.Execute(queues[t], TestHost.Rw(NvmOpcode.Read, lba, 8, sinks[t].Iova));
                    if (write.Status != 0 || read.Status != 0 || !sinks[t].Span.SequenceEqual(sources[t].Span))
                        failures[t]++;
                }
            }
            catch (Exception e)
            {
                errors[t] = e;   // an exception on a bare thread would take the whole test host down
            }
        })).ToArray();
        foreach (var thread in threads)
            thread.Start();
        foreach (var thread in threads)
            Assert.That(thread.Join(TimeSpan.FromSeconds(60)), Is.True);
        Assert.That(errors, Is.All.Null);
        Assert.That(failures, Is.EqualTo(new[] { 0, 0 }));
    }

    [Test]
    public void InlineControllerRefusesWorkAfterDispose()
    {
        var host = TestHost.Create();
        host.Enable();
        host.Controller.Dispose();
        Assert.Throws<ObjectDisposedException>(() => host.Controller.Step());
        Assert.Throws<ObjectDisposedException>(() => host.Controller.Faults.SetFatalStatus());
        Assert.DoesNotThrow(() => host.Progress());
        host.Dispose();
    }

    private static HostQueuePair StartThreaded(TestHost host)
    {
        host.Enable();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((host.Csts & ControllerStatus.Ready) == 0)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "CSTS.RDY");
            Thread.Yield();
        }
        return host.CreateQueuePair(1);
    }
}
