namespace PolledNvme.Driver.Vfio;

/// <summary>
/// A VFIO group (/dev/vfio/&lt;n&gt;): the smallest set of devices the IOMMU can isolate.
/// It is usable only when viable (every device in it is bound to vfio-pci or unbound) and
/// once attached to a container.
/// </summary>
internal sealed unsafe class VfioGroup : IDisposable
{
    private int _fd;
    private bool _attached;

    /// <summary>The IOMMU group number.</summary>
    public int Number { get; }

    private VfioGroup(int fd, int number)
    {
        _fd = fd;
        Number = number;
    }

    /// <summary>Opens group <paramref name="number"/>, checks it is viable and attaches it to <paramref name="container"/>.</summary>
    /// <exception cref="VfioException">Not accessible, not viable (the message lists the group's devices), or the attach failed.</exception>
    public static VfioGroup OpenAndAttach(VfioHost host, int number, VfioContainer container)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(container);
        string path = host.GroupPath(number);
        int fd = VfioSyscalls.OpenReadWrite(path);
        if (fd < 0) throw VfioContainer.OpenFailure(path, -fd);
        var group = new VfioGroup(fd, number);
        try
        {
            var status = new VfioGroupStatus { Argsz = (uint)sizeof(VfioGroupStatus) };
            int result = VfioSyscalls.Ioctl(fd, VfioIoctl.GroupGetStatus, &status);
            if (result < 0) throw VfioException.FromErrno($"VFIO_GROUP_GET_STATUS on {path}", -result);
            if ((status.Flags & VfioIoctl.GroupFlagsViable) == 0)
                throw new VfioException(
                    $"IOMMU group {number} is not viable: every device in it must be bound to vfio-pci (or to no driver) before any can be used. " +
                    $"Devices in the group: {string.Join(", ", host.GroupMembers(number))}. Bind them with PCI_ALLOWED='<all of them>' scripts/setup-hugepages.sh config, or move the NVMe to a slot with its own group.");

            int containerFd = container.Fd;
            result = VfioSyscalls.Ioctl(fd, VfioIoctl.GroupSetContainer, &containerFd);
            if (result < 0) throw VfioException.FromErrno($"VFIO_GROUP_SET_CONTAINER for group {number}", -result,
                "The group may already be attached to another container (another process uses it).");
            group._attached = true;
            return group;
        }
        catch
        {
            group.Dispose();
            throw;
        }
    }

    /// <summary>Gets an fd for one device of the group (VFIO_GROUP_GET_DEVICE_FD).</summary>
    internal int GetDeviceFd(PciAddress address)
    {
        string name = address.ToString();
        byte* text = stackalloc byte[name.Length + 1];
        for (int i = 0; i < name.Length; i++) text[i] = (byte)name[i];
        text[name.Length] = 0;
        int result = VfioSyscalls.Ioctl(_fd, VfioIoctl.GroupGetDeviceFd, text);
        if (result < 0)
            throw VfioException.FromErrno($"VFIO_GROUP_GET_DEVICE_FD for {name}", -result, -result == 16 /* EBUSY */
                ? "The device is already open (another process or driver instance uses it)."
                : $"Check that {name} is in IOMMU group {Number} and bound to vfio-pci.");
        return result;
    }

    /// <summary>Detaches from the container and closes the group.</summary>
    public void Dispose()
    {
        if (_fd >= 0 && _attached) VfioSyscalls.Ioctl(_fd, VfioIoctl.GroupUnsetContainer);
        _attached = false;
        VfioSyscalls.Close(_fd);
        _fd = -1;
    }
}
