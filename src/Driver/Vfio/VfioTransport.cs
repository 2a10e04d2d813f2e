using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Vfio;

/// <summary>
/// Reaches a real NVMe controller through Linux VFIO: the controller's BAR0 is mapped into
/// this process and host memory is made reachable by the device through the IOMMU
/// (VFIO_IOMMU_MAP_DMA), at IOVAs this transport allocates. Everything above
/// <see cref="INvmeTransport"/> is the same as for the emulated controller.
/// </summary>
public sealed class VfioTransport : INvmeTransport
{
    private const ulong LargeMappingAlignment = 2 << 20; // a 2 MiB hugepage: lets the IOMMU use large pages

    private readonly VfioHost _host;
    private readonly VfioContainer _container;
    private readonly VfioGroup _group;
    private readonly VfioDevice _device;
    private readonly IovaAllocator _iovas;
    private readonly Lock _mappingsLock = new();
    // Mappings by IOVA: set-up path only (queue and buffer creation), never per I/O.
    private readonly Dictionary<ulong, (nint Address, ulong Length)> _mappings = new();
    private bool _disposed;

    /// <inheritdoc/>
    public RegisterWindow Registers { get; }

    /// <inheritdoc/>
    public string Address { get; }

    /// <summary>The PCI function this transport drives.</summary>
    public PciAddress PciAddress => _device.Address;

    /// <summary>The IOMMU group the function is in.</summary>
    public int IommuGroup => _group.Number;

    /// <summary>True when the function was reset (VFIO_DEVICE_RESET) on open.</summary>
    public bool WasReset => _device.WasReset;

    /// <summary>Number of live DMA mappings.</summary>
    public int MappingCount
    {
        get { lock (_mappingsLock) return _mappings.Count; }
    }

    private VfioTransport(VfioHost host, VfioContainer container, VfioGroup group, VfioDevice device, IovaAllocator iovas)
    {
        _host = host;
        _container = container;
        _group = group;
        _device = device;
        _iovas = iovas;
        Address = PciAddress.Scheme + device.Address;
        Registers = new RegisterWindow(device.Bar0, (int)Math.Min(device.Bar0Length, int.MaxValue));
    }

    /// <summary>Opens <c>pci:DDDD:BB:DD.F</c> (or a bare BDF) on this host.</summary>
    /// <exception cref="FormatException">Not a PCI address.</exception>
    /// <exception cref="VfioException">The host is not set up for VFIO, or a VFIO step failed; the message says what to do.</exception>
    public static VfioTransport Open(string address) => Open(PciAddress.Parse(address), VfioHost.System);

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
            return new VfioTransport(host, container, group, device, iovas);
        }
        catch
        {
            device?.Dispose();
            group?.Dispose();
            container?.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The address is zero or not page aligned, or the length is zero.</exception>
    /// <exception cref="VfioException">The kernel refused the mapping (the message says why: e.g. the locked-memory limit).</exception>
    public ulong Map(nint address, nuint length)
    {
        if (address == 0 || ((ulong)address & (IovaAllocator.PageSize - 1)) != 0)
            throw new ArgumentException($"DMA memory at 0x{address:x} must be 4 KiB page aligned (VFIO maps whole pages).", nameof(address));
        if (length == 0) throw new ArgumentOutOfRangeException(nameof(length), "DMA mapping length must be positive.");
        ulong size = ((ulong)length + IovaAllocator.PageSize - 1) & ~(IovaAllocator.PageSize - 1);
        ulong alignment = size >= LargeMappingAlignment && ((ulong)address & (LargeMappingAlignment - 1)) == 0 ? LargeMappingAlignment : IovaAllocator.PageSize;
        lock (_mappingsLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ulong iova = _iovas.Allocate(size, alignment);
            int errno = _container.MapDma(address, iova, size);
            if (errno != 0)
            {
                _iovas.Free(iova, size);
                throw VfioException.FromErrno($"VFIO_IOMMU_MAP_DMA of {size} bytes at 0x{address:x}", errno, errno switch
                {
                    12 /* ENOMEM */ => _host.MemlockRemedy(size),
                    14 /* EFAULT */ => "The memory is not mapped in this process (freed, or a bad pointer).",
                    _ => "Check 'dmesg | grep -i vfio'.",
                });
            }
            _mappings.Add(iova, (address, size));
            return iova;
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">No mapping starts at <paramref name="iova"/> with that length.</exception>
    public void Unmap(ulong iova, nuint length)
    {
        lock (_mappingsLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_mappings.TryGetValue(iova, out var mapping))
                throw new ArgumentException($"No DMA mapping starts at IOVA 0x{iova:x} on {Address}.", nameof(iova));
            ulong size = ((ulong)length + IovaAllocator.PageSize - 1) & ~(IovaAllocator.PageSize - 1);
            if (size != mapping.Length)
                throw new ArgumentException($"The DMA mapping at IOVA 0x{iova:x} is {mapping.Length} bytes, not {(ulong)length}: unmap it whole.", nameof(length));
            int errno = _container.UnmapDma(iova, size);
            if (errno != 0) throw VfioException.FromErrno($"VFIO_IOMMU_UNMAP_DMA of IOVA 0x{iova:x}", errno);
            _mappings.Remove(iova);
            _iovas.Free(iova, size);
        }
    }

    /// <summary>Nothing to do: a real controller runs by itself.</summary>
    public void Progress() { }

    /// <summary>
    /// Stops the device's DMA, unmaps BAR0 and every DMA mapping, and closes the device, group
    /// and container. Safe to call more than once.
    /// </summary>
    public void Dispose()
    {
        lock (_mappingsLock)
        {
            if (_disposed) return;
            _disposed = true;
            // Bus mastering off first, so nothing is in flight while mappings go away.
            _device.Dispose();
            foreach ((ulong iova, (nint _, ulong length)) in _mappings) _container.UnmapDma(iova, length);
            _mappings.Clear();
            _group.Dispose();
            _container.Dispose();
        }
    }
}
