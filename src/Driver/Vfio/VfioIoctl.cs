namespace PolledNvme.Driver.Vfio;

/// <summary>
/// VFIO ioctl request numbers and constants (linux/vfio.h). Every VFIO ioctl is
/// <c>_IO(VFIO_TYPE, VFIO_BASE + n)</c>: no direction or size bits, so the number is
/// <c>(';' &lt;&lt; 8) | (100 + n)</c>; the argument struct carries its own <c>argsz</c>.
/// </summary>
internal static class VfioIoctl
{
    /// <summary>VFIO_TYPE: the ioctl "magic" character.</summary>
    public const int Type = ';';
    /// <summary>VFIO_BASE: first command number.</summary>
    public const int Base = 100;

    /// <summary>_IO(type, nr) from asm-generic/ioctl.h: dir = _IOC_NONE (0), size = 0.</summary>
    public static int Io(int type, int nr) => (0 << 30) | (0 << 16) | (type << 8) | nr;

    /// <summary>VFIO_GET_API_VERSION: _IO(VFIO_TYPE, VFIO_BASE + 0).</summary>
    public static readonly int GetApiVersion = Io(Type, Base + 0);
    /// <summary>VFIO_CHECK_EXTENSION: _IO(VFIO_TYPE, VFIO_BASE + 1).</summary>
    public static readonly int CheckExtension = Io(Type, Base + 1);
    /// <summary>VFIO_SET_IOMMU: _IO(VFIO_TYPE, VFIO_BASE + 2).</summary>
    public static readonly int SetIommu = Io(Type, Base + 2);
    /// <summary>VFIO_GROUP_GET_STATUS: _IO(VFIO_TYPE, VFIO_BASE + 3).</summary>
    public static readonly int GroupGetStatus = Io(Type, Base + 3);
    /// <summary>VFIO_GROUP_SET_CONTAINER: _IO(VFIO_TYPE, VFIO_BASE + 4).</summary>
    public static readonly int GroupSetContainer = Io(Type, Base + 4);
    /// <summary>VFIO_GROUP_UNSET_CONTAINER: _IO(VFIO_TYPE, VFIO_BASE + 5).</summary>
    public static readonly int GroupUnsetContainer = Io(Type, Base + 5);
    /// <summary>VFIO_GROUP_GET_DEVICE_FD: _IO(VFIO_TYPE, VFIO_BASE + 6).</summary>
    public static readonly int GroupGetDeviceFd = Io(Type, Base + 6);
    /// <summary>VFIO_DEVICE_GET_INFO: _IO(VFIO_TYPE, VFIO_BASE + 7).</summary>
    public static readonly int DeviceGetInfo = Io(Type, Base + 7);
    /// <summary>VFIO_DEVICE_GET_REGION_INFO: _IO(VFIO_TYPE, VFIO_BASE + 8).</summary>
    public static readonly int DeviceGetRegionInfo = Io(Type, Base + 8);
    /// <summary>VFIO_DEVICE_GET_IRQ_INFO: _IO(VFIO_TYPE, VFIO_BASE + 9).</summary>
    public static readonly int DeviceGetIrqInfo = Io(Type, Base + 9);
    /// <summary>VFIO_DEVICE_SET_IRQS: _IO(VFIO_TYPE, VFIO_BASE + 10).</summary>
    public static readonly int DeviceSetIrqs = Io(Type, Base + 10);
    /// <summary>VFIO_DEVICE_RESET: _IO(VFIO_TYPE, VFIO_BASE + 11).</summary>
    public static readonly int DeviceReset = Io(Type, Base + 11);
    /// <summary>VFIO_IOMMU_GET_INFO: _IO(VFIO_TYPE, VFIO_BASE + 12).</summary>
    public static readonly int IommuGetInfo = Io(Type, Base + 12);
    /// <summary>VFIO_IOMMU_MAP_DMA: _IO(VFIO_TYPE, VFIO_BASE + 13).</summary>
    public static readonly int IommuMapDma = Io(Type, Base + 13);
    /// <summary>VFIO_IOMMU_UNMAP_DMA: _IO(VFIO_TYPE, VFIO_BASE + 14).</summary>
    public static readonly int IommuUnmapDma = Io(Type, Base + 14);

