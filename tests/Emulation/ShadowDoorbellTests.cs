using System.Runtime.InteropServices;
using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation;

/// <summary>
/// The emulated controller's Doorbell Buffer Config (NVMe Base 2.0 §5.9, QEMU's dbbuf): offered only
/// with <c>dbbuf=1</c>, PRPs checked, shadow doorbells read and EventIdx written once it is in force,
/// and the configuration gone after a controller reset.
/// </summary>
public unsafe class ShadowDoorbellTests
{
    private static TestHost Host(bool offered) => TestHost.Create(controller: o => o.ShadowDoorbells = offered);

    private static SubmissionEntry Config(ulong shadow, ulong eventIndexes)
    {
        var c = TestHost.Command((byte)AdminOpcode.DoorbellBufferConfig);
        c.Prp1 = shadow;
        c.Prp2 = eventIndexes;
        return c;
    }

    private static uint* Slot(DmaBuffer buffer, int doorbellOffset) => (uint*)(buffer.Pointer + doorbellOffset - ControllerRegisters.DoorbellBase);

    [TestCase(false)]
    [TestCase(true)]
    public void IdentifyReportsOacsBit8OnlyWhenOffered(bool offered)
    {
        using var host = Host(offered);
        host.Enable();
        var (completion, page) = host.Identify((byte)IdentifyCns.Controller);
        Assert.That(completion.Status, Is.Zero);
        Assert.That(MemoryMarshal.Read<IdentifyController>(page.Span).DoorbellBufferConfigSupported, Is.EqualTo(offered));
    }

    [Test]
    public void NotOfferedIsAnInvalidOpcode()
    {
        using var host = Host(offered: false);
        host.Enable();
        var (shadow, events) = (host.Alloc(4096), host.Alloc(4096));
        TestHost.Expect(host.Admin(Config(shadow.Iova, events.Iova)), NvmeStatus.InvalidCommandOpcode, "dbbuf not offered");
        Assert.That(host.Controller.Core.ShadowDoorbellsConfigured, Is.False);
    }

    [TestCase("zero shadow")]
    [TestCase("zero eventidx")]
    [TestCase("misaligned shadow")]
    [TestCase("misaligned eventidx")]
    public void BadPrpsAreAnInvalidField(string what)
    {
        using var host = Host(offered: true);
        host.Enable();
        var (shadow, events) = (host.Alloc(4096), host.Alloc(4096));
        SubmissionEntry c = what switch
        {
            "zero shadow" => Config(0, events.Iova),
            "zero eventidx" => Config(shadow.Iova, 0),
            "misaligned shadow" => Config(shadow.Iova + 4, events.Iova),
            _ => Config(shadow.Iova, events.Iova + 512),
        };
        TestHost.Expect(host.Admin(c), NvmeStatus.InvalidField, what);
        Assert.That(host.Controller.Core.ShadowDoorbellsConfigured, Is.False);
        // Still on the MMIO doorbells: a queue pair works as before.
        var qp = host.CreateQueuePair(1);
        TestHost.Expect(host.Execute(qp, TestHost.Command((byte)NvmOpcode.Flush, 1)), NvmeStatus.Success, "flush");
    }

    [Test]
    public void UnmappedBuffersAreADataTransferError()
    {
        using var host = Host(offered: true);
        host.Enable();
        var events = host.Alloc(4096);
        TestHost.Expect(host.Admin(Config(0x7_0000_0000, events.Iova)), NvmeStatus.DataTransferError, "unmapped shadow");
        Assert.That(host.Controller.Core.ShadowDoorbellsConfigured, Is.False);
    }

