using System.Net;
using System.Net.Sockets;
using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Tcp;
using PolledNvme.Queues;
using static PolledNvme.Tests.Driver.Tcp.TcpTestSupport;

namespace PolledNvme.Tests.Driver.Tcp;

/// <summary>
/// Every NVMe/TCP failure surfaces as a specific error, fails what is in flight (never hangs),
/// and the controller reconnects with Reset — against faults the scripted target plays.
/// </summary>
public class TcpFailureTests
{
    [Test]
    public void ConnectionRefusedNamesTheEndpoint()
    {
        int port = FreePort();
        var e = Assert.Throws<NvmeTcpException>(() => NvmeController.Open($"tcp:127.0.0.1:{port}/{ScriptedTcpTarget.Nqn},hostnqn={HostNqn}"))!;
        Assert.That(e.Error, Is.EqualTo(NvmeTcpError.ConnectionRefused));
        Assert.That(e.Errno, Is.EqualTo(111));
        Assert.That(e.Message, Does.Contain($"127.0.0.1:{port}").And.Contain("ECONNREFUSED"));
    }

    [Test]
    public void AListenerThatClosesBeforeTheICRespIsAnInitializationFailure()
    {
        using var target = new ScriptedTcpTarget { AcceptAndClose = true };
        var e = Assert.Throws<NvmeTcpException>(() => Open(target))!;
        Assert.That(e.Error, Is.EqualTo(NvmeTcpError.InitializationFailed));
        Assert.That(e.Message, Does.Contain("the connection ended before the ICResp").And.Contain("Nothing serves NVMe/TCP there yet"));
    }

    [TestCase(1, "PDU format version 1")]
    public void AnUnacceptableICRespIsRefused(int pfv, string expected)
    {
        using var target = new ScriptedTcpTarget { IcRespPfv = (ushort)pfv };
        var e = Assert.Throws<NvmeTcpException>(() => Open(target))!;
        Assert.That(e.Error, Is.EqualTo(NvmeTcpError.InitializationFailed));
        Assert.That(e.Message, Does.Contain(expected));
    }

    [Test]
    public void ATargetThatDropsADigestTheHostAskedForIsRefused()
    {
        using var target = new ScriptedTcpTarget { RefuseDigests = true };
        var e = Assert.Throws<NvmeTcpException>(() => Open(target, "ddgst=1"))!;
        Assert.That(e.Message, Does.Contain("data off").And.Contain("data on"));
    }

    [Test]
    public void AnUnknownSubsystemIsAConnectRejectionNamingIt()
    {
        using var target = new ScriptedTcpTarget();
        var e = Assert.Throws<NvmeTcpException>(() => NvmeController.Open($"tcp:127.0.0.1:{target.Port}/nqn.2024-01.io.example:nope,hostnqn={HostNqn}"))!;
        Assert.That(e.Error, Is.EqualTo(NvmeTcpError.ConnectRejected));
        Assert.That(e.Message, Does.Contain("Connect Invalid Parameters").And.Contain("nqn.2024-01.io.example:nope").And.Contain("not offered on this port"));
    }

    [Test]
    public void AHostTheSubsystemDoesNotAllowIsRejected()
    {
        using var target = new ScriptedTcpTarget { AllowedHostNqn = "nqn.2024-01.io.example:someone-else" };
        var e = Assert.Throws<NvmeTcpException>(() => Open(target))!;
        Assert.That(e.Message, Does.Contain("Connect Invalid Host").And.Contain(HostNqn).And.Contain("attr_allow_any_host"));
    }

