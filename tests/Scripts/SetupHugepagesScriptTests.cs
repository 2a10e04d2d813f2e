using NUnit.Framework;
using PolledNvme.Tests.Support;

namespace PolledNvme.Tests.Scripts;

/// <summary>
/// scripts/setup-hugepages.sh on a fake sysfs/procfs tree (every decision it makes, with
/// --dry-run and for real), plus status and a hugepage reserve/release on the real host.
/// The real binding to vfio-pci is exercised inside the QEMU guest (scripts/qemu-test.sh).
/// </summary>
[NonParallelizable]
public class SetupHugepagesScriptTests
{
    private const string Script = "scripts/setup-hugepages.sh";
    private const string Nvme0 = "0000:01:00.0";
    private const string Nvme1 = "0000:02:00.0";

    private static ScriptRunner.Result Run(FakeHost host, Dictionary<string, string> env, params string[] args)
        => ScriptRunner.Run(Script, args, env);

    [Test]
    public void DryRunConfigShowsEveryChangeAndMakesNone()
    {
        using var host = new FakeHost();
        host.AddDevice(Nvme0, "0x010802", "nvme", group: 5, "nvme0n1");
        var r = Run(host, host.Environment(hugeMemMiB: 8), "--dry-run", "config");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        string dev = host.DeviceDir(Nvme0);
        Assert.That(r.Stdout, Does.Contain($"would write '4' to {host.HugePages2M}/nr_hugepages"));
        Assert.That(r.Stdout, Does.Contain($"would write 'vfio-pci' to {host.Sys}/bus/pci/devices/{Nvme0}/driver_override"));
        Assert.That(r.Stdout, Does.Contain($"would write '{Nvme0}' to {host.Sys}/bus/pci/devices/{Nvme0}/driver/unbind"));
        Assert.That(r.Stdout, Does.Contain($"would write '{Nvme0}' to {host.Sys}/bus/pci/drivers_probe"));
        Assert.That(host.Read(Path.Combine(host.HugePages2M, "nr_hugepages")), Is.EqualTo("0"));
        Assert.That(host.Read(Path.Combine(dev, "driver_override")), Is.EqualTo("(null)"));
        Assert.That(host.Read(Path.Combine(host.Sys, "bus/pci/drivers/nvme/unbind")), Is.Empty);
    }

    [Test]
    public void ControllersWithMountedNamespacesAreSkipped()
    {
        using var host = new FakeHost();
        host.AddDevice(Nvme0, "0x010802", "nvme", group: 5, "nvme0n1");
        host.AddDevice(Nvme1, "0x010802", "nvme", group: 6, "nvme1n1");
        host.AddMount("/dev/nvme1n1 /data ext4 rw 0 0");
        var r = Run(host, host.Environment(), "--dry-run", "config");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(r.Stderr, Does.Contain($"skipping {Nvme1}: /dev/nvme1n1 is mounted on /data"));
        Assert.That(r.Stdout, Does.Contain($"devices/{Nvme0}/driver_override"));
        Assert.That(r.Stdout, Does.Not.Contain($"devices/{Nvme1}/driver_override"));
    }

    [Test]
    public void ControllersHeldByDeviceMapperAreSkipped()
    {
        using var host = new FakeHost();
        host.AddDevice(Nvme0, "0x010802", "nvme", group: 5, "nvme0n1");
        Directory.CreateDirectory(Path.Combine(host.DeviceDir(Nvme0), "nvme/nvme0/nvme0n1/holders/dm-0"));
        var r = Run(host, host.Environment(), "--dry-run", "config");
        Assert.That(r.Stderr, Does.Contain($"skipping {Nvme0}: /dev/nvme0n1 is held by dm-0"));
        Assert.That(r.Stdout, Does.Contain("no NVMe controller to bind"));
    }

    [Test]
    public void PciAllowedPicksOnlyTheNamedControllerEvenIfMounted()
    {
        using var host = new FakeHost();
        host.AddDevice(Nvme0, "0x010802", "nvme", group: 5, "nvme0n1");
        host.AddDevice(Nvme1, "0x010802", "nvme", group: 6, "nvme1n1");
        host.AddMount("/dev/nvme1n1 /data ext4 rw 0 0");
        var r = Run(host, host.Environment(allowed: Nvme1), "--dry-run", "config");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(r.Stdout, Does.Contain($"devices/{Nvme1}/driver_override"));
        Assert.That(r.Stdout, Does.Not.Contain($"devices/{Nvme0}/driver_override"));
    }

    [Test]
    public void PciAllowedNamingAMissingDeviceFails()
    {
        using var host = new FakeHost();
        var r = Run(host, host.Environment(allowed: "0000:09:00.0"), "--dry-run", "config");
        Assert.That(r.ExitCode, Is.Not.Zero);
        Assert.That(r.Stderr, Does.Contain("PCI_ALLOWED names 0000:09:00.0, which does not exist"));
    }