    /// <summary>VFIO_API_VERSION: the only API version there has ever been.</summary>
    public const int ApiVersion = 0;
    /// <summary>VFIO_TYPE1v2_IOMMU: the x86 IOMMU model with unmap-of-whole-mappings semantics.</summary>
    public const int Type1v2Iommu = 3;

    /// <summary>VFIO_GROUP_FLAGS_VIABLE: every device of the group is bound to vfio (or none is in use).</summary>
    public const uint GroupFlagsViable = 1 << 0;
    /// <summary>VFIO_GROUP_FLAGS_CONTAINER_SET.</summary>
    public const uint GroupFlagsContainerSet = 1 << 1;

    /// <summary>VFIO_DEVICE_FLAGS_RESET: VFIO_DEVICE_RESET is supported.</summary>
    public const uint DeviceFlagsReset = 1 << 0;
    /// <summary>VFIO_DEVICE_FLAGS_PCI: a vfio-pci device.</summary>
    public const uint DeviceFlagsPci = 1 << 1;

    /// <summary>VFIO_REGION_INFO_FLAG_READ.</summary>
    public const uint RegionFlagRead = 1 << 0;
    /// <summary>VFIO_REGION_INFO_FLAG_WRITE.</summary>
    public const uint RegionFlagWrite = 1 << 1;
    /// <summary>VFIO_REGION_INFO_FLAG_MMAP.</summary>
    public const uint RegionFlagMmap = 1 << 2;
    /// <summary>VFIO_REGION_INFO_FLAG_CAPS.</summary>
    public const uint RegionFlagCaps = 1 << 3;

    /// <summary>VFIO_PCI_BAR0_REGION_INDEX.</summary>
    public const uint PciBar0RegionIndex = 0;
    /// <summary>VFIO_PCI_CONFIG_REGION_INDEX.</summary>
    public const uint PciConfigRegionIndex = 7;

    /// <summary>VFIO_PCI_MSIX_IRQ_INDEX (after INTX 0 and MSI 1).</summary>
    public const uint PciMsixIrqIndex = 2;

    /// <summary>VFIO_IRQ_INFO_EVENTFD: the interrupts of this index can signal eventfds.</summary>
    public const uint IrqInfoEventFd = 1 << 0;
    /// <summary>VFIO_IRQ_INFO_NORESIZE: vectors cannot be added once the index is enabled (enable them all at once).</summary>
    public const uint IrqInfoNoResize = 1 << 3;

    /// <summary>VFIO_IRQ_SET_DATA_NONE: no data (with count 0 and ACTION_TRIGGER: disable the index).</summary>
    public const uint IrqSetDataNone = 1 << 0;
    /// <summary>VFIO_IRQ_SET_DATA_EVENTFD: data is an array of int32 eventfds (-1: unbind that vector).</summary>
    public const uint IrqSetDataEventFd = 1 << 2;
    /// <summary>VFIO_IRQ_SET_ACTION_TRIGGER: the interrupt signals the eventfd.</summary>
    public const uint IrqSetActionTrigger = 1 << 5;

    /// <summary>VFIO_DMA_MAP_FLAG_READ: the device may read the mapping.</summary>
    public const uint DmaMapFlagRead = 1 << 0;
    /// <summary>VFIO_DMA_MAP_FLAG_WRITE: the device may write the mapping.</summary>
    public const uint DmaMapFlagWrite = 1 << 1;

    /// <summary>VFIO_IOMMU_INFO_PGSIZES: <c>iova_pgsizes</c> is valid.</summary>
    public const uint IommuInfoPageSizes = 1 << 0;
    /// <summary>VFIO_IOMMU_INFO_CAPS: <c>cap_offset</c> is valid.</summary>
    public const uint IommuInfoCaps = 1 << 1;
    /// <summary>VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: the usable IOVA ranges.</summary>
    public const ushort IommuCapIovaRange = 1;
}