    [TestCase(PeerFault.CloseConnection, NvmeTcpError.ConnectionClosed)]
    [TestCase(PeerFault.ResetConnection, NvmeTcpError.ConnectionReset)]
    [TestCase(PeerFault.TruncatedResponse, NvmeTcpError.ConnectionClosed)]
    [TestCase(PeerFault.MalformedHeader, NvmeTcpError.ProtocolError)]
    [TestCase(PeerFault.UnknownCommandId, NvmeTcpError.ProtocolError)]
    [TestCase(PeerFault.DataOutOfRange, NvmeTcpError.ProtocolError)]
    [TestCase(PeerFault.CorruptHeaderDigest, NvmeTcpError.HeaderDigestMismatch)]
    [TestCase(PeerFault.TermReq, NvmeTcpError.TerminatedByController)]
    public void AConnectionFailureFailsEveryOutstandingCommandThenResetReconnects(PeerFault fault, NvmeTcpError expected)
    {
        using var target = new ScriptedTcpTarget();
        string keys = fault == PeerFault.CorruptHeaderDigest ? "hdgst=1" : "";
        using NvmeController controller = Open(target, keys);
        Namespace ns = controller.Namespaces[0];
        using IoQueuePair qp = controller.CreateIoQueuePair(16);
        using DmaBuffer pattern = controller.Memory.Allocate(4 * 512);
        pattern.Span.Fill(0x5A);
        qp.Wait(qp.WriteAsync(ns, 0, 4, pattern));

        // Four reads outstanding when the fault hits the first: every one fails, none hangs.
        var read = controller.Memory.Allocate(4 * 512);
        var others = Enumerable.Range(0, 3).Select(_ => controller.Memory.Allocate(4 * 512)).ToArray();
        target.Arm(fault);
        qp.BatchDoorbells = true;
        ValueTask failing = qp.ReadAsync(ns, 0, 4, read);
        ValueTask[] rest = others.Select(b => qp.ReadAsync(ns, 0, 4, b)).ToArray();
        qp.RingDoorbell();
        qp.BatchDoorbells = false;
        var exception = Assert.Throws<NvmeException>(() => qp.Wait(failing, TimeSpan.FromSeconds(30)))!;
        Assert.That(exception.Status.TypeAndCode, Is.EqualTo(NvmeStatus.HostPathingError.TypeAndCode), exception.Message);
        foreach (ValueTask t in rest)
            Assert.That(Assert.Throws<NvmeException>(() => qp.Wait(t, TimeSpan.FromSeconds(30)))!.Status.TypeAndCode, Is.EqualTo(NvmeStatus.HostPathingError.TypeAndCode));
        Assert.That(qp.InFlight, Is.Zero);
        foreach (DmaBuffer b in others)
            b.Dispose();
        NvmeTcpException failure = controller.Tcp().Failure!;
        Assert.That(failure, Is.Not.Null);
        Assert.That(failure.Error, Is.EqualTo(expected), failure.Message);
        Assert.That(exception.Message, Does.Contain(failure.Message), "the command's error carries the transport's reason");
        Assert.That(controller.IsOperational, Is.False, "CSTS reads as fatal once the association is lost");

        // Commands submitted after the failure fail too, at the next poll, instead of hanging.
        using DmaBuffer more = controller.Memory.Allocate(512);
        var after = Assert.Throws<NvmeException>(() => qp.Wait(qp.ReadAsync(ns, 0, 1, more), TimeSpan.FromSeconds(30)))!;
        Assert.That(after.Status.TypeAndCode, Is.EqualTo(NvmeStatus.HostPathingError.TypeAndCode));

        if (fault is PeerFault.MalformedHeader or PeerFault.UnknownCommandId or PeerFault.DataOutOfRange or PeerFault.CorruptHeaderDigest)
        {
            SpinWait.SpinUntil(() => !target.TermReqs.IsEmpty, TimeSpan.FromSeconds(10));
            Assert.That(target.TermReqs, Is.Not.Empty, "the host tells the target why it ends the connection (H2CTermReq)");
            byte fes = target.TermReqs.First().Fes;
            Assert.That(fes, Is.EqualTo(fault == PeerFault.CorruptHeaderDigest ? 0x03 : fault == PeerFault.DataOutOfRange ? 0x04 : 0x01));
        }

        controller.Reset();
        Assert.That(controller.Tcp().Failure, Is.Null);
        Assert.That(controller.IsOperational);
        read.Span.Clear();
        qp.Wait(qp.ReadAsync(ns, 0, 4, read));
        Assert.That(read.Span.SequenceEqual(pattern.Span), "after the reconnect the same queue pair reads the data");
        read.Dispose();
    }

    [Test]
    public void ADataDigestMismatchFailsOnlyThatCommandWithATransportError()
    {
        using var target = new ScriptedTcpTarget();
        using NvmeController controller = Open(target, "ddgst=1");
        Namespace ns = controller.Namespaces[0];
        using IoQueuePair qp = controller.CreateIoQueuePair(8);
        using DmaBuffer data = controller.Memory.Allocate(8 * 512);
        data.Span.Fill(0x11);
        qp.Wait(qp.WriteAsync(ns, 0, 8, data));
        target.Arm(PeerFault.CorruptDataDigest);
        var e = Assert.Throws<NvmeException>(() => qp.Wait(qp.ReadAsync(ns, 0, 8, data)))!;
        Assert.That(e.Status.TypeAndCode, Is.EqualTo(NvmeStatus.TransientTransportError.TypeAndCode));
        Assert.That(e.Message, Does.Contain("data digest").And.Contain("must not be used"));
        Assert.That(controller.Tcp().DataDigestErrors, Is.EqualTo(1));
        Assert.That(controller.Tcp().Failure, Is.Null, "the connection stays up: the PDU's framing was sound");
        data.Span.Clear();
        qp.Wait(qp.ReadAsync(ns, 0, 8, data));
        Assert.That(data.Span.ToArray().All(b => b == 0x11), "the retry reads the data");
    }

