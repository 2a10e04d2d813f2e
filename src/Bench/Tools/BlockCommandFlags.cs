using PolledNvme.Bench.Options;
using PolledNvme.Driver;
using PolledNvme.Protection;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// The block-range and PI options the block commands share, as nvme-cli names them:
/// <c>-s/--start-block</c>, <c>-c/--block-count</c> (0's based like the NLB field: 0 is one block),
/// <c>-p/--prinfo</c> (4 bits: 8 PRACT, 4 guard, 2 app tag, 1 ref tag check), <c>-r/--ref-tag</c>,
/// <c>-a/--app-tag</c>, <c>-m/--app-tag-mask</c> (default 0, nvme-cli's: no bit compared), the
/// storage tag (<c>-g</c> on read/write/compare, <c>-S</c> on verify/write-zeroes, as in
/// nvme-cli) and <c>-C/--storage-tag-check</c>. The options PolledNvme's block API cannot express
/// (FUA, limited retry, directives, DSM hints) are listed so that they are refused by name.
/// </summary>
internal sealed record BlockCommandFlags(ulong StartBlock, int Blocks, IoProtectionOptions Pi)
{
    /// <summary>The range options.</summary>
    public static readonly CliOption[] Range =
    [
        CliOption.Of("start-block", 's', "NUM", "64-bit address of the first block (K/M/G suffixes allowed)"),
        CliOption.Of("block-count", 'c', "NUM", "number of blocks, 0's based (0 = one block)"),
    ];

    /// <summary>The PI options; <paramref name="storageTagShort"/> is 'g' (read/write/compare) or 'S' (verify, write-zeroes).</summary>
    public static CliOption[] Protection(char storageTagShort) =>
    [
        CliOption.Of("prinfo", 'p', "NUM", "PI action and checks: 8 PRACT, 4 guard, 2 app tag, 1 ref tag"),
        CliOption.Of("ref-tag", 'r', "NUM", "initial reference tag (default: the low bits of the start block)"),
        CliOption.Of("app-tag", 'a', "NUM", "application tag"),
        CliOption.Of("app-tag-mask", 'm', "NUM", "application tag mask: 1 bits are compared (default 0, as nvme-cli)"),
        CliOption.Of("storage-tag", storageTagShort, "NUM", "storage tag (formats with STS > 0)"),
        CliOption.Flag("storage-tag-check", 'C', "check the storage tag (STC)"),
    ];

    /// <summary>nvme-cli's FUA and limited-retry flags, which this tool refuses by name.</summary>
    public static readonly CliOption[] Unsupported =
    [
        CliOption.Flag("limited-retry", 'l', "not available (see below)"),
        CliOption.Flag("force-unit-access", 'f', "not available (see below)"),
    ];

    /// <summary>Why the options in <see cref="Unsupported"/> (and directives, DSM hints) are refused.</summary>
    public const string UnsupportedWhy =
        "PolledNvme's block API does not set FUA, limited retry, directives or DSM hints; send such a command with io-passthru";

    /// <summary>Refuses any of <paramref name="names"/> that was given, saying why.</summary>
    public static void RefuseUnsupported(NvmeCliArgs a, params string[] names)
    {
        foreach (string name in names)
            if (a.Given(name) && (a.Has(name) || a.Get(name) is not (null or "0")))
                throw new UsageException("--" + name, $"is not supported: {UnsupportedWhy}");
    }

    /// <summary>
    /// Parses the values alone (numbers and their widths), so a malformed one is refused before
    /// the device is opened; <see cref="Parse"/> then checks them against the namespace.
    /// </summary>
    public static void CheckSyntax(NvmeCliArgs a) => _ = ParseValues(a);

    private readonly record struct Values(ulong Slba, int Count, int Prinfo, ushort AppTag, ushort AppTagMask, ulong StorageTag, ulong? RefTag);

    private static Values ParseValues(NvmeCliArgs a) => new(
        a.Suffixed("start-block"),
        (int)a.Number("block-count", ushort.MaxValue) + 1,
        (int)a.Number("prinfo", 15),
        (ushort)a.Number("app-tag", ushort.MaxValue),
        (ushort)a.Number("app-tag-mask", ushort.MaxValue),
        a.Suffixed("storage-tag"),
        a.Get("ref-tag") is not null ? a.Suffixed("ref-tag") : null);

    /// <summary>
    /// Parses and checks the options against <paramref name="ns"/> (range inside it, PI options
    /// only with PI). Notes for the user go to <paramref name="notes"/>, which the caller prints
    /// once every check has passed (a usage error is one line).
    /// </summary>
    public static BlockCommandFlags Parse(NvmeCliArgs a, Namespace ns, TextWriter notes)
    {
        var v = ParseValues(a);
        ulong slba = v.Slba;
        int count = v.Count;
        // slba + count cannot wrap: slba < BlockCount is checked first.
        if (slba >= ns.BlockCount || slba + (ulong)count > ns.BlockCount)
            throw new UsageException(a.Given("block-count") ? "--block-count" : "--start-block",
                $"blocks {slba}..{slba + (ulong)count - 1} are not inside the namespace's {ns.BlockCount} blocks");
        int prinfo = v.Prinfo;
        bool stc = a.Has("storage-tag-check");
        bool pi = ns.PiType != PiType.None;
        string why = $"namespace {ns.Id} has no protection information";
        if (!pi)
        {
            if (prinfo != 0) throw new UsageException("--prinfo", why);
            foreach (var f in new[] { "ref-tag", "app-tag", "app-tag-mask", "storage-tag", "storage-tag-check" })
                if (a.Given(f)) throw new UsageException("--" + f, why);
        }
        if (stc && ns.StorageTagSize == 0)
            throw new UsageException("--storage-tag-check", "the format has no storage tag (STS = 0)");
        var checks = PiChecks.None;
        if ((prinfo & 4) != 0) checks |= PiChecks.Guard;
        if ((prinfo & 2) != 0) checks |= PiChecks.ApplicationTag;
        if ((prinfo & 1) != 0) checks |= PiChecks.ReferenceTag;
        if (stc) checks |= PiChecks.StorageTag;
        if ((checks & PiChecks.ApplicationTag) != 0 && v.AppTagMask == 0)
            notes.WriteLine("pnvme: note: --app-tag-mask is 0 (nvme-cli's default), so the application tag check compares no bit; give -m 0xffff to compare all of it");
        var options = new IoProtectionOptions
        {
            Pract = (prinfo & 8) != 0,
            Checks = checks,
            ApplicationTag = v.AppTag,
            ApplicationTagMask = v.AppTagMask,
            StorageTag = v.StorageTag,
        };
        if (v.RefTag is { } refTag)
        {
            if (ns.ReferenceTagBits < 64 && refTag >> ns.ReferenceTagBits != 0)
                throw new UsageException("--ref-tag", $"0x{refTag:x} does not fit the format's {ns.ReferenceTagBits}-bit reference tag");
            options = options with { ReferenceTag = refTag };
        }
        if (options.StorageTag != 0 && (ns.StorageTagSize == 0 || ns.StorageTagSize < 64 && options.StorageTag >> ns.StorageTagSize != 0))
            throw new UsageException("--storage-tag", $"0x{options.StorageTag:x} does not fit the format's {ns.StorageTagSize}-bit storage tag");
        return new BlockCommandFlags(slba, count, options);
    }
}
