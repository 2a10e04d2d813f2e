namespace PolledNvme.Driver.Vfio;

/// <summary>
/// A VFIO container (/dev/vfio/vfio): one IOMMU address space. Groups are attached to it,
/// then the Type1v2 IOMMU model is chosen, then DMA mappings are made in it.
/// </summary>
internal sealed unsafe class VfioContainer : IDisposable
{
    private int _fd;

    /// <summary>The container fd (-1 after <see cref="Dispose"/>).</summary>
    internal int Fd => _fd;

    private VfioContainer(int fd) => _fd = fd;

    /// <summary>Opens the container node and checks the API version and the TYPE1v2 IOMMU extension.</summary>
    /// <exception cref="VfioException">The node is missing, not accessible, or the kernel's VFIO is too old.</exception>
    public static VfioContainer Open(VfioHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        string path = host.ContainerPath;
        int fd = VfioSyscalls.OpenReadWrite(path);
        if (fd < 0) throw OpenFailure(path, -fd);
        var container = new VfioContainer(fd);
        try
        {
            int version = VfioSyscalls.Ioctl(fd, VfioIoctl.GetApiVersion);
            if (version < 0)
                throw VfioException.FromErrno($"VFIO_GET_API_VERSION on {path}", -version,
                    $"{path} is not the VFIO container device (character device 10:196 created by the vfio module); remove it and run 'modprobe vfio'.");
            if (version != VfioIoctl.ApiVersion)
                throw new VfioException($"VFIO_GET_API_VERSION on {path} returned {version}, expected {VfioIoctl.ApiVersion}: this kernel's VFIO is not supported.");
            if (VfioSyscalls.Ioctl(fd, VfioIoctl.CheckExtension, VfioIoctl.Type1v2Iommu) <= 0)
                throw new VfioException($"VFIO on this host lacks the TYPE1v2 IOMMU model (VFIO_CHECK_EXTENSION): run 'modprobe vfio_iommu_type1' and make sure an IOMMU is enabled (intel_iommu=on / amd_iommu=on).");
            return container;
        }
        catch
        {
            container.Dispose();
            throw;
        }
    }

    /// <summary>The message for a failed open of a /dev/vfio node.</summary>
    internal static VfioException OpenFailure(string path, int errno) => errno switch
    {
        2 /* ENOENT */ => VfioException.FromErrno($"open {path}", errno,
            "The vfio modules are not loaded: run 'modprobe vfio-pci vfio_iommu_type1' (or scripts/setup-hugepages.sh config)."),
        13 /* EACCES */ or 1 /* EPERM */ => VfioException.FromErrno($"open {path}", errno,
            VfioSyscalls.EffectiveUserId() == 0
                ? "Root was refused: a security module (SELinux/AppArmor) or a container runtime blocks /dev/vfio."
                : $"Not root (euid {VfioSyscalls.EffectiveUserId()}): run as root, or give this user read/write access to {path} and raise 'ulimit -l'."),
        16 /* EBUSY */ => VfioException.FromErrno($"open {path}", errno,
            "The VFIO group is already open (by another process, another driver instance in this process, or QEMU): close that first."),
        _ => VfioException.FromErrno($"open {path}", errno),
    };

    /// <summary>Chooses the TYPE1v2 IOMMU model; valid once a group is attached (VFIO_SET_IOMMU).</summary>
    internal void SetIommuType1v2()
    {
        int result = VfioSyscalls.Ioctl(_fd, VfioIoctl.SetIommu, VfioIoctl.Type1v2Iommu);
        if (result < 0)
            throw VfioException.FromErrno("VFIO_SET_IOMMU (TYPE1v2)", -result, -result == 1 /* EPERM */
                ? "The IOMMU has no interrupt remapping: enable it (intel_iommu=on with interrupt remapping in firmware), or allow it knowingly with 'modprobe vfio_iommu_type1 allow_unsafe_interrupts=1'."
                : "Check 'dmesg | grep -i -e vfio -e iommu'.");
    }

