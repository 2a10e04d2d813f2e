namespace PolledNvme.Queues;

/// <summary>
/// Makes locked host memory reachable by a device and says at which I/O virtual address
/// (IOVA). VFIO implements it with VFIO_IOMMU_MAP_DMA; the emulated controller with its own
/// address space, which is the only host memory it may touch (our stand-in for the IOMMU).
/// </summary>
public interface IDmaMapper
{
    /// <summary>
    /// Maps <paramref name="length"/> bytes at <paramref name="address"/> (page aligned, locked
    /// for as long as it is mapped) and returns the IOVA the device must use for its first byte.
    /// </summary>
    ulong Map(nint address, nuint length);

    /// <summary>Removes a mapping made by <see cref="Map"/>; the device can no longer reach it.</summary>
    void Unmap(ulong iova, nuint length);
}
