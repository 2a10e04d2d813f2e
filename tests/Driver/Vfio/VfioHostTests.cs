using NUnit.Framework;
using PolledNvme.Driver.Vfio;

namespace PolledNvme.Tests.Driver.Vfio;

/// <summary>
/// Every set-up error that can be provoked without hardware, on a fake sysfs/dev/proc tree
/// built in a temporary directory (symlinks like the kernel's), and on the real host.
/// </summary>
public class VfioHostTests
{
    private static readonly PciAddress Nvme = PciAddress.Parse("0000:01:00.0");
    private string _root = null!;
    private VfioHost _host = null!;

    [SetUp]
    public void CreateTree()
    {
        _root = Directory.CreateTempSubdirectory("pnvme-vfio-").FullName;
        _host = new VfioHost(Path.Combine(_root, "sys"), Path.Combine(_root, "dev"), Path.Combine(_root, "proc"));
        Directory.CreateDirectory(Path.Combine(_root, "sys/bus/pci/devices"));
        Directory.CreateDirectory(Path.Combine(_root, "sys/kernel/iommu_groups"));
        Directory.CreateDirectory(Path.Combine(_root, "dev"));
        Directory.CreateDirectory(Path.Combine(_root, "proc/self"));
    }

    [TearDown]
    public void RemoveTree() => Directory.Delete(_root, recursive: true);

    private void AddDevice(PciAddress address, int? group, string? driver)
    {
        string device = Path.Combine(_root, "sys/devices/pci0000:00", address.ToString());
        Directory.CreateDirectory(device);
        File.CreateSymbolicLink(Path.Combine(_root, "sys/bus/pci/devices", address.ToString()), device);
        if (group is int g)
        {
            string groupDir = Path.Combine(_root, "sys/kernel/iommu_groups", g.ToString(), "devices");
            Directory.CreateDirectory(groupDir);
            File.CreateSymbolicLink(Path.Combine(device, "iommu_group"), Path.Combine(_root, "sys/kernel/iommu_groups", g.ToString()));
            File.CreateSymbolicLink(Path.Combine(groupDir, address.ToString()), device);
        }
        if (driver is not null)
        {
            string driverDir = Path.Combine(_root, "sys/bus/pci/drivers", driver);
            Directory.CreateDirectory(driverDir);
            File.CreateSymbolicLink(Path.Combine(device, "driver"), driverDir);
        }
    }

    private string Fails(PciAddress address) => Assert.Throws<VfioException>(() => _host.CheckDeviceReady(address))!.Message;

    [Test]
    public void NonexistentDevice()
        => Assert.That(Fails(Nvme), Does.Contain("No PCI device 0000:01:00.0").And.Contain("lspci"));

    [Test]
    public void NoIommuAtAll()
    {
        AddDevice(Nvme, group: null, driver: "nvme");
        Assert.That(Fails(Nvme), Does.Contain("No IOMMU").And.Contain("intel_iommu=on").And.Contain("amd_iommu=on"));
    }

    [Test]
    public void DeviceOutsideEveryIommuGroup()
    {
        AddDevice(PciAddress.Parse("0000:00:1f.0"), group: 3, driver: "lpc_ich");
        AddDevice(Nvme, group: null, driver: "nvme");
        Assert.That(Fails(Nvme), Does.Contain("has no IOMMU group"));
    }

    [Test]
    public void BoundToTheKernelNvmeDriver()
    {
        AddDevice(Nvme, group: 7, driver: "nvme");
        Assert.That(Fails(Nvme), Does.Contain("bound to 'nvme', not vfio-pci")
            .And.Contain("PCI_ALLOWED=0000:01:00.0 scripts/setup-hugepages.sh config").And.Contain("driver_override"));
    }

    [Test]
    public void BoundToNoDriver()
    {
        AddDevice(Nvme, group: 7, driver: null);
        Assert.That(Fails(Nvme), Does.Contain("bound to no driver, not vfio-pci"));
    }

    [Test]
    public void VfioModulesNotLoaded()
    {
        AddDevice(Nvme, group: 7, driver: "vfio-pci");
        Assert.That(Fails(Nvme), Does.Contain("/dev/vfio/vfio does not exist").And.Contain("modprobe vfio-pci"));
    }

    [Test]
    public void GroupNodeMissing()
    {
        AddDevice(Nvme, group: 7, driver: "vfio-pci");
        Directory.CreateDirectory(Path.Combine(_root, "dev/vfio"));
        File.WriteAllText(Path.Combine(_root, "dev/vfio/vfio"), "");
        Assert.That(Fails(Nvme), Does.Contain("vfio/7 does not exist"));
    }

