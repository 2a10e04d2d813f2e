using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NUnit.Framework;
using PolledNvme.Driver.Vfio;

namespace PolledNvme.Tests.Driver.Vfio;

/// <summary>The MSI-X ioctls against linux/vfio.h: request numbers, flag values, struct layouts and the bytes of a vfio_irq_set.</summary>
public class VfioInterruptLayoutTests
{
    [Test]
    public void RequestNumbersAndFlagsMatchLinuxVfioH()
    {
        Assert.That(VfioIoctl.DeviceGetIrqInfo, Is.EqualTo(0x3B6D), "VFIO_DEVICE_GET_IRQ_INFO = _IO(';', 109)");
        Assert.That(VfioIoctl.DeviceSetIrqs, Is.EqualTo(0x3B6E), "VFIO_DEVICE_SET_IRQS = _IO(';', 110)");
        Assert.That(VfioIoctl.PciMsixIrqIndex, Is.EqualTo(2u), "VFIO_PCI_MSIX_IRQ_INDEX");
        Assert.That(VfioIoctl.IrqInfoEventFd, Is.EqualTo(1u));
        Assert.That(VfioIoctl.IrqInfoNoResize, Is.EqualTo(8u));
        Assert.That(VfioIoctl.IrqSetDataNone, Is.EqualTo(1u));
        Assert.That(VfioIoctl.IrqSetDataEventFd, Is.EqualTo(4u));
        Assert.That(VfioIoctl.IrqSetActionTrigger, Is.EqualTo(32u));
    }

    [Test]
    public void StructLayouts()
    {
        Assert.That(Unsafe.SizeOf<VfioIrqInfo>(), Is.EqualTo(16));
        Assert.That(Unsafe.SizeOf<VfioIrqSet>(), Is.EqualTo(20), "the int32 data array starts at offset 20");
        Assert.That((int)Marshal.OffsetOf<VfioIrqInfo>(nameof(VfioIrqInfo.Index)), Is.EqualTo(8));
        Assert.That((int)Marshal.OffsetOf<VfioIrqInfo>(nameof(VfioIrqInfo.Count)), Is.EqualTo(12));
        Assert.That((int)Marshal.OffsetOf<VfioIrqSet>(nameof(VfioIrqSet.Index)), Is.EqualTo(8));
        Assert.That((int)Marshal.OffsetOf<VfioIrqSet>(nameof(VfioIrqSet.Start)), Is.EqualTo(12));
        Assert.That((int)Marshal.OffsetOf<VfioIrqSet>(nameof(VfioIrqSet.Count)), Is.EqualTo(16));
    }

    [Test]
    public void BindingVectorsToEventFdsLaysOutHeaderThenDescriptors()
    {
        var buffer = new byte[64];
        int size = VfioInterrupts.Build(buffer, VfioIoctl.IrqSetDataEventFd | VfioIoctl.IrqSetActionTrigger, [7, 9, 11]);
        Assert.That(size, Is.EqualTo(32));
        uint[] words = MemoryMarshal.Cast<byte, uint>(buffer.AsSpan(0, size)).ToArray();
        // argsz, flags (DATA_EVENTFD | ACTION_TRIGGER), index (MSI-X), start, count, then the fds.
        Assert.That(words, Is.EqualTo(new uint[] { 32, 0x24, 2, 0, 3, 7, 9, 11 }));
    }

    [Test]
    public void DisablingIsAnEmptyTriggerWithoutData()
    {
        var buffer = new byte[20];
        int size = VfioInterrupts.Build(buffer, VfioIoctl.IrqSetDataNone | VfioIoctl.IrqSetActionTrigger, []);
        Assert.That(size, Is.EqualTo(20));
        Assert.That(MemoryMarshal.Cast<byte, uint>(buffer).ToArray(), Is.EqualTo(new uint[] { 20, 0x21, 2, 0, 0 }));
    }

    [Test]
    public void CreateIoCompletionQueueCarriesIenAndTheVector()
    {
        var polled = PolledNvme.Driver.AdminCommandBuilder.CreateIoCompletionQueue(3, 64, 0x10000);
        var interrupting = PolledNvme.Driver.AdminCommandBuilder.CreateIoCompletionQueue(3, 64, 0x10000, interruptVector: 3);
        Assert.That(polled.Cdw11, Is.EqualTo(1u), "PC only");
        Assert.That(interrupting.Cdw11, Is.EqualTo(1u | 2u | (3u << 16)), "PC, IEN, IV = 3");
        Assert.That(interrupting.Cdw10, Is.EqualTo(3u | (63u << 16)));
    }
}
