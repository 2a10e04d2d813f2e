using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Pcie;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;
using PolledNvme.Tests.Driver;

namespace PolledNvme.Tests.Emulation;

/// <summary>
/// The emulated controller's PCIe bindings: a threaded controller sits behind the plain PCIe
/// transport and queue pairs; an inline one is stepped by its own binding whenever the host
/// reads a property or polls; what only the emulator knows (a failed device thread, an
/// injected fault) reaches the host through the transport.
/// </summary>
public class EmulatedBindingTests
{
    [Test]
    public void AThreadedControllerUsesThePlainPcieQueuePairs()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        Assert.That(setup.Controller.Transport, Is.InstanceOf<PcieTransport>());
        Assert.That(setup.Controller.Transport.GetType(), Is.EqualTo(typeof(EmulatedTransport)), "no inline stepping on the threaded path");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        Assert.That(qp.TransportPair.GetType(), Is.EqualTo(typeof(PcieQueuePair)));
        using PolledNvme.Queues.DmaBuffer data = setup.Controller.Memory.Allocate(512);
        qp.Wait(qp.WriteAsync(setup.Ns, 0, 1, data));
    }

    [Test]
    public void AnInlineControllerIsSteppedByTheHostsPolling()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M,mode=inline");
        Assert.That(setup.Controller.Transport, Is.InstanceOf<InlineEmulatedTransport>());
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        Assert.That(qp.TransportPair, Is.InstanceOf<PcieQueuePair>().And.Not.TypeOf<PcieQueuePair>(), "the binding's own queue pair");
        using PolledNvme.Queues.DmaBuffer data = setup.Controller.Memory.Allocate(512);
        qp.Read(setup.Ns, 0, 1, data, null, default, static (_, in _) => { }, null);
        Assert.That(qp.ProcessCompletions(), Is.EqualTo(1), "one poll runs the device once and reaps what it completed");
        Assert.That(qp.InFlight, Is.Zero);
    }

    [Test]
    public void ADeviceThreadFailureReachesTheHostThroughTheTransport()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using PolledNvme.Queues.DmaBuffer data = setup.Controller.Memory.Allocate(512);
        setup.Device.Core.FailDevice(new InvalidOperationException("a bug in the model"));
        Assert.That(setup.Controller.Transport.FatalReason, Does.Contain("device thread failed").And.Contain("a bug in the model"));
        var e = Assert.Throws<NvmeControllerException>(() => qp.Wait(qp.ReadAsync(setup.Ns, 0, 1, data), TimeSpan.FromSeconds(30)))!;
        Assert.That(e.IsFatal, Is.True);
        Assert.That(e.Message, Does.Contain("CSTS.CFS = 1").And.Contain("device thread failed").And.Contain("InvalidOperationException: a bug in the model"));
    }

    [Test]
    public void AnInjectedFatalStatusIsNamedAndAResetClearsIt()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", o => o.Mode = EmulatedControllerMode.Inline);
        setup.Device.Faults.SetFatalStatus();
        var e = Assert.Throws<NvmeControllerException>(() => setup.Controller.GetSmartLog())!;
        Assert.That(e.Message, Does.Contain("injected (FaultInjector.SetFatalStatus)"));
        setup.Controller.Reset();
        Assert.That(setup.Controller.Transport.FatalReason, Is.Null);
        Assert.That((setup.Controller.Transport.GetProperty32(ControllerRegisters.Csts) & ControllerStatus.Fatal), Is.Zero);
    }
}
