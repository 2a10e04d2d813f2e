using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation;

/// <summary>
/// FaultInjector: forced statuses, dropped and delayed completions, CSTS.CFS, bad corruption
/// requests; the command faults on RAM media (synchronous) and on a file (the asynchronous media path).
/// </summary>
public class FaultInjectionTests
{
    private string? _dir;

    [TearDown]
    public void TearDown()
    {
        if (_dir is not null)
            Directory.Delete(_dir, recursive: true);
        _dir = null;
    }

    /// <summary>An inline controller over RAM, or over a file (whose commands complete on the asynchronous media path).</summary>
    private TestHost Host(bool file) => file
        ? TestHost.Create(ns =>
        {
            _dir ??= Directory.CreateTempSubdirectory("pnvme-fault-").FullName;
            ns.Backend = MediaBackendKind.File;
            ns.FilePath = Path.Combine(_dir, "ns.img");
            ns.DirectIo = false;
        })
        : TestHost.Create();

    [TestCase(false)]
    [TestCase(true)]
    public void ForcedStatusHitsOnlyTheNextMatchingCommand(bool file)
    {
        using var host = Host(file);
        var q = host.Start();
        var data = host.Alloc(512);
        host.Controller.Faults.FailNextCommand(FaultQueue.Io, (byte)NvmOpcode.Read, NvmeStatus.UnrecoveredReadError);
        Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova)).Status, Is.Zero, "a write does not match");
        Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 1, data.Iova)).Status, Is.EqualTo(NvmeStatus.UnrecoveredReadError.Value));
        Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 1, data.Iova)).Status, Is.Zero, "only once");
    }

    [Test]
    public void ForcedStatusCanBeLimitedToANamespaceAndTheAdminQueue()
    {
        using var host = TestHost.Create();
        host.Enable();
        host.Controller.Faults.FailNextCommand(FaultQueue.Admin, (byte)AdminOpcode.Identify, NvmeStatus.InternalError, namespaceId: 1);
        Assert.That(host.Identify((byte)IdentifyCns.Controller).Completion.Status, Is.Zero, "NSID 0 does not match");
        Assert.That(host.Identify((byte)IdentifyCns.Namespace, 1).Completion.Status, Is.EqualTo(NvmeStatus.InternalError.Value));
        Assert.Throws<ArgumentException>(() => host.Controller.Faults.FailNextCommand(FaultQueue.Io, 1, NvmeStatus.Success));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void DroppedCompletionNeverArrives(bool file)
    {
        using var host = Host(file);
        var q = host.Start();
        var data = host.Alloc(512);
        host.Controller.Faults.DropNextCompletion(FaultQueue.Io, (byte)NvmOpcode.Write);
        host.Submit(q, TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova));
        for (int i = 0; i < 10; i++)
            host.Controller.Step();
        Assert.That(host.TryReap(q, out _), Is.False);
        var next = host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 1, data.Iova));
        Assert.That(next.Status, Is.Zero);
        Assert.That(next.SqHead, Is.EqualTo(2), "the dropped command was consumed");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void DelayedCompletionArrivesAfterTheDelay(bool file)
    {
        using var host = Host(file);
        var q = host.Start();
        var data = host.Alloc(512);
        host.Controller.Faults.DelayNextCompletion(FaultQueue.Io, (byte)NvmOpcode.Write, TimeSpan.FromMilliseconds(30));
        var started = System.Diagnostics.Stopwatch.StartNew();
        ushort cid = host.Submit(q, TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova));
        host.Controller.Step();
        Assert.That(host.TryReap(q, out _), Is.False, "not yet");
        CompletionEntry completion;
        while (!host.TryReap(q, out completion))
        {
            Assert.That(started.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
            Thread.Sleep(1);
            host.Controller.Step();
        }
        Assert.That(started.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(30)));
        Assert.That(completion.CommandId, Is.EqualTo(cid));
        Assert.That(completion.Status, Is.Zero);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void FatalStatusStopsTheControllerUntilReset(bool file)
    {
        using var host = Host(file);
        var q = host.Start();
        host.Controller.Faults.SetFatalStatus();
        Assert.That(host.Csts & ControllerStatus.Fatal, Is.Not.Zero);
        var data = host.Alloc(512);
        host.Submit(q, TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova));
        Assert.That(host.Controller.Step(), Is.Zero);
        host.Disable();
        Assert.That(host.Csts, Is.Zero);
        Assert.That(host.Enable() & ControllerStatus.Ready, Is.Not.Zero);
    }

    [Test]
    public void CorruptionRequestsThatCannotApplyThrow()
    {
        using var host = TestHost.Create(ns => ns.MetadataSize = 8);
        var faults = host.Controller.Faults;
        Assert.That(Assert.Throws<ArgumentException>(() => faults.CorruptBlock(2, 0, CorruptionTarget.Data))!.Message, Does.Contain("namespace 2"));
        Assert.That(Assert.Throws<ArgumentException>(() => faults.CorruptBlock(1, 1 << 20, CorruptionTarget.Data))!.Message, Does.Contain("LBA"));
        Assert.That(Assert.Throws<InvalidOperationException>(() => faults.CorruptBlock(1, 0, CorruptionTarget.Guard))!.Message, Does.Contain("not formatted with protection"));
        using var pi = TestHost.Create(ns => { ns.MetadataSize = 8; ns.PiType = 1; });
        Assert.That(Assert.Throws<InvalidOperationException>(() => pi.Controller.Faults.CorruptBlock(1, 0, CorruptionTarget.StorageTag))!.Message, Does.Contain("StorageTag"));
        using var none = TestHost.Create(ns => ns.Backend = MediaBackendKind.Null);
        Assert.Throws<InvalidOperationException>(() => none.Controller.Faults.CorruptBlock(1, 0, CorruptionTarget.Data));
    }
}
