using System.Globalization;
using System.Text.RegularExpressions;
using PolledNvme.Protection;

namespace PolledNvme.Conformance;

/// <summary>Which controller an expectation runs against; QEMU's deviations from the spec are named per expectation.</summary>
public enum ControllerKind
{
    /// <summary>Our emulated controller (src/Emulation): follows the spec.</summary>
    Emulated,
    /// <summary>QEMU 7.2's hw/nvme controller, reached through VFIO in the guest test.</summary>
    Qemu,
}

/// <summary>
/// One namespace format of the conformance matrix, named like <c>bs512-ms8-sep-pi1-pil0-pif0</c>;
/// the name is what scripts/qemu-test.sh passes to the guest.
/// </summary>
public sealed partial record ConformanceFormat(int BlockSize, int MetadataSize, bool Extended, PiType Type, PiLocation Location, PiGuardFormat Guard)
{
    /// <summary>PI tuple size: 8 bytes for the 16b guard, 16 for 32b/64b (PI.md §1).</summary>
    public int PiSize => Guard == PiGuardFormat.Guard16 ? 8 : 16;

    /// <summary>The name used in logs, test names and the QEMU configuration list.</summary>
    public string Name => $"bs{BlockSize}-ms{MetadataSize}-{(Extended ? "ext" : "sep")}-pi{(int)Type}-pil{(Location == PiLocation.First ? 1 : 0)}-pif{(int)Guard}";

    /// <summary>Our emulated controller with this format, in RAM (the <c>mem:</c> device string).</summary>
    public string EmulatedAddress(string size = "8M")
        => $"mem:lbads={BlockSize},ms={MetadataSize},mset={(Extended ? 1 : 0)},pi={(int)Type},pil={(Location == PiLocation.First ? 1 : 0)},pif={(int)Guard},sts=0,size={size}";

    /// <summary>QEMU 7.2 <c>-device nvme-ns</c> properties for this format (qemu-vfio.md).</summary>
    public string QemuProperties
        => $"logical_block_size={BlockSize},physical_block_size={BlockSize},ms={MetadataSize},mset={(Extended ? 1 : 0)},pi={(int)Type},pil={(Location == PiLocation.First ? 1 : 0)},pif={(int)Guard}";

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>Parses a <see cref="Name"/>.</summary>
    /// <exception cref="FormatException">Not a name of that form.</exception>
    public static ConformanceFormat Parse(string name)
    {
        Match m = NamePattern().Match(name ?? "");
        if (!m.Success)
            throw new FormatException($"'{name}' is not a conformance format name (expected e.g. bs512-ms8-sep-pi1-pil0-pif0).");
        int Group(string g) => int.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture);
        return new ConformanceFormat(Group("bs"), Group("ms"), m.Groups["layout"].Value == "ext", (PiType)Group("pi"),
            Group("pil") == 1 ? PiLocation.First : PiLocation.Last, (PiGuardFormat)Group("pif"));
    }

    [GeneratedRegex(@"^bs(?<bs>512|4096)-ms(?<ms>0|8|16|64)-(?<layout>ext|sep)-pi(?<pi>[0-3])-pil(?<pil>[01])-pif(?<pif>[02])$")]
    private static partial Regex NamePattern();

    /// <summary>
    /// The PI formats QEMU 7.2 supports for one guard: pi 1/2/3 x pil 0/1 x mset 0/1 x metadata equal
    /// to and larger than the PI tuple, on 512 and 4096-byte blocks (64b guard: 4096 only, as the
    /// spec requires; QEMU also accepts 512, PI.md §9.4). QEMU reports STS 0 only (§2).
    /// </summary>
    public static IEnumerable<ConformanceFormat> PiMatrix(PiGuardFormat guard)
    {
        int[] blockSizes = guard == PiGuardFormat.Guard16 ? [512, 4096] : [4096];
        int[] metadataSizes = guard == PiGuardFormat.Guard16 ? [8, 64] : [16, 64];
        foreach (int bs in blockSizes)
            foreach (int ms in metadataSizes)
                foreach (bool extended in new[] { false, true })
                    foreach (PiType type in new[] { PiType.Type1, PiType.Type2, PiType.Type3 })
                        foreach (PiLocation location in new[] { PiLocation.Last, PiLocation.First })
                            yield return new ConformanceFormat(bs, ms, extended, type, location, guard);
    }
}

/// <summary>
/// One QEMU boot of scripts/qemu-test.sh: the namespace format QEMU starts with and the
/// controller's MDTS. Named like <c>bs4096-ms0-sep-pi0-pil0-pif0-mdts10</c> (the suffix only when
/// MDTS is not QEMU's default 7); the name is what the guest program is given.
/// </summary>
public sealed record ConformanceBoot(ConformanceFormat Namespace, int Mdts = ConformanceBoot.DefaultMdts)
{
    /// <summary>QEMU 7.2's default MDTS (2^7 pages of 4 KiB = 512 KiB), also the emulated controller's.</summary>
    public const int DefaultMdts = 7;

    /// <summary>
    /// The boots, one QEMU run each. From each, the guest walks the formats of the same guard the
    /// namespace offers. QEMU 7.2 marks only the started LBA format with pif=2, so each 64b-guard
    /// metadata size needs its own boot: 48 + 12 + 12 PI formats; the boot without PI raises MDTS
    /// to 4 MiB so transfers need chained PRP lists (more than 512 entries, Base §4.1.1).
    /// </summary>
    public static IReadOnlyList<ConformanceBoot> QemuBoots { get; } =
    [
        Parse("bs512-ms8-sep-pi1-pil0-pif0"),
        Parse("bs4096-ms16-ext-pi2-pil1-pif2"),
        Parse("bs4096-ms64-sep-pi3-pil0-pif2"),
        Parse("bs4096-ms0-sep-pi0-pil0-pif0-mdts10"),
    ];

    /// <summary>The boot's name.</summary>
    public string Name => Mdts == DefaultMdts ? Namespace.Name : $"{Namespace.Name}-mdts{Mdts}";

    /// <summary>QEMU <c>-device nvme</c> properties.</summary>
    public string QemuControllerProperties => $"mdts={Mdts}";

    /// <summary>Our emulated controller configured like this boot.</summary>
    public string EmulatedAddress => $"{Namespace.EmulatedAddress()},mdts={Mdts}";

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>Parses a <see cref="Name"/>.</summary>
    /// <exception cref="FormatException">Not a boot name.</exception>
    public static ConformanceBoot Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        int suffix = name.LastIndexOf("-mdts", StringComparison.Ordinal);
        if (suffix < 0) return new ConformanceBoot(ConformanceFormat.Parse(name));
        if (!int.TryParse(name.AsSpan(suffix + 5), NumberStyles.None, CultureInfo.InvariantCulture, out int mdts) || mdts is < 1 or > 10)
            throw new FormatException($"'{name}': the MDTS suffix must be -mdts1 .. -mdts10.");
        return new ConformanceBoot(ConformanceFormat.Parse(name[..suffix]), mdts);
    }
}
