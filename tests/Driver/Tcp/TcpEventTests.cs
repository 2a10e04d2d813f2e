using System.Diagnostics.Tracing;
using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Tcp;
using PolledNvme.Queues;
using PolledNvme.Tests.Support;
using static PolledNvme.Tests.Driver.Tcp.TcpTestSupport;
using static PolledNvme.Tests.Support.PolledNvmeEventListener;

namespace PolledNvme.Tests.Driver.Tcp;

/// <summary>
/// The NVMe/TCP transport's lifecycle on the "PolledNvme" event source: a lost association is a
/// ControllerFatal event with source NVMe/TCP and the transport's error, traced once; an
/// initialization that fails is InitializeFailed with the error; a reset reconnects and is traced.
/// </summary>
public class TcpEventTests
{
    [Test]
    public void ATerminatedAssociationIsTracedAsFatalOnceThenTheResetReconnects()
    {
        using var target = new ScriptedTcpTarget();
        using var events = new PolledNvmeEventListener($"tcp:127.0.0.1:{target.Port}/");
        using NvmeController controller = Open(target);
        Assert.That(events.Named("InitializeStop").Single().Payload![1], Is.EqualTo(nameof(NvmeTcpTransport)));
        Namespace ns = controller.Namespaces[0];
        using IoQueuePair qp = controller.CreateIoQueuePair(16);
        using DmaBuffer data = controller.Memory.Allocate(512);

        target.Arm(PeerFault.TermReq);
        var e = Assert.Throws<NvmeException>(() => qp.Wait(qp.ReadAsync(ns, 0, 1, data), TimeSpan.FromSeconds(30)))!;
        Assert.That(e.Status.TypeAndCode, Is.EqualTo(NvmeStatus.HostPathingError.TypeAndCode));
        Assert.That(controller.IsOperational, Is.False);
        Assert.Throws<NvmeException>(() => qp.Wait(qp.ReadAsync(ns, 0, 1, data), TimeSpan.FromSeconds(30)));

        EventWrittenEventArgs fatal = events.Named("ControllerFatal").Single();
        Assert.That(Field(fatal, "Source"), Is.EqualTo("NVMe/TCP"));
        Assert.That((string)Field(fatal, "Reason")!, Does.StartWith(nameof(NvmeTcpError.TerminatedByController)));

        controller.Reset();
        Assert.That(events.Named("ResetStop"), Has.Count.EqualTo(1));
        qp.Wait(qp.ReadAsync(ns, 0, 1, data));
    }

    [Test]
    public void AFailedInitializationIsTracedWithItsError()
    {
        using var target = new ScriptedTcpTarget { AcceptAndClose = true };
        using var events = new PolledNvmeEventListener($"tcp:127.0.0.1:{target.Port}/");
        Assert.Throws<NvmeTcpException>(() => Open(target));
        Assert.That(events.Named("InitializeStart"), Has.Count.EqualTo(1));
        EventWrittenEventArgs failed = events.Named("InitializeFailed").Single();
        Assert.That(failed.Level, Is.EqualTo(EventLevel.Error));
        Assert.That((string)Field(failed, "Error")!, Does.StartWith(nameof(NvmeTcpException)).And.Contain("ICResp"));
        Assert.That(events.Named("InitializeStop"), Is.Empty);
    }
}
