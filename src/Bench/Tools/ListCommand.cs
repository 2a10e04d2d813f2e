using PolledNvme.Bench.Options;

namespace PolledNvme.Bench.Tools;

/// <summary>One NVMe controller found on the PCI bus.</summary>
public sealed record PciNvmeController(string Address, string Vendor, string Device, string Driver, string IommuGroup);

/// <summary>
/// <c>pnvme list</c>: NVMe controllers on the PCI bus (sysfs devices of class 0x010802, NVM
/// Express I/O controller), with the bound driver and IOMMU group — what VFIO needs — and how
/// to reach the emulated controller instead.
/// </summary>
internal static class ListCommand
{
    /// <summary>PCI class code of an NVMe I/O controller (mass storage / NVM / NVMe).</summary>
    public const string NvmeClass = "0x010802";

    public const string Usage = """
        usage: pnvme list [--output-format normal|json]
        Lists NVMe controllers on the PCI bus (/sys/bus/pci/devices, class 0x010802) with their
        driver and IOMMU group. A controller bound to vfio-pci is used as --device pci:ADDRESS.
        exit codes: 0 ok (also when none is found); 2 usage
        """;

    public const string EmulatedHint = "Emulated controller (no hardware needed): --device emu:/tmp/ns.img,lbads=4096,ms=8,pi=1,size=1G (file), mem:pi=1 (RAM) or null: (no data)";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, stdout, stderr, "/sys/bus/pci/devices");

    /// <summary>Runs against a sysfs-like root (tests give a fake tree).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, string sysfsDevices)
    {
        if (args.Contains("--help")) { stdout.WriteLine(Usage); return Cli.ExitOk; }
        var a = new ArgReader(args, ["output-format"], [], new Dictionary<string, string> { ["o"] = "output-format" });
        bool json = a.Get("output-format") switch
        {
            null or "normal" => false,
            "json" => true,
            var f => throw new UsageException("--output-format", $"'{f}' is not one of normal, json"),
        };
        var found = Scan(sysfsDevices);
        if (json)
        {
            ToolContext.WriteJson(stdout, w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("Devices");
                foreach (var c in found)
                {
                    w.WriteStartObject();
                    w.WriteString("Address", c.Address);
                    w.WriteString("Vendor", c.Vendor);
                    w.WriteString("Device", c.Device);
                    w.WriteString("Driver", c.Driver);
                    w.WriteString("IommuGroup", c.IommuGroup);
                    w.WriteString("DeviceString", "pci:" + c.Address);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteString("Emulated", EmulatedHint);
                w.WriteEndObject();
            });
        }
        else
        {
            stdout.WriteLine($"{"Address",-14} {"Vendor",-7} {"Device",-7} {"Driver",-10} {"IOMMU group",-11}");
            stdout.WriteLine($"{new string('-', 14)} {new string('-', 7)} {new string('-', 7)} {new string('-', 10)} {new string('-', 11)}");
            foreach (var c in found)
                stdout.WriteLine($"{c.Address,-14} {c.Vendor,-7} {c.Device,-7} {c.Driver,-10} {c.IommuGroup,-11}");
            if (found.Count == 0) stdout.WriteLine("(no NVMe controller on the PCI bus)");
            stdout.WriteLine();
            stdout.WriteLine(EmulatedHint);
        }
        return Cli.ExitOk;
    }

    /// <summary>Finds NVMe controllers under <paramref name="sysfsDevices"/> (one directory per PCI function).</summary>
    public static List<PciNvmeController> Scan(string sysfsDevices)
    {
        var list = new List<PciNvmeController>();
        if (!Directory.Exists(sysfsDevices)) return list;
        foreach (var dir in Directory.GetDirectories(sysfsDevices).Order(StringComparer.Ordinal))
        {
            if (ReadText(Path.Combine(dir, "class")) != NvmeClass) continue;
            list.Add(new PciNvmeController(
                Path.GetFileName(dir),
                ReadText(Path.Combine(dir, "vendor")) ?? "?",
                ReadText(Path.Combine(dir, "device")) ?? "?",
                LinkName(Path.Combine(dir, "driver")) ?? "(none)",
                LinkName(Path.Combine(dir, "iommu_group")) ?? "(none)"));
        }
        return list;
    }

    private static string? ReadText(string path)
    {
        try { return File.Exists(path) ? File.ReadAllText(path).Trim() : null; }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    // sysfs "driver" and "iommu_group" are symlinks whose last component is the name.
    private static string? LinkName(string path)
    {
        var info = new DirectoryInfo(path);
        if (info.LinkTarget is { } target) return Path.GetFileName(target.TrimEnd('/'));
        return info.Exists ? info.Name : null;
    }
}
