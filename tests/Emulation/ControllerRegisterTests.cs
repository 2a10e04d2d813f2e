using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation;

/// <summary>Register-level behaviour: CAP/VS, enable, disable, shutdown, CFS on bad configuration (NVMe Base 2.0 §3.1.4, §3.5).</summary>
public class ControllerRegisterTests
{
    [Test]
    public void CapabilitiesAndVersionAreReported()
    {
        using var host = TestHost.Create(controller: o => { o.MaxQueueEntries = 256; o.DoorbellStride = 1; });
        var cap = new ControllerCapabilities(host.Registers.Read64(ControllerRegisters.Cap));
        Assert.Multiple(() =>
        {
            Assert.That(cap.Mqes, Is.EqualTo(255));
            Assert.That(cap.Cqr, Is.True);
            Assert.That(cap.Dstrd, Is.EqualTo(1));
            Assert.That(cap.To, Is.EqualTo(20));
            Assert.That(cap.Css & 1, Is.EqualTo(1), "NVM command set");
            Assert.That(cap.Mpsmin, Is.EqualTo(0));
            Assert.That(cap.Mpsmax, Is.EqualTo(4));
            Assert.That(host.Registers.Read32(ControllerRegisters.Vs), Is.EqualTo(0x0002_0000u));
            Assert.That(host.Csts, Is.EqualTo(0u));
        });
    }

    [Test]
    public void HostWritesToReadOnlyRegistersAreUndoneOnTheNextPassWithoutAConfigurationChange()
    {
        // Found by the SQE fuzzer's review: the device restored CAP, VS and CSTS only when CC changed.
        using var host = TestHost.Create();
        host.Enable();
        ulong cap = host.Registers.Read64(ControllerRegisters.Cap);
        uint vs = host.Registers.Read32(ControllerRegisters.Vs), csts = host.Csts;
        host.Registers.Write64(ControllerRegisters.Cap, ~cap);
        host.Registers.Write32(ControllerRegisters.Vs, 0xDEAD_BEEF);
        host.Registers.Write32(ControllerRegisters.Csts, ControllerStatus.Fatal);
        host.Progress();
        Assert.Multiple(() =>
        {
            Assert.That(host.Registers.Read64(ControllerRegisters.Cap), Is.EqualTo(cap));
            Assert.That(host.Registers.Read32(ControllerRegisters.Vs), Is.EqualTo(vs));
            Assert.That(host.Csts, Is.EqualTo(csts));
        });
    }

    [Test]
    public void EnableSetsReadyAndDisableClearsIt()
    {
        using var host = TestHost.Create();
        Assert.That(host.Enable() & ControllerStatus.Ready, Is.EqualTo(ControllerStatus.Ready));
        host.Disable();
        Assert.That(host.Csts, Is.EqualTo(0u));
    }

    [TestCase(TestHost.DefaultCc & ~(0xFu << ControllerConfiguration.IosqesShift) | (5u << ControllerConfiguration.IosqesShift), "IOSQES")]
    [TestCase(TestHost.DefaultCc & ~(0xFu << ControllerConfiguration.IocqesShift), "IOCQES")]
    [TestCase(TestHost.DefaultCc | (5u << ControllerConfiguration.MpsShift), "MPS")]
    [TestCase(TestHost.DefaultCc | (1u << ControllerConfiguration.CssShift), "CSS")]
    [TestCase(TestHost.DefaultCc | (1u << ControllerConfiguration.AmsShift), "AMS")]
    public void BadConfigurationSetsFatalStatus(uint cc, string field)
    {
        using var host = TestHost.Create();
        uint csts = host.Enable(cc: cc);
        Assert.That(csts & ControllerStatus.Fatal, Is.EqualTo(ControllerStatus.Fatal));
        Assert.That(csts & ControllerStatus.Ready, Is.Zero);
        Assert.That(host.Controller.LastEnableError, Does.Contain(field));
    }

    [Test]
    public void AdminQueueOutsideMappingsSetsFatalStatus()
    {
        using var host = TestHost.Create();
        host.Registers.Write32(ControllerRegisters.Aqa, 0x000F_000F);
        host.Registers.Write64(ControllerRegisters.Asq, 0x2000_0000);   // never mapped
        host.Registers.Write64(ControllerRegisters.Acq, 0x2000_1000);
        host.Registers.Write32(ControllerRegisters.Cc, TestHost.DefaultCc);
        host.Progress();
        Assert.That(host.Csts & ControllerStatus.Fatal, Is.Not.Zero);
        Assert.That(host.Controller.LastEnableError, Does.Contain("DMA"));
    }