    [Test]
    public void OtherDevicesInTheIommuGroupAreWarnedAbout()
    {
        using var host = new FakeHost();
        host.AddDevice(Nvme0, "0x010802", "nvme", group: 5, "nvme0n1");
        host.AddDevice("0000:01:00.1", "0x040300", "snd_hda_intel", group: 5);
        var r = Run(host, host.Environment(), "--dry-run", "config");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(r.Stderr, Does.Contain("IOMMU group 5 also holds 0000:01:00.1 (driver snd_hda_intel)"));
    }

    [Test]
    public void NoIommuIsAClearError()
    {
        using var host = new FakeHost(iommu: false);
        host.AddDevice(Nvme0, "0x010802", "nvme", group: null, "nvme0n1");
        var r = Run(host, host.Environment(), "--dry-run", "config");
        Assert.That(r.ExitCode, Is.Not.Zero);
        Assert.That(r.Stderr, Does.Contain("No IOMMU").And.Contain("intel_iommu=on").And.Contain("amd_iommu=on"));
        var status = Run(host, host.Environment(), "status");
        Assert.That(status.Stdout, Does.Contain("IOMMU: off or absent"));
    }

    [Test]
    public void ReserveIsIdempotentAndCleanupReleases()
    {
        using var host = new FakeHost();
        string nr = Path.Combine(host.HugePages2M, "nr_hugepages");
        var first = Run(host, host.Environment(hugeMemMiB: 10), "config");
        Assert.That(first.ExitCode, Is.Zero, first.ToString());
        Assert.That(host.Read(nr), Is.EqualTo("5"));
        Assert.That(first.Stdout, Does.Contain("hugepages: 5 x 2 MiB reserved (was 0)").And.Contain("no NVMe controller to bind"));
        var second = Run(host, host.Environment(hugeMemMiB: 10), "config");
        Assert.That(second.Stdout, Does.Contain("hugepages: 5 x 2 MiB already reserved"));

        File.WriteAllText(Path.Combine(host.HugePages2M, "free_hugepages"), "3\n");
        var cleanup = Run(host, host.Environment(), "cleanup");
        Assert.That(cleanup.ExitCode, Is.Zero, cleanup.ToString());
        Assert.That(cleanup.Stderr, Does.Contain("2 of 5 hugepages are in use"));
        Assert.That(cleanup.Stdout, Does.Contain("hugepages: released (was 5 x 2 MiB)"));
        Assert.That(host.Read(nr), Is.EqualTo("0"));
        Assert.That(Run(host, host.Environment(), "cleanup").Stdout, Does.Contain("hugepages: none reserved"));
    }

    [Test]
    public void HugememRoundsUpToWholePages()
    {
        using var host = new FakeHost();
        var r = Run(host, host.Environment(hugeMemMiB: 3), "config");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(host.Read(Path.Combine(host.HugePages2M, "nr_hugepages")), Is.EqualTo("2"), "3 MiB needs two 2 MiB pages");
    }

    [Test]
    public void DryRunResetGivesVfioControllersBack()
    {
        using var host = new FakeHost();
        host.AddDevice(Nvme0, "0x010802", "vfio-pci", group: 5);
        var r = Run(host, host.Environment(), "--dry-run", "reset");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(r.Stdout, Does.Contain($"would clear {host.Sys}/bus/pci/devices/{Nvme0}/driver_override"));
        Assert.That(r.Stdout, Does.Contain($"would write '{Nvme0}' to {host.Sys}/bus/pci/devices/{Nvme0}/driver/unbind"));
        Assert.That(r.Stdout, Does.Contain($"would write '{Nvme0}' to {host.Sys}/bus/pci/drivers_probe"));
        using var idle = new FakeHost();
        Assert.That(Run(idle, idle.Environment(), "reset").Stdout, Does.Contain("nothing to reset"));
    }

    [Test]
    public void StatusListsHugepagesAndControllers()
    {
        using var host = new FakeHost(hugePages: 4);
        host.AddDevice(Nvme0, "0x010802", "vfio-pci", group: 5);
        host.AddDevice(Nvme1, "0x010802", "nvme", group: 6, "nvme1n1");
        var r = Run(host, host.Environment(), "status");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(r.Stdout, Does.Match(@"2048kB\s+total\s+4\s+free\s+4"));
        Assert.That(r.Stdout, Does.Contain("/dev/hugepages (rw,relatime,pagesize=2M)"));
        Assert.That(r.Stdout, Does.Match($@"{Nvme0}\s+1b36:0010\s+vfio-pci\s+5\s"));
        Assert.That(r.Stdout, Does.Match($@"{Nvme1}\s+1b36:0010\s+nvme\s+6\s.*nvme1n1"));
    }

