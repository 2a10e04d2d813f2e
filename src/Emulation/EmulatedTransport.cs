using PolledNvme.Driver.Pcie;
using PolledNvme.Queues;

namespace PolledNvme.Emulation;

/// <summary>
/// The emulated controller's PCIe binding: the plain <see cref="PcieTransport"/> over its
/// register page, with DMA registration into its address space (our IOMMU stand-in). A threaded
/// controller runs by itself like hardware, so its queue pairs are the plain PCIe ones; what
/// only an emulator knows reaches the host through the transport's reporting members: why the
/// device failed (<see cref="FatalReason"/>: the device thread failed, an enable was refused)
/// and what a failed command hit (<see cref="DescribeFailure"/>: a media error's errno, file
/// and offset). Disposing it disposes the controller.
/// </summary>
internal class EmulatedTransport(EmulatedController controller, ControllerCore core, string address, DoorbellWake? wake = null)
    : PcieTransport(core.Registers.Window, core.Dma, address)
{
    /// <summary>Doorbell writes wake the sleeping device thread (threaded mode).</summary>
    protected override DoorbellWake? DeviceWake => wake;

    /// <summary>A threaded controller raises interrupts from its device thread (per-vector eventfds).</summary>
    protected override string? InterruptsUnsupportedReason => null;

    /// <inheritdoc/>
    protected override EventFd OpenInterruptVector(ushort vector) => core.InterruptVector(vector);

    /// <summary>A register write (CC...) wakes the sleeping device like a doorbell.</summary>
    public override void SetProperty32(int offset, uint value)
    {
        base.SetProperty32(offset, value);
        wake?.AfterHostWrite();
    }

    /// <summary>A register write (ASQ, ACQ) wakes the sleeping device like a doorbell.</summary>
    public override void SetProperty64(int offset, ulong value)
    {
        base.SetProperty64(offset, value);
        wake?.AfterHostWrite();
    }

    /// <summary>The controller behind this transport.</summary>
    public EmulatedController Controller => controller;

    private protected ControllerCore Core => core;

    /// <summary>No device behind it needs physically contiguous memory: 4 KiB pages will do when no hugepages are free.</summary>
    public override DmaAllocatorOptions DefaultMemoryOptions => new() { AllowNonHugepageFallback = true };

    /// <inheritdoc/>
    public override string? FatalReason => controller.FatalReason;

    /// <inheritdoc/>
    public override string? DescribeFailure(ushort queueId, ushort commandId) => core.DescribeFailure(queueId, commandId);

    /// <summary>Disposes the controller behind this transport.</summary>
    protected override void Dispose(bool disposing) => controller.Dispose();
}

/// <summary>
/// The binding of an inline emulated controller, which has no thread of its own: the host's
/// polling is what runs it. Every property read (the driver waiting for CSTS.RDY, checking
/// CSTS.CFS) and every ProcessCompletions first gives the device one pass
/// (<see cref="ControllerCore.TryStepInline"/>; a pass already running on another host thread
/// serves every queue, so the call then skips). Deterministic, single-core, no cross-core
/// round trips: what tests and the inline benchmarks use.
/// </summary>
internal sealed class InlineEmulatedTransport(EmulatedController controller, ControllerCore core, string address)
    : EmulatedTransport(controller, core, address)
{
    /// <inheritdoc/>
    public override uint GetProperty32(int offset)
    {
        Core.TryStepInline();
        return base.GetProperty32(offset);
    }

    /// <inheritdoc/>
    public override ulong GetProperty64(int offset)
    {
        Core.TryStepInline();
        return base.GetProperty64(offset);
    }

    /// <summary>No device thread runs an inline controller: nothing could raise an interrupt while the host sleeps.</summary>
    protected override string? InterruptsUnsupportedReason
        => $"the inline emulated controller {Address} has no device thread to raise interrupts (the host's polling runs it): open it threaded (mode=threaded) to sleep on completions";

    /// <summary>Queue pairs that step the device before they poll.</summary>
    protected override PcieQueuePair CreateQueuePair(PcieRings rings) => new SteppingQueuePair(rings, Core);

    private sealed class SteppingQueuePair(PcieRings rings, ControllerCore core) : PcieQueuePair(rings)
    {
        public override int ProcessCompletions(int max = int.MaxValue)
        {
            core.TryStepInline();   // after Dispose the gate stays shut: nothing runs
            return base.ProcessCompletions(max);
        }
    }
}