    [Test]
    public void ZeroSizedAdminQueueSetsFatalStatus()
    {
        using var host = TestHost.Create();
        var q = host.Alloc(4096);
        host.Registers.Write32(ControllerRegisters.Aqa, 0);
        host.Registers.Write64(ControllerRegisters.Asq, q.Iova);
        host.Registers.Write64(ControllerRegisters.Acq, q.Iova);
        host.Registers.Write32(ControllerRegisters.Cc, TestHost.DefaultCc);
        host.Progress();
        Assert.That(host.Csts & ControllerStatus.Fatal, Is.Not.Zero);
    }

    [Test]
    public void ResetClearsFatalStatusAndAllowsAGoodEnable()
    {
        using var host = TestHost.Create();
        host.Enable(cc: TestHost.DefaultCc | (7u << ControllerConfiguration.MpsShift));
        Assert.That(host.Csts & ControllerStatus.Fatal, Is.Not.Zero);
        host.Registers.Write32(ControllerRegisters.Cc, 0);
        host.Progress();
        Assert.That(host.Csts, Is.Zero);
        Assert.That(host.Enable() & ControllerStatus.Ready, Is.Not.Zero);
    }

    [Test]
    public void ShutdownReportsOccurringThenComplete()
    {
        using var host = TestHost.Create();
        host.Start();
        host.Registers.Write32(ControllerRegisters.Cc, TestHost.DefaultCc | (1u << ControllerConfiguration.ShnShift));
        host.Controller.Step();
        Assert.That((host.Csts >> ControllerStatus.ShstShift) & 3, Is.EqualTo(1u), "occurring");
        host.Controller.Step();
        Assert.That((host.Csts >> ControllerStatus.ShstShift) & 3, Is.EqualTo(2u), "complete");
        // Commands are not processed after a shutdown.
        var buffer = host.Alloc(4096);
        host.Submit(host.AdminQueue, TestHost.Command((byte)AdminOpcode.Identify));
        Assert.That(host.Controller.Step(), Is.Zero);
        // Reset (EN=0, SHN=0) and enable again.
        host.Registers.Write32(ControllerRegisters.Cc, 0);
        host.Controller.Step();
        Assert.That(host.Csts, Is.Zero);
        Assert.That(host.Enable() & ControllerStatus.Ready, Is.Not.Zero);
        _ = buffer;
    }

    [Test]
    public void ResetDeletesIoQueues()
    {
        using var host = TestHost.Create();
        host.Start();
        host.Disable();
        host.Enable();
        // Queue 1 is gone: deleting it again fails, creating it again works.
        var c = TestHost.Command((byte)AdminOpcode.DeleteIoSubmissionQueue);
        c.Cdw10 = 1;
        Assert.That(host.Admin(c).Status, Is.EqualTo(NvmeStatus.InvalidQueueIdentifier.Value));
        Assert.DoesNotThrow(() => host.CreateQueuePair(1));
    }

    [Test]
    public void DoorbellStrideIsHonoured()
    {
        using var host = TestHost.Create(controller: o => o.DoorbellStride = 3);
        Assert.That(host.Stride, Is.EqualTo(3));
        var q = host.Start();
        var data = host.Alloc(512);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova)), NvmeStatus.Success, "write");
    }

    [Test]
    public void HostWritesToReadOnlyRegistersAreUndoneOnTheNextConfigurationChange()
    {
        using var host = TestHost.Create();
        ulong cap = host.Registers.Read64(ControllerRegisters.Cap);
        host.Registers.Write64(ControllerRegisters.Cap, 0);
        host.Enable();
        Assert.That(host.Registers.Read64(ControllerRegisters.Cap), Is.EqualTo(cap));
    }

    [Test]
    public void PhaseTagFlipsOverManyLapsOfASmallQueue()
    {
        using var host = TestHost.Create();
        var q = host.Start(entries: 4);
        var data = host.Alloc(512);
        bool expectedPhase = true;
        for (int i = 0; i < 22; i++)
        {
            if (i > 0 && i % 4 == 0)
                expectedPhase = !expectedPhase;
            var completion = host.Execute(q, TestHost.Rw(NvmOpcode.Write, (ulong)i, 1, data.Iova));
            Assert.That(completion.Phase, Is.EqualTo(expectedPhase), $"command {i}");
            Assert.That(completion.SqHead, Is.EqualTo((i + 1) % 4), $"command {i}");
            Assert.That(completion.SqId, Is.EqualTo(1));
            Assert.That(completion.Status, Is.Zero);
        }
    }

    [Test]
    public void OutOfRangeDoorbellIsIgnored()
    {
        using var host = TestHost.Create();
        var q = host.Start(entries: 4);
        host.Registers.Write32(ControllerRegisters.SqTailDoorbell(1, 0), 9);   // beyond the queue
        Assert.That(host.Controller.Step(), Is.Zero);
        Assert.That(host.Csts & ControllerStatus.Ready, Is.Not.Zero);
        var data = host.Alloc(512);
        host.Registers.Write32(ControllerRegisters.SqTailDoorbell(1, 0), 0);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova)), NvmeStatus.Success, "write");
    }
}
