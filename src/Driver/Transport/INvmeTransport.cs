using PolledNvme.Queues;

namespace PolledNvme.Driver.Transport;

/// <summary>
/// What the driver needs from the way it reaches a controller: its register window and DMA
/// mapping. Everything above this interface is the same for VFIO and the emulated controller.
/// </summary>
public interface INvmeTransport : IDmaMapper, IDisposable
{
    /// <summary>The controller's registers (BAR0 or the emulated register page).</summary>
    RegisterWindow Registers { get; }

    /// <summary>A short human-readable name, e.g. <c>pci:0000:01:00.0</c> or <c>emu:/tmp/ns.img</c>.</summary>
    string Address { get; }

    /// <summary>
    /// Called by the driver while it spins on the device (waiting for CSTS.RDY, or polling a
    /// completion queue). Lets an emulated controller that is stepped inline make progress;
    /// hardware and threaded emulation do nothing.
    /// </summary>
    void Progress();

    /// <summary>
    /// What the controller can say about a failed command beyond its status, when the transport
    /// has a channel for it: the emulated controller returns a media error's errno, file and
    /// offset (e.g. <c>ENOSPC (No space left on device) writing 4096 bytes at offset 0 of '/tmp/ns.img'</c>).
    /// Called with the command's queue and command id right after its failed completion was
    /// reaped; null when there is nothing to add (hardware says all it can in the status and
    /// the Error Information log).
    /// </summary>
    string? DescribeFailure(ushort queueId, ushort commandId) => null;
}
