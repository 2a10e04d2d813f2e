using System.Runtime.InteropServices;

namespace PolledNvme.Driver.Vfio;

// Argument structs of the VFIO ioctls (linux/vfio.h). Each starts with argsz, which the
// kernel uses to tell old from new callers; sizes are pinned by VfioStructLayoutTests.

/// <summary>struct vfio_group_status (8 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
internal struct VfioGroupStatus
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
}

/// <summary>struct vfio_device_info, without the cap_offset added in Linux 5.5 (16 bytes; argsz tells the kernel).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct VfioDeviceInfo
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint NumRegions;
    [FieldOffset(12)] public uint NumIrqs;
}

/// <summary>struct vfio_region_info (32 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct VfioRegionInfo
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint Index;
    [FieldOffset(12)] public uint CapOffset;
    /// <summary>Region size in bytes.</summary>
    [FieldOffset(16)] public ulong Size;
    /// <summary>Offset of the region in the device fd, for pread/pwrite/mmap.</summary>
    [FieldOffset(24)] public ulong Offset;
}

/// <summary>struct vfio_iommu_type1_info (24 bytes; capabilities follow when argsz allows).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
internal struct VfioIommuType1Info
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    /// <summary>Bitmap of supported IOMMU page sizes.</summary>
    [FieldOffset(8)] public ulong IovaPageSizes;
    [FieldOffset(16)] public uint CapOffset;
    [FieldOffset(20)] public uint Pad;
}

/// <summary>struct vfio_info_cap_header (8 bytes): links a capability chain by offsets from the struct start.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
internal struct VfioInfoCapHeader
{
    [FieldOffset(0)] public ushort Id;
    [FieldOffset(2)] public ushort Version;
    [FieldOffset(4)] public uint Next;
}

/// <summary>struct vfio_iova_range (16 bytes): inclusive [start, end].</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct VfioIovaRange
{
    [FieldOffset(0)] public ulong Start;
    [FieldOffset(8)] public ulong End;
}

/// <summary>struct vfio_iommu_type1_dma_map (32 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct VfioIommuType1DmaMap
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    /// <summary>Process virtual address of the memory.</summary>
    [FieldOffset(8)] public ulong Vaddr;
    /// <summary>Address the device will use.</summary>
    [FieldOffset(16)] public ulong Iova;
    [FieldOffset(24)] public ulong Size;
}

/// <summary>struct vfio_iommu_type1_dma_unmap, without the trailing flexible array (24 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
internal struct VfioIommuType1DmaUnmap
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public ulong Iova;
    [FieldOffset(16)] public ulong Size;
}

/// <summary>struct vfio_irq_info (16 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct VfioIrqInfo
{
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    /// <summary>VFIO_PCI_*_IRQ_INDEX.</summary>
    [FieldOffset(8)] public uint Index;
    /// <summary>Vectors of that index (MSI-X: the table size).</summary>
    [FieldOffset(12)] public uint Count;
}

/// <summary>struct vfio_irq_set without its flexible data array (20 bytes; the int32 eventfds follow at offset 20).</summary>
[StructLayout(LayoutKind.Explicit, Size = 20)]
internal struct VfioIrqSet
{
    /// <summary>Header plus data bytes.</summary>
    [FieldOffset(0)] public uint Argsz;
    [FieldOffset(4)] public uint Flags;
    [FieldOffset(8)] public uint Index;
    /// <summary>First vector.</summary>
    [FieldOffset(12)] public uint Start;
    /// <summary>Vectors (and int32 data entries).</summary>
    [FieldOffset(16)] public uint Count;
}