    [Test]
    public void UnknownArgumentsAreRejectedWithUsage()
    {
        using var host = new FakeHost();
        var r = Run(host, host.Environment(), "bogus");
        Assert.That(r.ExitCode, Is.Not.Zero);
        Assert.That(r.Stderr, Does.Contain("unknown argument 'bogus'").And.Contain("[config|status|reset|cleanup|help]"));
    }

    [Test]
    public void BadHugememIsRejected()
    {
        using var host = new FakeHost();
        var env = host.Environment();
        env["HUGEMEM"] = "2G";
        var r = Run(host, env, "config");
        Assert.That(r.ExitCode, Is.Not.Zero);
        Assert.That(r.Stderr, Does.Contain("HUGEMEM must be a whole number of MiB, got '2G'"));
    }

    [Test]
    public void ChangesNeedRoot()
    {
        using var host = new FakeHost();
        var r = ScriptRunner.Run(Script, ["config"], host.Environment(),
            prefix: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]);
        Assert.That(r.ExitCode, Is.Not.Zero);
        Assert.That(r.Stderr, Does.Contain("needs root").And.Contain("--dry-run"));
    }

    [Test]
    public void StatusOnThisHost()
    {
        var r = ScriptRunner.Run(Script, ["status"]);
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(r.Stdout, Does.Contain("Hugepages").And.Contain("2048kB").And.Contain("NVMe controllers (class 0x010802)"));
    }

    [Test]
    public void ReservesAndReleasesRealHugepages()
    {
        if (!HugepagePool.CanResize)
            Assert.Ignore("needs root and 2 MiB hugepages");
        // Only the persistent pool is this test's: other processes may hold hugepages (as surplus pages)
        // or take some from the pool while it runs, so nr_hugepages and free_hugepages are not asserted.
        using var turn = HugepagePool.TakeTurn();
        int before = HugepagePool.Persistent;
        // A private mount namespace keeps the hugetlbfs mount (if any) from leaking to the host.
        string[] isolated = ["unshare", "-m", "--propagation", "private"];
        try
        {
            var r = ScriptRunner.Run(Script, ["config"], new Dictionary<string, string> { ["HUGEMEM"] = ((before + 2) * 2).ToString() }, isolated);
            Assert.That(r.ExitCode, Is.Zero, r.ToString());
            if (r.Stderr.Contains("could be reserved"))
                Assert.Inconclusive($"the kernel could not reserve 2 more hugepages (memory short or fragmented): {r.Stderr}");
            Assert.That(HugepagePool.Persistent, Is.EqualTo(before + 2), r.ToString());
            if (before != 0)
                return;   // someone else's reservation: cleanup would release it
            // This process holds one of the pages while cleanup runs, like another process on the machine:
            // the pool is released all the same, and the held page lasts only as long as its holder.
            using (var held = HugepagePool.Hold())
            {
                if (held is null)
                    Assert.Inconclusive("other processes took both reserved hugepages before this test could map one");
                var c = ScriptRunner.Run(Script, ["cleanup"], null, isolated);
                Assert.That(c.ExitCode, Is.Zero, c.ToString());
                Assert.That(c.Stderr, Does.Match(@"\d+ of \d+ hugepages are in use by running processes"), c.ToString());
                Assert.That(c.Stdout, Does.Contain("hugepages: released (was 2 x 2 MiB)"), c.ToString());
                Assert.That(HugepagePool.Persistent, Is.Zero, c.ToString());
                Assert.That(HugepagePool.Read("surplus_hugepages"), Is.GreaterThanOrEqualTo(1), "the held page is surplus now");
            }
            Assert.That(HugepagePool.Persistent, Is.Zero);
        }
        finally
        {
            HugepagePool.SetPersistent(before);
        }
    }

    [Test]
    public void ReserveCountsOnlyThePersistentPool()
    {
        // Two pages that other processes still hold after a shrink show in nr_hugepages as surplus:
        // they are not a reservation, they vanish when their holders exit.
        using var host = new FakeHost(hugePages: 2, surplus: 2);
        var r = Run(host, host.Environment(hugeMemMiB: 4), "--dry-run", "config");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(r.Stdout, Does.Contain($"would write '2' to {host.HugePages2M}/nr_hugepages").And.Not.Contain("already reserved"));
    }

    [Test]
    public void CleanupWithOnlySurplusPagesHasNothingToRelease()
    {
        using var host = new FakeHost(hugePages: 1, surplus: 1, free: 0);
        var r = Run(host, host.Environment(), "cleanup");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(r.Stdout, Does.Contain("hugepages: none reserved"));
    }
}
