using PolledNvme.Driver.Pcie;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Vfio;

/// <summary>
/// Reaches a real NVMe controller through Linux VFIO: the PCIe transport over the controller's
/// BAR0, mapped into this process, with host memory made reachable by the device through the
/// IOMMU (VFIO_IOMMU_MAP_DMA, <see cref="VfioDmaMapper"/>), at IOVAs this transport allocates.
/// Everything above <see cref="PcieTransport"/> is the same as for the emulated controller.
/// </summary>
public sealed class VfioTransport : PcieTransport
{
    private readonly VfioContainer _container;
    private readonly VfioGroup _group;
    private readonly VfioDevice _device;
    private readonly VfioDmaMapper _mapper;

    private VfioTransport(VfioContainer container, VfioGroup group, VfioDevice device, VfioDmaMapper mapper, string address)
        : base(new RegisterWindow(device.Bar0, (int)Math.Min(device.Bar0Length, int.MaxValue)), mapper, address)
    {
        _container = container;
        _group = group;
        _device = device;
        _mapper = mapper;
    }

    /// <summary>The PCI function this transport drives.</summary>
    public PciAddress PciAddress => _device.Address;

    /// <summary>The IOMMU group the function is in.</summary>
    public int IommuGroup => _group.Number;

    /// <summary>True when the function was reset (VFIO_DEVICE_RESET) on open.</summary>
    public bool WasReset => _device.WasReset;

    /// <summary>Number of live DMA mappings.</summary>
    public int MappingCount => _mapper.Count;

    /// <summary>Opens <c>pci:DDDD:BB:DD.F[,dbbuf=0|1]</c> (or a bare BDF) on this host (see <see cref="PciDeviceString"/>).</summary>
    /// <exception cref="ArgumentException">Not a PCI address, or a bad key after it.</exception>
    /// <exception cref="VfioException">The host is not set up for VFIO, or a VFIO step failed; the message says what to do.</exception>
    public static VfioTransport Open(string address)
    {
        PciDeviceString device = PciDeviceString.Parse(address);
        VfioTransport transport = Open(device.Address, VfioHost.System);
        transport.ShadowDoorbellsOverride = device.ShadowDoorbells;
        return transport;
    }

    /// <summary>Opens a PCI function through VFIO, looking at the host through <paramref name="host"/>.</summary>
    /// <exception cref="VfioException">The host is not set up for VFIO, or a VFIO step failed; the message says what to do.</exception>
    public static VfioTransport Open(PciAddress address, VfioHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        int groupNumber = host.CheckDeviceReady(address);
        VfioContainer? container = null;
        VfioGroup? group = null;
        VfioDevice? device = null;
        try
        {
            container = VfioContainer.Open(host);
            group = VfioGroup.OpenAndAttach(host, groupNumber, container);
            container.SetIommuType1v2();
            var iovas = new IovaAllocator(container.UsableIovaRanges());
            device = VfioDevice.Open(group, address);
            string name = PciAddress.Scheme + device.Address;
            return new VfioTransport(container, group, device, new VfioDmaMapper(host, container, iovas, name), name);
        }
        catch
        {
            device?.Dispose();
            group?.Dispose();
            container?.Dispose();
            throw;
        }
    }

    /// <summary>MSI-X vectors of the function (what sleeping queue pairs can use: vector N for queue pair N).</summary>
    public int InterruptVectors => _device.Interrupts.VectorCount;

    /// <inheritdoc/>
    protected override string? InterruptsUnsupportedReason => _device.Interrupts.UnsupportedReason;

    /// <inheritdoc/>
    protected override EventFd OpenInterruptVector(ushort vector) => _device.Interrupts.Vector(vector);

    /// <summary>
    /// Stops the device's DMA, unmaps BAR0 and every DMA mapping, and closes the device, group
    /// and container.
    /// </summary>
    protected override void Dispose(bool disposing)
    {
        // Bus mastering off first, so nothing is in flight while mappings go away.
        _device.Dispose();
        _mapper.Close();
        _group.Dispose();
        _container.Dispose();
    }
}
