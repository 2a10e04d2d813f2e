using System.Globalization;

namespace PolledNvme.Driver.Vfio;

/// <summary>
/// What the host says about a PCI device and about VFIO, read from sysfs, /dev and /proc.
/// (Missing hugepages are reported by the DMA allocator, src/Driver/Memory/PinnedPages.cs.)
/// Each check that fails throws a <see cref="VfioException"/> that says what to do; the roots
/// are parameters so tests can point them at a fake tree.
/// </summary>
public sealed class VfioHost
{
    /// <summary>The real host: /sys, /dev, /proc.</summary>
    public static VfioHost System { get; } = new("/sys", "/dev", "/proc");

    /// <summary>sysfs mount point.</summary>
    public string SysRoot { get; }
    /// <summary>Device node directory.</summary>
    public string DevRoot { get; }
    /// <summary>procfs mount point.</summary>
    public string ProcRoot { get; }

    /// <summary>Looks at the host through the given roots.</summary>
    public VfioHost(string sysRoot, string devRoot, string procRoot)
    {
        SysRoot = sysRoot; DevRoot = devRoot; ProcRoot = procRoot;
    }

    /// <summary>/dev/vfio/vfio: the container node.</summary>
    public string ContainerPath => Path.Combine(DevRoot, "vfio", "vfio");

    /// <summary>/dev/vfio/&lt;group&gt;.</summary>
    public string GroupPath(int group) => Path.Combine(DevRoot, "vfio", group.ToString(CultureInfo.InvariantCulture));

    /// <summary>/sys/bus/pci/devices/&lt;bdf&gt;.</summary>
    public string DevicePath(PciAddress address) => Path.Combine(SysRoot, "bus", "pci", "devices", address.ToString());

    /// <summary>
    /// Checks, in the order a user fixes them, that <paramref name="address"/> can be opened
    /// through VFIO: the device exists, an IOMMU is on, the device is bound to vfio-pci, the
    /// vfio nodes exist. Returns the IOMMU group number.
    /// </summary>
    /// <exception cref="VfioException">A check failed; the message says what to do.</exception>
    public int CheckDeviceReady(PciAddress address)
    {
        string device = DevicePath(address);
        if (!Directory.Exists(device))
            throw new VfioException($"No PCI device {address} ({device} does not exist): check the address with 'lspci -D -d ::0108'.");

        int? group = IommuGroupOf(address);
        if (group is null)
        {
            string groups = Path.Combine(SysRoot, "kernel", "iommu_groups");
            bool anyGroup = Directory.Exists(groups) && Directory.EnumerateFileSystemEntries(groups).Any();
            throw new VfioException(anyGroup
                ? $"PCI device {address} has no IOMMU group ({device}/iommu_group is missing): the IOMMU does not cover it; check the firmware's VT-d/AMD-Vi setting for this slot."
                : $"No IOMMU: {groups} is empty, so VFIO cannot isolate PCI device {address}. Enable VT-d/AMD-Vi in the firmware and boot with intel_iommu=on (Intel) or amd_iommu=on (AMD), plus iommu=pt.");
        }

        string? driver = DriverOf(address);
        if (driver != "vfio-pci")
            throw new VfioException(
                $"PCI device {address} is bound to {(driver is null ? "no driver" : $"'{driver}'")}, not vfio-pci: run 'sudo PCI_ALLOWED={address} scripts/setup-hugepages.sh config', " +
                $"or by hand: echo vfio-pci > {device}/driver_override; echo {address} > {device}/driver/unbind; echo {address} > {Path.Combine(SysRoot, "bus", "pci", "drivers_probe")}.");

        if (!File.Exists(ContainerPath))
            throw new VfioException($"{ContainerPath} does not exist: the vfio modules are not loaded. Run 'modprobe vfio-pci vfio_iommu_type1' (or scripts/setup-hugepages.sh config).");
        string groupNode = GroupPath(group.Value);
        if (!File.Exists(groupNode))
            throw new VfioException($"{groupNode} does not exist although {address} is bound to vfio-pci: a vfio-noiommu group or a stale binding; rebind with 'scripts/setup-hugepages.sh reset' then 'config'.");
        return group.Value;
    }

    /// <summary>The IOMMU group of a device (from its <c>iommu_group</c> link), or null when it has none.</summary>
    public int? IommuGroupOf(PciAddress address)
    {
        string? target = LinkTarget(Path.Combine(DevicePath(address), "iommu_group"));
        return target is not null && int.TryParse(Path.GetFileName(target), NumberStyles.None, CultureInfo.InvariantCulture, out int group) ? group : null;
    }

    /// <summary>The name of the driver bound to a device, or null when none is.</summary>
    public string? DriverOf(PciAddress address)
    {
        string? target = LinkTarget(Path.Combine(DevicePath(address), "driver"));
        return target is null ? null : Path.GetFileName(target);
    }

    /// <summary>Every device in an IOMMU group with its driver, e.g. <c>0000:00:1f.3 (snd_hda_intel)</c>.</summary>
    public IReadOnlyList<string> GroupMembers(int group)
    {
        string devices = Path.Combine(SysRoot, "kernel", "iommu_groups", group.ToString(CultureInfo.InvariantCulture), "devices");
        var members = new List<string>();
        if (!Directory.Exists(devices)) return members;
        foreach (string entry in Directory.EnumerateFileSystemEntries(devices).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(entry);
            string? driver = PciAddress.TryParse(name, out PciAddress member) ? DriverOf(member) : null;
            members.Add($"{name} ({driver ?? "no driver"})");
        }
        return members;
    }

    /// <summary>The "Max locked memory" soft limit of this process in bytes (null = unlimited or unknown).</summary>
    public ulong? LockedMemoryLimit()
    {
        string limits = Path.Combine(ProcRoot, "self", "limits");
        if (!File.Exists(limits)) return null;
        foreach (string line in File.ReadLines(limits))
        {
            if (!line.StartsWith("Max locked memory", StringComparison.Ordinal)) continue;
            string[] fields = line["Max locked memory".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 0 && ulong.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out ulong soft) ? soft : null;
        }
        return null;
    }

    /// <summary>Message for a failed mapping when the cause is the locked-memory limit.</summary>
    public string MemlockRemedy(ulong wanted)
    {
        ulong? limit = LockedMemoryLimit();
        string current = limit is null ? "unlimited or unknown" : $"{limit.Value / 1024} KiB";
        return $"The locked-memory limit (ulimit -l: {current}) is too low for {wanted / 1024} KiB more of DMA memory: run as root, or raise it with 'ulimit -l unlimited' (or memlock in /etc/security/limits.conf).";
    }

    private static string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
