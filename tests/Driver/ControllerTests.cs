using System.Runtime.InteropServices;
using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>Opening, identifying, formatting, logs and shutdown through <see cref="NvmeController"/>.</summary>
public class ControllerTests
{
    [Test]
    public void OpenByAddressIdentifiesTheControllerAndItsNamespace()
    {
        using NvmeController controller = NvmeController.Open("mem:lbads=4096,ms=16,pi=3,pif=2,pil=1,size=2M");
        Assert.That(controller.Identify.ModelNumber, Is.Not.Empty);
        Assert.That(controller.ExtendedLbaFormatsEnabled, Is.True, "CTRATT.ELBAS led to Host Behavior Support LBAFEE=1");
        Assert.That(controller.MaxTransferBytes, Is.EqualTo(512 * 1024), "MDTS 7 with 4 KiB pages");
        Assert.That(controller.MaxIoQueuePairs, Is.GreaterThan(1));
        Namespace ns = controller.Namespaces.Single();
        Assert.That(ns.Id, Is.EqualTo(1u));
        Assert.That(ns.BlockCount, Is.EqualTo(512UL));
        Assert.That((ns.BlockSize, ns.MetadataSize, ns.GuardFormat, ns.PiType, ns.PiLocation, ns.IsExtended),
            Is.EqualTo((4096, 16, PiGuardFormat.Guard64, PiType.Type3, PiLocation.First, false)));
        Assert.That(ns.ProtectionFormat, Is.Not.Null);
        Assert.That(ns.ProtectionFormat!.TupleOffset, Is.Zero);
        Assert.That(ns.LbaFormats[ns.FormatIndex], Is.EqualTo(ns.CurrentFormat));
        Assert.That(ns.ToString(), Does.Contain("Guard64").And.Contain("Type3"));
    }

    [Test]
    public void UnknownAddressSchemesAreRejected()
        => Assert.Throws<ArgumentException>(() => NvmeController.Open("tcp:10.0.0.1"));

    [Test]
    public void FormatNvmSwitchesTheFormatAndTheNamespaceIsReRead()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=2M");
        Namespace ns = setup.Ns;
        Assert.That(ns.PiType, Is.EqualTo(PiType.None));
        Assert.That(ns.ProtectionFormat, Is.Null);
        int index = ns.LbaFormats.First(f => f.BlockSize == 4096 && f.MetadataSize == 64 && f.GuardFormat == PiGuardFormat.Guard64).Index;
        setup.Controller.FormatNvm(ns.Id, index, extendedMetadata: true, piType: 1);
        Assert.That(ns.FormatIndex, Is.EqualTo(index));
        Assert.That((ns.BlockSize, ns.MetadataSize, ns.IsExtended, ns.PiType, ns.GuardFormat), Is.EqualTo((4096, 64, true, PiType.Type1, PiGuardFormat.Guard64)));
        Assert.That(ns.ProtectionFormat!.TupleOffset, Is.EqualTo(48), "PI last in 64 bytes of metadata");

        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate((int)ns.DataBytes(2, true));
        new Random(3).NextBytes(data.Span);
        var pi = IoProtectionOptions.ControllerInserts(PiChecks.All);
        qp.Wait(qp.WriteAsync(ns, 10, 2, data, null, pi));
        qp.Wait(qp.ReadAsync(ns, 10, 2, data, null, pi));

        Assert.Throws<ArgumentOutOfRangeException>(() => setup.Controller.FormatNvm(ns.Id, 64));
        Assert.Throws<ArgumentOutOfRangeException>(() => setup.Controller.FormatNvm(ns.Id, ns.LbaFormats.Count));
        Assert.Throws<ArgumentOutOfRangeException>(() => setup.Controller.FormatNvm(ns.Id, 0, piType: 4));
    }

    [Test]
    public void SmartLogCountsCommands()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(512);
        for (int i = 0; i < 5; i++)
            qp.Wait(qp.WriteAsync(setup.Ns, (ulong)i, 1, data));
        for (int i = 0; i < 3; i++)
            qp.Wait(qp.ReadAsync(setup.Ns, (ulong)i, 1, data));
        SmartHealthLog smart = setup.Controller.GetSmartLog();
        Assert.That(smart.HostWriteCommands, Is.EqualTo(5UL));
        Assert.That(smart.HostReadCommands, Is.EqualTo(3UL));
    }

    [Test]
    public void DisposeShutsTheControllerDownNormally()
    {
        var device = EmulatedController.Create(EmulatedControllerOptions.Parse("mem:lbads=512,size=1M"));
        try
        {
            var controller = NvmeController.Open(device.Transport, new NvmeControllerOptions { AllowNonHugepageMemory = true });
            IoQueuePair qp = controller.CreateIoQueuePair(8);
            controller.Dispose();
            Assert.That(() => qp.FlushAsync(controller.Namespaces[0]), Throws.TypeOf<ObjectDisposedException>(), "queue pairs die with their controller");
            uint csts = device.Transport.GetProperty32(ControllerRegisters.Csts);
            Assert.That((csts >> ControllerStatus.ShstShift) & ControllerStatus.ShstMask, Is.EqualTo(2u), "CSTS.SHST = 10b: shutdown complete");
        }
        finally
        {
            device.Dispose();
        }
    }

    [Test]
    public void ReadIdentifyReturnsTheDataStructureACnsNames()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        using DmaBuffer page = setup.Controller.Memory.Allocate(IdentifyController.Size);
        setup.Controller.ReadIdentify(IdentifyCns.Controller, 0, page);
        Assert.That(MemoryMarshal.Read<IdentifyController>(page.Span).ModelNumber, Is.EqualTo(setup.Controller.Identify.ModelNumber));
        setup.Controller.ReadIdentify(IdentifyCns.Namespace, 1, page);
        Assert.That(MemoryMarshal.Read<IdentifyNamespace>(page.Span).Nsze, Is.EqualTo(setup.Ns.BlockCount));

        var inactive = Assert.Throws<NvmeException>(() => setup.Controller.ReadIdentify(IdentifyCns.Namespace, 7, page))!;
        Assert.That(inactive.Status.IsSuccess, Is.False);
        Assert.That(inactive.NamespaceId, Is.EqualTo(7u));
        using DmaBuffer small = setup.Controller.Memory.Allocate(512);
        var e = Assert.Throws<ArgumentException>(() => setup.Controller.ReadIdentify(IdentifyCns.Controller, 0, small))!;
        Assert.That(e.ParamName, Is.EqualTo("page"));
        Assert.That(e.Message, Does.Contain("4096 bytes").And.Contain("has 512"));
    }

    [Test]
    public void QueueSizesAndCountsAreValidated()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M", o => o.MaxIoQueuePairs = 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => setup.Controller.CreateIoQueuePair(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => setup.Controller.CreateIoQueuePair(setup.Controller.MaxQueueEntries + 1));
        using IoQueuePair a = setup.Controller.CreateIoQueuePair(8);
        using IoQueuePair b = setup.Controller.CreateIoQueuePair(8);
        var e = Assert.Throws<InvalidOperationException>(() => setup.Controller.CreateIoQueuePair(8));
        Assert.That(e!.Message, Does.Contain("2 I/O queue pairs"));
        b.Dispose();
        using IoQueuePair c = setup.Controller.CreateIoQueuePair(8);
        Assert.That(c.Id, Is.EqualTo(b.Id), "a freed queue id is reused");
    }
}