    [Test]
    public void KeepAliveWithoutAnAnswerExpiresTheAssociation()
    {
        using var target = new ScriptedTcpTarget { IgnoreKeepAlive = true };
        using NvmeController controller = Open(target, "kato=1");
        using IoQueuePair qp = controller.CreateIoQueuePair(8);
        using DmaBuffer data = controller.Memory.Allocate(512);
        ValueTask outstanding = qp.ReadAsync(controller.Namespaces[0], 0, 1, data);
        qp.Wait(outstanding);
        target.Arm(PeerFault.NoResponse);
        ValueTask hung = qp.ReadAsync(controller.Namespaces[0], 0, 1, data);
        var e = Assert.Throws<NvmeException>(() => qp.Wait(hung, TimeSpan.FromSeconds(30)))!;
        Assert.That(e.Status.TypeAndCode, Is.EqualTo(NvmeStatus.HostPathingError.TypeAndCode));
        Assert.That(controller.Tcp().Failure!.Error, Is.EqualTo(NvmeTcpError.KeepAliveExpired));
        Assert.That(e.Message, Does.Contain("Keep Alive got no completion within KATO (1 s)"));
        target.IgnoreKeepAlive = false;
        controller.Reset();
        qp.Wait(qp.ReadAsync(controller.Namespaces[0], 0, 1, data));
    }

    [Test]
    public void ATargetPortRemovedMidRunFailsThenResetReconnectsOnceItIsBack()
    {
        using var target = new ScriptedTcpTarget();
        using NvmeController controller = Open(target);
        Namespace ns = controller.Namespaces[0];
        using IoQueuePair qp = controller.CreateIoQueuePair(8);
        using DmaBuffer data = controller.Memory.Allocate(512);
        qp.Wait(qp.WriteAsync(ns, 1, 1, data));
        target.StopListening();
        var e = Assert.Throws<NvmeException>(() => qp.Wait(qp.ReadAsync(ns, 1, 1, data), TimeSpan.FromSeconds(30)))!;
        Assert.That(e.Status.TypeAndCode, Is.EqualTo(NvmeStatus.HostPathingError.TypeAndCode));
        var refused = Assert.Throws<NvmeTcpException>(controller.Reset)!;
        Assert.That(refused.Error, Is.EqualTo(NvmeTcpError.ConnectionRefused), "the port is gone: the reconnect is refused, clearly");
        var still = Assert.Throws<NvmeException>(() => qp.Wait(qp.ReadAsync(ns, 1, 1, data), TimeSpan.FromSeconds(30)))!;
        Assert.That(still.Status.TypeAndCode, Is.EqualTo(NvmeStatus.HostPathingError.TypeAndCode), "a queue pair of a lost association fails its commands, never hangs");
        target.StartListening();
        controller.Reset();
        qp.Wait(qp.ReadAsync(ns, 1, 1, data));
    }

    [Test]
    public void AnErrorStatusIsAnNvmeErrorNotATransportOne()
    {
        using var target = new ScriptedTcpTarget();
        using NvmeController controller = Open(target);
        using IoQueuePair qp = controller.CreateIoQueuePair(8);
        using DmaBuffer data = controller.Memory.Allocate(512);
        target.Arm(PeerFault.ErrorStatus);
        var e = Assert.Throws<NvmeException>(() => qp.Wait(qp.ReadAsync(controller.Namespaces[0], 0, 1, data)))!;
        Assert.That(e.Status, Is.EqualTo(NvmeStatus.UnrecoveredReadError));
        Assert.That(controller.Tcp().Failure, Is.Null);
        var range = Assert.Throws<NvmeException>(() => qp.Wait(qp.ReadAsync(controller.Namespaces[0], (ulong)target.Blocks, 1, data)))!;
        Assert.That(range.Status.TypeAndCode, Is.EqualTo(NvmeStatus.LbaOutOfRange.TypeAndCode));
    }

    [Test]
    public void DisposingAfterTheTargetWentAwayDoesNotThrow()
    {
        var target = new ScriptedTcpTarget();
        NvmeController controller = Open(target);
        IoQueuePair qp = controller.CreateIoQueuePair(8);
        target.Dispose();
        qp.Dispose();
        Assert.DoesNotThrow(controller.Dispose);
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
