using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Pcie;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;
using PolledNvme.Tests.Driver.Memory;
using PolledNvme.Tests.Driver.Pcie;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// Initialization against a register page that never becomes ready or reports a fatal status:
/// the driver gives up within CAP.TO with the register state in the message, never hangs.
/// </summary>
public class ControllerInitFailureTests
{
    /// <summary>A PCIe transport whose registers nobody serves: CSTS changes only when the test says so.</summary>
    private sealed class DeadTransport : PcieTransport
    {
        private readonly FakeRegisters _regs;
        public int StatusReads;

        private DeadTransport(FakeRegisters regs) : base(regs.Window, new FakeMapper(), "test:dead") => _regs = regs;

        public static DeadTransport Create(uint csts)
        {
            var regs = new FakeRegisters();
            // CAP: MQES 63, TO 1 (500 ms), CSS NVM, MPSMIN/MAX 0.
            var cap = ControllerCapabilities.Create(mqes: 63, cqr: true, to: 1, dstrd: 0, css: 1, mpsmin: 0, mpsmax: 0);
            regs.Window.Write64(ControllerRegisters.Cap, cap.Value);
            regs.Window.Write32(ControllerRegisters.Csts, csts);
            return new DeadTransport(regs);
        }

        public override DmaAllocatorOptions DefaultMemoryOptions => new() { AllowNonHugepageFallback = true };

        public override uint GetProperty32(int offset)
        {
            if (offset == ControllerRegisters.Csts)
                StatusReads++;
            return base.GetProperty32(offset);
        }

        protected override void Dispose(bool disposing) => _regs.Dispose();
    }

    [Test]
    public void ReadyNeverComingIsATimeoutNamingTheRegisters()
    {
        using var transport = DeadTransport.Create(csts: 0);
        var e = Assert.Throws<NvmeControllerException>(() => NvmeController.Open(transport))!;
        Assert.That(e.Message, Does.Contain("CSTS.RDY = 1").And.Contain("CAP.TO = 500 ms").And.Contain("CC = 0x").And.Contain("CSTS = 0x00000000"));
        Assert.That(e.IsFatal, Is.False);
        Assert.That(transport.StatusReads, Is.GreaterThan(1), "the wait loop polls CSTS through the transport's properties");
    }

    [Test]
    public void FatalStatusDuringEnableIsReported()
    {
        using var transport = DeadTransport.Create(csts: ControllerStatus.Fatal);
        var e = Assert.Throws<NvmeControllerException>(() => NvmeController.Open(transport))!;
        Assert.That(e.IsFatal, Is.True);
        Assert.That(e.Message, Does.Contain("CSTS.CFS = 1").And.Contain("test:dead"));
    }
}