    /// <summary>
    /// The IOVA ranges the IOMMU accepts (VFIO_IOMMU_GET_INFO with the IOVA-range capability),
    /// as inclusive [start, end]; the whole 48-bit space when the kernel does not report them.
    /// </summary>
    internal List<(ulong Start, ulong EndInclusive)> UsableIovaRanges()
    {
        var info = new VfioIommuType1Info { Argsz = (uint)sizeof(VfioIommuType1Info) };
        int result = VfioSyscalls.Ioctl(_fd, VfioIoctl.IommuGetInfo, &info);
        if (result < 0) throw VfioException.FromErrno("VFIO_IOMMU_GET_INFO", -result);
        var ranges = new List<(ulong, ulong)>();
        if ((info.Flags & VfioIoctl.IommuInfoCaps) != 0 && info.Argsz > sizeof(VfioIommuType1Info))
        {
            // The capability chain did not fit: ask again with the size the kernel asked for.
            byte[] buffer = new byte[info.Argsz];
            fixed (byte* p = buffer)
            {
                ((VfioIommuType1Info*)p)->Argsz = info.Argsz;
                result = VfioSyscalls.Ioctl(_fd, VfioIoctl.IommuGetInfo, p);
                if (result < 0) throw VfioException.FromErrno("VFIO_IOMMU_GET_INFO (with capabilities)", -result);
                ReadIovaRanges(p, buffer.Length, ((VfioIommuType1Info*)p)->CapOffset, ranges);
            }
        }
        if (ranges.Count == 0) ranges.Add((0, (1ul << 48) - 1));
        return ranges;
    }

    /// <summary>Walks a VFIO capability chain and collects the IOVA-range capability's ranges.</summary>
    internal static void ReadIovaRanges(byte* info, int length, uint capOffset, List<(ulong, ulong)> ranges)
    {
        uint offset = capOffset;
        for (int hops = 0; offset != 0 && hops < 64; hops++)
        {
            if (offset + (uint)sizeof(VfioInfoCapHeader) > (uint)length) return;
            var header = (VfioInfoCapHeader*)(info + offset);
            if (header->Id == VfioIoctl.IommuCapIovaRange)
            {
                // struct vfio_iommu_type1_info_cap_iova_range: header, u32 nr_iovas, u32 reserved, ranges[].
                uint count = *(uint*)(info + offset + 8);
                var range = (VfioIovaRange*)(info + offset + 16);
                if (offset + 16 + count * (ulong)sizeof(VfioIovaRange) > (ulong)length) return;
                for (uint i = 0; i < count; i++) ranges.Add((range[i].Start, range[i].End));
            }
            offset = header->Next;
        }
    }

    /// <summary>Maps process memory for device reads and writes at <paramref name="iova"/> (VFIO_IOMMU_MAP_DMA).</summary>
    internal int MapDma(nint vaddr, ulong iova, ulong size)
    {
        var map = new VfioIommuType1DmaMap
        {
            Argsz = (uint)sizeof(VfioIommuType1DmaMap),
            Flags = VfioIoctl.DmaMapFlagRead | VfioIoctl.DmaMapFlagWrite,
            Vaddr = (ulong)vaddr,
            Iova = iova,
            Size = size,
        };
        int result = VfioSyscalls.Ioctl(_fd, VfioIoctl.IommuMapDma, &map);
        return result < 0 ? -result : 0;
    }

    /// <summary>Removes a mapping (VFIO_IOMMU_UNMAP_DMA); returns 0 or the errno.</summary>
    internal int UnmapDma(ulong iova, ulong size)
    {
        var unmap = new VfioIommuType1DmaUnmap { Argsz = (uint)sizeof(VfioIommuType1DmaUnmap), Iova = iova, Size = size };
        int result = VfioSyscalls.Ioctl(_fd, VfioIoctl.IommuUnmapDma, &unmap);
        return result < 0 ? -result : 0;
    }

    /// <summary>Closes the container; the kernel drops any mapping still in it.</summary>
    public void Dispose()
    {
        VfioSyscalls.Close(_fd);
        _fd = -1;
    }
}
