namespace PolledNvme.Driver.Vfio;

/// <summary>
/// DMA registration through the IOMMU of a VFIO container: each mapping gets an IOVA from the
/// container's usable ranges (2 MiB aligned for hugepage-sized memory, so the IOMMU can use
/// large pages) and is mapped with VFIO_IOMMU_MAP_DMA. Set-up path only (queue and buffer
/// creation), never per I/O.
/// </summary>
internal sealed class VfioDmaMapper : Queues.IDmaMapper
{
    private const ulong LargeMappingAlignment = 2 << 20; // a 2 MiB hugepage: lets the IOMMU use large pages

    private readonly VfioHost _host;
    private readonly VfioContainer _container;
    private readonly IovaAllocator _iovas;
    private readonly string _owner;
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, (nint Address, ulong Length)> _mappings = new();
    private bool _closed;

    public VfioDmaMapper(VfioHost host, VfioContainer container, IovaAllocator iovas, string owner)
    {
        _host = host;
        _container = container;
        _iovas = iovas;
        _owner = owner;
    }

    /// <summary>Number of live mappings.</summary>
    public int Count
    {
        get { lock (_lock) return _mappings.Count; }
    }

    /// <exception cref="ArgumentException">The address is zero or not page aligned, or the length is zero.</exception>
    /// <exception cref="VfioException">The kernel refused the mapping (the message says why: e.g. the locked-memory limit).</exception>
    public ulong Map(nint address, nuint length)
    {
        if (address == 0 || ((ulong)address & (IovaAllocator.PageSize - 1)) != 0)
            throw new ArgumentException($"DMA memory at 0x{address:x} must be 4 KiB page aligned (VFIO maps whole pages).", nameof(address));
        if (length == 0) throw new ArgumentOutOfRangeException(nameof(length), "DMA mapping length must be positive.");
        ulong size = ((ulong)length + IovaAllocator.PageSize - 1) & ~(IovaAllocator.PageSize - 1);
        ulong alignment = size >= LargeMappingAlignment && ((ulong)address & (LargeMappingAlignment - 1)) == 0 ? LargeMappingAlignment : IovaAllocator.PageSize;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
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

    /// <exception cref="ArgumentException">No mapping starts at <paramref name="iova"/> with that length.</exception>
    public void Unmap(ulong iova, nuint length)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (!_mappings.TryGetValue(iova, out var mapping))
                throw new ArgumentException($"No DMA mapping starts at IOVA 0x{iova:x} on {_owner}.", nameof(iova));
            ulong size = ((ulong)length + IovaAllocator.PageSize - 1) & ~(IovaAllocator.PageSize - 1);
            if (size != mapping.Length)
                throw new ArgumentException($"The DMA mapping at IOVA 0x{iova:x} is {mapping.Length} bytes, not {(ulong)length}: unmap it whole.", nameof(length));
            int errno = _container.UnmapDma(iova, size);
            if (errno != 0) throw VfioException.FromErrno($"VFIO_IOMMU_UNMAP_DMA of IOVA 0x{iova:x}", errno);
            _mappings.Remove(iova);
            _iovas.Free(iova, size);
        }
    }

    /// <summary>Unmaps everything and refuses further mappings (the device's DMA is already off).</summary>
    public void Close()
    {
        lock (_lock)
        {
            if (_closed) return;
            _closed = true;
            foreach ((ulong iova, (nint _, ulong length)) in _mappings) _container.UnmapDma(iova, length);
            _mappings.Clear();
        }
    }
}
