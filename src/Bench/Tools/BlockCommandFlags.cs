using PolledNvme.Bench.Options;
using PolledNvme.Driver;
using PolledNvme.Protection;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// The block-range and PI flags the block tools share, with nvme-cli's names and short forms:
/// <c>--start-block/-s</c>, <c>--block-count/-c</c> (0's based, like nvme-cli and the NLB field:
/// 0 means one block), <c>--prinfo/-p</c> (4 bits: 3 PRACT, 2 guard, 1 app, 0 ref check),
/// <c>--ref-tag/-r</c>, <c>--app-tag/-a</c>, <c>--app-tag-mask/-m</c>, <c>--storage-tag/-g</c>,
/// <c>--storage-tag-check/-C</c>.
/// </summary>
internal sealed record BlockCommandFlags(ulong StartBlock, int Blocks, IoProtectionOptions Pi)
{
    public static readonly string[] ValueFlags = ["start-block", "block-count", "prinfo", "ref-tag", "app-tag", "app-tag-mask", "storage-tag"];
    public static readonly string[] SwitchFlags = ["storage-tag-check"];

    public static Dictionary<string, string> Aliases(params (string Short, string Long)[] more)
    {
        var d = new Dictionary<string, string>(ToolContext.CommonAliases)
        {
            ["s"] = "start-block", ["c"] = "block-count", ["p"] = "prinfo", ["r"] = "ref-tag",
            ["a"] = "app-tag", ["m"] = "app-tag-mask", ["g"] = "storage-tag", ["C"] = "storage-tag-check",
        };
        foreach (var (s, l) in more) d[s] = l;
        return d;
    }

    /// <summary>
    /// Parses the values alone (numbers, ranges of the fields), so a malformed one is refused
    /// before the device is opened; <see cref="Parse"/> then checks them against the namespace.
    /// </summary>
    public static void CheckSyntax(ArgReader a) => _ = ParseValues(a);

    private static (ulong Slba, int Count, int Prinfo, ushort AppTag, ushort AppTagMask, ulong StorageTag, ulong? RefTag) ParseValues(ArgReader a)
    {
        ulong slba = a.Get("start-block") is { } s ? FioValues.ParseUnsigned("--start-block", s) : 0;
        int count = a.Get("block-count") is { } c ? (int)FioValues.ParseInteger("--block-count", c, 0, 65535) + 1 : 1;
        int prinfo = a.Get("prinfo") is { } p ? (int)FioValues.ParseInteger("--prinfo", p, 0, 15) : 0;
        ushort appTag = a.Get("app-tag") is { } at ? (ushort)FioValues.ParseInteger("--app-tag", at, 0, 0xFFFF) : (ushort)0;
        ushort appTagMask = a.Get("app-tag-mask") is { } am ? (ushort)FioValues.ParseInteger("--app-tag-mask", am, 0, 0xFFFF) : (ushort)0xFFFF;
        ulong storageTag = a.Get("storage-tag") is { } st ? FioValues.ParseUnsigned("--storage-tag", st) : 0;
        ulong? refTag = a.Get("ref-tag") is { } rt ? FioValues.ParseUnsigned("--ref-tag", rt) : null;
        return (slba, count, prinfo, appTag, appTagMask, storageTag, refTag);
    }

    /// <summary>Parses and checks the flags against <paramref name="ns"/> (range inside it, PI flags only with PI).</summary>
    public static BlockCommandFlags Parse(ArgReader a, Namespace ns)
    {
        var (slba, count, prinfo, appTag, appTagMask, storageTag, refTagGiven) = ParseValues(a);
        // slba + count cannot wrap: slba < BlockCount is checked first.
        if (slba >= ns.BlockCount || slba + (ulong)count > ns.BlockCount)
            throw new UsageException(a.Given("block-count") ? "--block-count" : "--start-block",
                $"blocks {slba}..{slba + (ulong)count - 1} are not inside the namespace's {ns.BlockCount} blocks");
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
        var options = new IoProtectionOptions
        {
            Pract = (prinfo & 8) != 0,
            Checks = checks,
            ApplicationTag = appTag,
            ApplicationTagMask = appTagMask,
            StorageTag = storageTag,
        };
        if (refTagGiven is { } refTag)
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
