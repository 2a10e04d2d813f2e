namespace PolledNvme.Tests.Scripts;

/// <summary>
/// A fake /sys and /proc tree in a temporary directory, shaped like the kernel's (symlinks for
/// driver and iommu_group), for running scripts/setup-hugepages.sh with SYSFS and PROCFS.
/// </summary>
internal sealed class FakeHost : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("pnvme-setup-").FullName;
    public string Sys => Path.Combine(Root, "sys");
    public string Proc => Path.Combine(Root, "proc");
    public string HugePages2M => Path.Combine(Sys, "kernel/mm/hugepages/hugepages-2048kB");

    /// <summary>A tree with <paramref name="hugePages"/> 2 MiB pages (nr_hugepages), <paramref name="surplus"/> of them surplus, <paramref name="free"/> free (default: all).</summary>
    public FakeHost(bool iommu = true, bool vfioLoaded = true, int hugePages = 0, int surplus = 0, int? free = null)
    {
        Directory.CreateDirectory(Path.Combine(Sys, "bus/pci/devices"));
        Directory.CreateDirectory(Path.Combine(Sys, "kernel/iommu_groups"));
        Directory.CreateDirectory(HugePages2M);
        File.WriteAllText(Path.Combine(HugePages2M, "nr_hugepages"), $"{hugePages}\n");
        File.WriteAllText(Path.Combine(HugePages2M, "free_hugepages"), $"{free ?? hugePages}\n");
        File.WriteAllText(Path.Combine(HugePages2M, "surplus_hugepages"), $"{surplus}\n");
        File.WriteAllText(Path.Combine(Sys, "bus/pci/drivers_probe"), "");
        Directory.CreateDirectory(Proc);
        File.WriteAllText(Path.Combine(Proc, "mounts"), "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n");
        File.WriteAllText(Path.Combine(Proc, "swaps"), "Filename Type Size Used Priority\n");
        if (vfioLoaded)
        {
            Directory.CreateDirectory(Path.Combine(Sys, "module/vfio_pci"));
            Directory.CreateDirectory(Path.Combine(Sys, "module/vfio_iommu_type1"));
        }
        if (iommu) Directory.CreateDirectory(Path.Combine(Sys, "kernel/iommu_groups/0/devices"));
    }

    public Dictionary<string, string> Environment(int hugeMemMiB = 8, string? allowed = null)
    {
        var env = new Dictionary<string, string> { ["SYSFS"] = Sys, ["PROCFS"] = Proc, ["HUGEMEM"] = hugeMemMiB.ToString() };
        if (allowed is not null) env["PCI_ALLOWED"] = allowed;
        return env;
    }

    public string DeviceDir(string bdf) => Path.Combine(Sys, "devices/pci0000:00", bdf);

    /// <summary>Adds a PCI function; <paramref name="namespaces"/> become nvme/nvme0/&lt;name&gt; entries.</summary>
    public void AddDevice(string bdf, string pciClass, string? driver, int? group, params string[] namespaces)
    {
        string dev = DeviceDir(bdf);
        Directory.CreateDirectory(dev);
        File.CreateSymbolicLink(Path.Combine(Sys, "bus/pci/devices", bdf), dev);
        File.WriteAllText(Path.Combine(dev, "class"), pciClass + "\n");
        File.WriteAllText(Path.Combine(dev, "vendor"), "0x1b36\n");
        File.WriteAllText(Path.Combine(dev, "device"), "0x0010\n");
        File.WriteAllText(Path.Combine(dev, "driver_override"), "(null)\n");
        if (driver is not null)
        {
            string driverDir = Path.Combine(Sys, "bus/pci/drivers", driver);
            Directory.CreateDirectory(driverDir);
            File.WriteAllText(Path.Combine(driverDir, "unbind"), "");
            File.CreateSymbolicLink(Path.Combine(dev, "driver"), driverDir);
        }
        if (group is int g)
        {
            string groupDir = Path.Combine(Sys, "kernel/iommu_groups", g.ToString());
            Directory.CreateDirectory(Path.Combine(groupDir, "devices"));
            File.CreateSymbolicLink(Path.Combine(dev, "iommu_group"), groupDir);
            File.CreateSymbolicLink(Path.Combine(groupDir, "devices", bdf), dev);
        }
        foreach (string ns in namespaces)
            Directory.CreateDirectory(Path.Combine(dev, "nvme/nvme0", ns, "holders"));
    }

    public void AddMount(string line) => File.AppendAllText(Path.Combine(Proc, "mounts"), line + "\n");

    public string Read(string path) => File.ReadAllText(path).Trim();

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
