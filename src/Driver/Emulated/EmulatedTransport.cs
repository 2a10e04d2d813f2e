using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Emulated;

/// <summary>
/// The host's view of an emulated controller: its register page, DMA mapping into the
/// controller's address space, and Progress() to step an inline controller.
/// </summary>
internal sealed class EmulatedTransport(EmulatedController controller, ControllerCore core, string address) : INvmeTransport
{
    /// <inheritdoc/>
    public RegisterWindow Registers => core.Registers.Window;

    /// <inheritdoc/>
    public string Address => address;

    /// <inheritdoc/>
    public void Progress() => controller.Progress();

    /// <inheritdoc/>
    public string? DescribeFailure(ushort queueId, ushort commandId) => core.DescribeFailure(queueId, commandId);

    /// <inheritdoc/>
    public ulong Map(nint address, nuint length) => core.Dma.Map(address, length);

    /// <inheritdoc/>
    public void Unmap(ulong iova, nuint length) => core.Dma.Unmap(iova, length);

    /// <summary>Disposes the controller behind this transport.</summary>
    public void Dispose() => controller.Dispose();
}
