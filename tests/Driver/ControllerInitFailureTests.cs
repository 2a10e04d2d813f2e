using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;
using PolledNvme.Tests.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// Initialization against a register page that never becomes ready or reports a fatal status:
/// the driver gives up within CAP.TO with the register state in the message, never hangs.
/// </summary>
public class ControllerInitFailureTests
{
    /// <summary>A transport whose registers nobody serves: CSTS changes only when the test says so.</summary>
    private sealed class DeadTransport : INvmeTransport
    {
        private readonly FakeRegisters _regs = new();
        private readonly FakeMapper _mapper = new();
        public int ProgressCalls;

        public DeadTransport(uint csts)
        {
            // CAP: MQES 63, TO 1 (500 ms), CSS NVM, MPSMIN/MAX 0.
            var cap = ControllerCapabilities.Create(mqes: 63, cqr: true, to: 1, dstrd: 0, css: 1, mpsmin: 0, mpsmax: 0);
            Registers.Write64(ControllerRegisters.Cap, cap.Value);
            Registers.Write32(ControllerRegisters.Csts, csts);
        }

        public RegisterWindow Registers => _regs.Window;
        public string Address => "test:dead";
        public void Progress() => ProgressCalls++;
        public ulong Map(nint address, nuint length) => _mapper.Map(address, length);
        public void Unmap(ulong iova, nuint length) => _mapper.Unmap(iova, length);
        public void Dispose() => _regs.Dispose();
    }

    [Test]
    public void ReadyNeverComingIsATimeoutNamingTheRegisters()
    {
        using var transport = new DeadTransport(csts: 0);
        var e = Assert.Throws<NvmeControllerException>(() => NvmeController.Open(transport))!;
        Assert.That(e.Message, Does.Contain("CSTS.RDY = 1").And.Contain("CAP.TO = 500 ms").And.Contain("CC = 0x").And.Contain("CSTS = 0x00000000"));
        Assert.That(e.IsFatal, Is.False);
        Assert.That(transport.ProgressCalls, Is.GreaterThan(0), "the wait loop lets the transport make progress");
    }

    [Test]
    public void FatalStatusDuringEnableIsReported()
    {
        using var transport = new DeadTransport(csts: ControllerStatus.Fatal);
        var e = Assert.Throws<NvmeControllerException>(() => NvmeController.Open(transport))!;
        Assert.That(e.IsFatal, Is.True);
        Assert.That(e.Message, Does.Contain("CSTS.CFS = 1").And.Contain("test:dead"));
    }
}