    [Test]
    public void ReadyDeviceReportsItsGroup()
    {
        AddDevice(Nvme, group: 7, driver: "vfio-pci");
        Directory.CreateDirectory(Path.Combine(_root, "dev/vfio"));
        File.WriteAllText(Path.Combine(_root, "dev/vfio/vfio"), "");
        File.WriteAllText(Path.Combine(_root, "dev/vfio/7"), "");
        Assert.That(_host.CheckDeviceReady(Nvme), Is.EqualTo(7));
    }

    [Test]
    public void GroupMembersListTheirDrivers()
    {
        AddDevice(Nvme, group: 7, driver: "vfio-pci");
        AddDevice(PciAddress.Parse("0000:01:00.1"), group: 7, driver: "snd_hda_intel");
        Assert.That(_host.GroupMembers(7), Is.EqualTo(new[] { "0000:01:00.0 (vfio-pci)", "0000:01:00.1 (snd_hda_intel)" }));
    }

    [Test]
    public void ContainerNodeMissingSaysModprobe()
    {
        var e = Assert.Throws<VfioException>(() => VfioContainer.Open(_host))!;
        Assert.That(e.Errno, Is.EqualTo(2));
        Assert.That(e.Message, Does.Contain("vfio/vfio").And.Contain("modprobe vfio-pci"));
    }

    [Test]
    public void ContainerNodeThatIsNotVfioIsRecognised()
    {
        Directory.CreateDirectory(Path.Combine(_root, "dev/vfio"));
        File.WriteAllText(Path.Combine(_root, "dev/vfio/vfio"), "");
        var e = Assert.Throws<VfioException>(() => VfioContainer.Open(_host))!;
        Assert.That(e.Errno, Is.EqualTo(25), "ENOTTY from VFIO_GET_API_VERSION on a regular file");
        Assert.That(e.Message, Does.Contain("VFIO_GET_API_VERSION").And.Contain("not the VFIO container device"));
    }

    [Test]
    public void OpenFailureMessagesSayWhatToDo()
    {
        Assert.That(VfioContainer.OpenFailure("/dev/vfio/7", 16).Message, Does.Contain("already open"));
        Assert.That(VfioContainer.OpenFailure("/dev/vfio/7", 13).Message, Does.Contain("/dev/vfio").And.Contain("Permission denied"));
    }

    [Test]
    public void LockedMemoryLimitAndRemedy()
    {
        File.WriteAllText(Path.Combine(_root, "proc/self/limits"),
            "Limit                     Soft Limit           Hard Limit           Units     \n" +
            "Max locked memory         65536                65536                bytes     \n");
        Assert.That(_host.LockedMemoryLimit(), Is.EqualTo(65536ul));
        Assert.That(_host.MemlockRemedy(2 << 20), Does.Contain("ulimit -l: 64 KiB").And.Contain("2048 KiB"));
        File.WriteAllText(Path.Combine(_root, "proc/self/limits"), "Max locked memory         unlimited            unlimited            bytes\n");
        Assert.That(_host.LockedMemoryLimit(), Is.Null);
    }

    [Test]
    public void RealHostRejectsAMissingDevice()
    {
        // No PCI domain ffff exists on a normal machine (lspci -D shows 0000 only).
        var e = Assert.Throws<VfioException>(() => VfioTransport.Open("pci:ffff:ff:1f.7"))!;
        Assert.That(e.Message, Does.Contain("No PCI device ffff:ff:1f.7"));
    }

    [Test]
    public void ControllerOpenRoutesPciAddressesToVfio()
    {
        var e = Assert.Throws<VfioException>(() => PolledNvme.Driver.NvmeController.Open("pci:ffff:ff:1f.7"))!;
        Assert.That(e.Message, Does.Contain("No PCI device ffff:ff:1f.7"));
        // A malformed address is a bad argument like any malformed device string (the parser's FormatException inside).
        var bad = Assert.Throws<ArgumentException>(() => PolledNvme.Driver.NvmeController.Open("pci:not-a-bdf"))!;
        Assert.That(bad.Message, Does.Contain("'pci:not-a-bdf' is not a PCI address"));
        Assert.That(bad.InnerException, Is.InstanceOf<FormatException>());
    }

    [Test]
    public void TransportRejectsABadAddressBeforeTouchingTheHost()
        => Assert.That(Assert.Throws<ArgumentException>(() => VfioTransport.Open("emu:/tmp/ns.img"))!.Message, Does.Contain("is not a PCI address"));
}
