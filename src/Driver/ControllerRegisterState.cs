using System.Diagnostics;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;

namespace PolledNvme.Driver;

/// <summary>
/// Property-level controller state transitions (NVMe Base 2.0 §3.5.1 initialization, §3.6
/// shutdown): enable, disable, shutdown, each waiting on CSTS within CAP.TO. Everything goes
/// through the transport's property get/set (registers on PCIe, Property Get/Set on fabrics),
/// never a register window. Never hangs: every wait ends in success or an exception naming the
/// register state (and what the transport knows about a failure).
/// </summary>
internal sealed class ControllerRegisterState
{
    private readonly NvmeTransport _transport;
    private ControllerCapabilities? _capabilities;

    public ControllerRegisterState(NvmeTransport transport) => _transport = transport;

    /// <summary>CAP, read once (the first time it is needed: after the transport connected the admin queue).</summary>
    public ControllerCapabilities Capabilities => _capabilities ??= new ControllerCapabilities(_transport.GetProperty64(ControllerRegisters.Cap));

    /// <summary>CAP.TO in time (500 ms units; at least 500 ms).</summary>
    public TimeSpan ReadyTimeout => TimeSpan.FromMilliseconds(Math.Max(1, Capabilities.To) * 500);

    public uint Csts => _transport.GetProperty32(ControllerRegisters.Csts);

    public uint Cc => _transport.GetProperty32(ControllerRegisters.Cc);

    /// <summary>CSTS for a health check while polling (see <see cref="NvmeTransport.StatusWhilePolling"/>).</summary>
    public uint CstsWhilePolling => _transport.StatusWhilePolling();

    /// <summary>Clears CC.EN and waits for CSTS.RDY = 0 (§3.5.1 step 1).</summary>
    public void Disable()
    {
        uint cc = Cc;
        if ((cc & ControllerConfiguration.Enable) != 0)
        {
            // §3.5.2: if EN=1 but RDY=0, wait for RDY=1 before clearing EN. A fatal controller may never get there.
            if ((Csts & (ControllerStatus.Ready | ControllerStatus.Fatal)) == 0)
                WaitFor(ControllerStatus.Ready, ControllerStatus.Ready, "CSTS.RDY = 1 (controller was enabled, finishing before disable)", failOnFatal: false);
            _transport.SetProperty32(ControllerRegisters.Cc, cc & ~ControllerConfiguration.Enable);
        }
        WaitFor(ControllerStatus.Ready, 0, "CSTS.RDY = 0 after clearing CC.EN", failOnFatal: false);
    }

    /// <summary>Writes CC (IOSQES 6, IOCQES 4, MPS, CSS NVM, AMS round robin) with EN = 1 and waits for CSTS.RDY = 1.</summary>
    public void Enable(int mps)
    {
        uint cc = (0u << ControllerConfiguration.CssShift)
                  | ((uint)mps << ControllerConfiguration.MpsShift)
                  | (0u << ControllerConfiguration.AmsShift)
                  | (6u << ControllerConfiguration.IosqesShift)
                  | (4u << ControllerConfiguration.IocqesShift);
        _transport.SetProperty32(ControllerRegisters.Cc, cc);
        _transport.SetProperty32(ControllerRegisters.Cc, cc | ControllerConfiguration.Enable);
        WaitFor(ControllerStatus.Ready, ControllerStatus.Ready, "CSTS.RDY = 1 after setting CC.EN", failOnFatal: true);
        _transport.ClearFatalTrace();
    }

    /// <summary>Normal shutdown (§3.6.1): CC.SHN = 01b, wait for CSTS.SHST = 10b.</summary>
    public void Shutdown()
    {
        uint cc = Cc;
        if ((cc & ControllerConfiguration.Enable) == 0)
            return;
        _transport.SetProperty32(ControllerRegisters.Cc, (cc & ~(3u << ControllerConfiguration.ShnShift)) | (1u << ControllerConfiguration.ShnShift));
        WaitFor(ControllerStatus.ShstMask << ControllerStatus.ShstShift, 2u << ControllerStatus.ShstShift, "CSTS.SHST = 10b (shutdown complete)", failOnFatal: true);
    }

    /// <summary>Throws <see cref="NvmeControllerException"/> when CSTS.CFS is set.</summary>
    public void ThrowIfFatal(string during)
    {
        uint csts = Csts;
        if ((csts & ControllerStatus.Fatal) != 0)
            throw FatalException(csts, during);
    }

    public NvmeControllerException FatalException(uint csts, string during)
    {
        _transport.TraceFatal("CSTS.CFS", csts, _transport.FatalReason ?? $"Controller Fatal Status (CSTS.CFS = 1) {during}");
        return new(
            $"Controller {_transport.Address} reports Controller Fatal Status (CSTS.CFS = 1, CSTS = 0x{csts:X8}) {during}{Reason()}. Reset the controller (NvmeController.Reset).",
            csts, fatal: true);
    }

    /// <summary>What the transport knows about a failure, as a clause for a message ("" when nothing).</summary>
    private string Reason() => _transport.FatalReason is { } reason ? $": {reason}" : "";

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
                    + $"(CC = 0x{Cc:X8}, CSTS = 0x{csts:X8}: RDY={csts & 1}, CFS={(csts >> 1) & 1}, SHST={(csts >> 2) & 3}){Reason()}.",
                    csts, (csts & ControllerStatus.Fatal) != 0);
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }
}
