using System.Diagnostics;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// Register-level controller state transitions (NVMe Base 2.0 §3.5.1 initialization, §3.6
/// shutdown): enable, disable, shutdown, each waiting on CSTS within CAP.TO and giving the
/// transport a chance to make progress in every wait loop so an inline emulated controller
/// never deadlocks us. Never hangs: every wait ends in success or an exception naming the
/// register state.
/// </summary>
internal sealed class ControllerRegisterState
{
    private readonly INvmeTransport _transport;
    private readonly RegisterWindow _regs;

    public ControllerRegisterState(INvmeTransport transport)
    {
        _transport = transport;
        _regs = transport.Registers;
        Capabilities = new ControllerCapabilities(_regs.Read64(ControllerRegisters.Cap));
    }

    /// <summary>CAP as read at start.</summary>
    public ControllerCapabilities Capabilities { get; }

    /// <summary>CAP.TO in time (500 ms units; at least 500 ms).</summary>
    public TimeSpan ReadyTimeout => TimeSpan.FromMilliseconds(Math.Max(1, Capabilities.To) * 500);

    public uint Csts => _regs.Read32(ControllerRegisters.Csts);

    public uint Cc => _regs.Read32(ControllerRegisters.Cc);

    /// <summary>Clears CC.EN and waits for CSTS.RDY = 0 (§3.5.1 step 1).</summary>
    public void Disable()
    {
        uint cc = Cc;
        if ((cc & ControllerConfiguration.Enable) != 0)
        {
            // §3.5.2: if EN=1 but RDY=0, wait for RDY=1 before clearing EN. A fatal controller may never get there.
            if ((Csts & (ControllerStatus.Ready | ControllerStatus.Fatal)) == 0)
                WaitFor(ControllerStatus.Ready, ControllerStatus.Ready, "CSTS.RDY = 1 (controller was enabled, finishing before disable)", failOnFatal: false);
            _regs.Write32(ControllerRegisters.Cc, cc & ~ControllerConfiguration.Enable);
        }
        WaitFor(ControllerStatus.Ready, 0, "CSTS.RDY = 0 after clearing CC.EN", failOnFatal: false);
    }

    /// <summary>Programs the admin queue registers (AQA, ASQ, ACQ; §3.1.4.8-10).</summary>
    public void SetAdminQueues(ulong asq, int sqEntries, ulong acq, int cqEntries)
    {
        _regs.Write32(ControllerRegisters.Aqa, (uint)(sqEntries - 1) | ((uint)(cqEntries - 1) << 16));
        _regs.Write64(ControllerRegisters.Asq, asq);
        _regs.Write64(ControllerRegisters.Acq, acq);
    }

    /// <summary>Writes CC (IOSQES 6, IOCQES 4, MPS, CSS NVM, AMS round robin) with EN = 1 and waits for CSTS.RDY = 1.</summary>
    public void Enable(int mps)
    {
        uint cc = (0u << ControllerConfiguration.CssShift)
                  | ((uint)mps << ControllerConfiguration.MpsShift)
                  | (0u << ControllerConfiguration.AmsShift)
                  | (6u << ControllerConfiguration.IosqesShift)
                  | (4u << ControllerConfiguration.IocqesShift);
        _regs.Write32(ControllerRegisters.Cc, cc);
        _regs.Write32(ControllerRegisters.Cc, cc | ControllerConfiguration.Enable);
        WaitFor(ControllerStatus.Ready, ControllerStatus.Ready, "CSTS.RDY = 1 after setting CC.EN", failOnFatal: true);
    }

    /// <summary>Normal shutdown (§3.6.1): CC.SHN = 01b, wait for CSTS.SHST = 10b.</summary>
    public void Shutdown()
    {
        uint cc = Cc;
        if ((cc & ControllerConfiguration.Enable) == 0)
            return;
        _regs.Write32(ControllerRegisters.Cc, (cc & ~(3u << ControllerConfiguration.ShnShift)) | (1u << ControllerConfiguration.ShnShift));
        WaitFor(ControllerStatus.ShstMask << ControllerStatus.ShstShift, 2u << ControllerStatus.ShstShift, "CSTS.SHST = 10b (shutdown complete)", failOnFatal: true);
    }

    /// <summary>Throws <see cref="NvmeControllerException"/> when CSTS.CFS is set.</summary>
    public void ThrowIfFatal(string during)
    {
        uint csts = Csts;
        if ((csts & ControllerStatus.Fatal) != 0)
            throw FatalException(csts, during);
    }

    public NvmeControllerException FatalException(uint csts, string during) => new(
        $"Controller {_transport.Address} reports Controller Fatal Status (CSTS.CFS = 1, CSTS = 0x{csts:X8}) {during}. Reset the controller (NvmeController.Reset).",
        csts, fatal: true);

    private void WaitFor(uint mask, uint value, string what, bool failOnFatal)
    {
        TimeSpan timeout = ReadyTimeout;
        var clock = Stopwatch.StartNew();
        var spinner = new SpinWait();
        while (true)
        {
            uint csts = Csts;
            if ((csts & mask) == value)
                return;
            if (failOnFatal && (csts & ControllerStatus.Fatal) != 0)
                throw FatalException(csts, $"while waiting for {what}");
            if (clock.Elapsed > timeout)
                throw new NvmeControllerException(
                    $"Controller {_transport.Address} did not reach {what} within CAP.TO = {timeout.TotalMilliseconds:0} ms "
                    + $"(CC = 0x{Cc:X8}, CSTS = 0x{csts:X8}: RDY={csts & 1}, CFS={(csts >> 1) & 1}, SHST={(csts >> 2) & 3}).",
                    csts, (csts & ControllerStatus.Fatal) != 0);
            _transport.Progress();
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }
}