    [Test]
    public void InForceTheDeviceReadsShadowTailsAndWritesEventIdx()
    {
        using var host = Host(offered: true);
        host.Enable();
        var (shadow, events) = (host.Alloc(4096), host.Alloc(4096));
        TestHost.Expect(host.Admin(Config(shadow.Iova, events.Iova)), NvmeStatus.Success, "dbbuf");
        Assert.That(host.Controller.Core.ShadowDoorbellsConfigured, Is.True);
        // QEMU's rule: the admin queue's shadow tail starts at the tail the device knows.
        Assert.That(*Slot(shadow, ControllerRegisters.SqTailDoorbell(0, host.Stride)), Is.EqualTo((uint)host.AdminQueue.SqTail));

        // The test host keeps the admin shadow in step by hand for queue creation, and rings MMIO
        // each time: the device has caught up, so EventIdx asks for it.
        var admin = host.AdminQueue;
        uint* adminTail = Slot(shadow, ControllerRegisters.SqTailDoorbell(0, host.Stride));
        uint* adminHead = Slot(shadow, ControllerRegisters.CqHeadDoorbell(0, host.Stride));
        CompletionEntry AdminViaShadow(SubmissionEntry c)
        {
            host.Submit(admin, c, ring: false);
            *adminTail = (uint)admin.SqTail;
            host.RingSq(admin);
            var done = host.Reap(admin);
            *adminHead = (uint)admin.CqHead;
            return done;
        }
        var sqRing = host.AllocAligned(16 * SubmissionEntry.Size, 4096);
        var cqRing = host.AllocAligned(16 * CompletionEntry.Size, 4096);
        var create = TestHost.Command((byte)AdminOpcode.CreateIoCompletionQueue);
        create.Prp1 = cqRing.Iova;
        create.Cdw10 = 1 | (15u << 16);
        create.Cdw11 = 1;
        TestHost.Expect(AdminViaShadow(create), NvmeStatus.Success, "create CQ");
        create = TestHost.Command((byte)AdminOpcode.CreateIoSubmissionQueue);
        create.Prp1 = sqRing.Iova;
        create.Cdw10 = 1 | (15u << 16);
        create.Cdw11 = 1 | (1u << 16);
        TestHost.Expect(AdminViaShadow(create), NvmeStatus.Success, "create SQ");

        var io = new HostQueuePair(1, 16, sqRing, cqRing);
        uint* sqTail = Slot(shadow, ControllerRegisters.SqTailDoorbell(1, host.Stride));
        uint* sqEvent = Slot(events, ControllerRegisters.SqTailDoorbell(1, host.Stride));
        // Only the MMIO doorbell: the device now reads the shadow, so nothing is fetched.
        host.Submit(io, TestHost.Command((byte)NvmOpcode.Flush, 1));
        for (int i = 0; i < 20; i++)
            host.Progress();
        Assert.That(host.TryReap(io, out _), Is.False, "the device fetched a command whose tail was only in the MMIO register");
        // The shadow doorbell, then the MMIO write EventIdx asks for: fetched, and EventIdx says which tail the device read.
        *sqTail = (uint)io.SqTail;
        host.RingSq(io);
        var done = host.Reap(io);
        Assert.That(done.Status, Is.Zero);
        Assert.That(*sqEvent, Is.EqualTo((uint)io.SqTail));
    }

    /// <summary>
    /// A device that has caught up waits for the MMIO write EventIdx asks for, as hardware and
    /// QEMU do: a host that only updates the shadow stalls. (A device that kept polling the shadow
    /// would hide a host that skips a required doorbell.)
    /// </summary>
    [Test]
    public void ACaughtUpDeviceWaitsForTheMmioKickEventIdxAsksFor()
    {
        using var host = Host(offered: true);
        host.Enable();
        var io = host.CreateQueuePair(1);
        var (shadow, events) = (host.Alloc(4096), host.Alloc(4096));
        TestHost.Expect(host.Admin(Config(shadow.Iova, events.Iova)), NvmeStatus.Success, "dbbuf");
        uint* sqTail = Slot(shadow, ControllerRegisters.SqTailDoorbell(1, host.Stride));
        uint* sqEvent = Slot(events, ControllerRegisters.SqTailDoorbell(1, host.Stride));
        for (int round = 0; round < 3; round++)
        {
            uint before = (uint)io.SqTail;
            host.Submit(io, TestHost.Command((byte)NvmOpcode.Flush, 1), ring: false);
            *sqTail = (uint)io.SqTail;
            for (int i = 0; i < 20; i++)
                host.Progress();
            Assert.That(*sqEvent, Is.EqualTo(before), "EventIdx = the tail the device read last: the host's next tail passes it, so it must ring");
            Assert.That(host.TryReap(io, out _), Is.False, $"round {round}: fetched from the shadow without the MMIO write EventIdx asked for");
            host.RingSq(io);
            Assert.That(host.Reap(io).Status, Is.Zero);
            Assert.That(*sqEvent, Is.EqualTo((uint)io.SqTail));
        }
    }

    [Test]
    public void ResetDropsTheConfigurationAndNewQueuesUseMmioAgain()
    {
        using var host = Host(offered: true);
        host.Enable();
        var (shadow, events) = (host.Alloc(4096), host.Alloc(4096));
        TestHost.Expect(host.Admin(Config(shadow.Iova, events.Iova)), NvmeStatus.Success, "dbbuf");
        host.Disable();
        Assert.That(host.Controller.Core.ShadowDoorbellsConfigured, Is.False);
        host.Enable();
        // The test host rings MMIO only: queue creation and I/O work, so the device is back on the registers.
        var qp = host.CreateQueuePair(1);
        TestHost.Expect(host.Execute(qp, TestHost.Command((byte)NvmOpcode.Flush, 1)), NvmeStatus.Success, "flush after reset");
    }
}
