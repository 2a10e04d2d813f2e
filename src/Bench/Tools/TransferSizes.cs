using PolledNvme.Bench.Options;
using PolledNvme.Driver;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// The byte counts of a read, write or compare and how <c>-z/--data-size</c> and
/// <c>-y/--metadata-size</c> are checked against them. nvme-cli (submit_io) sizes its buffer as
/// <c>(block-count + 1) x block size</c>; a smaller <c>-z</c> is rounded up with "Rounding data
/// size to fit block count", a larger one is used as it is, and the same for <c>-y</c> with MS.
/// Here the transfer is what the command moves (data, plus interleaved metadata on extended-LBA
/// formats unless PRACT strips it), and:
/// <list type="bullet">
/// <item>read: a short <c>-z</c>/<c>-y</c> is rounded up with nvme-cli's message and only
/// <c>-z</c> bytes of data are written out, as nvme-cli does;</item>
/// <item>write and compare: a short size is refused (nvme-cli would pad with zeros: it would store
/// or compare bytes nobody gave);</item>
/// <item>any command: a size beyond the transfer is refused (nvme-cli would silently drop the
/// extra input, or output zeros): the usual cause is a 1-based <c>-c</c>;</item>
/// <item>absent, they are the transfer (nvme-cli requires <c>-z</c>).</item>
/// </list>
/// </summary>
internal readonly record struct TransferSizes(long Data, long Metadata, long DataOut)
{
    /// <summary>Parses <c>-z</c> and <c>-y</c> alone, so a malformed one is refused before the device is opened.</summary>
    public static void CheckSyntax(NvmeCliArgs a)
    {
        _ = a.Suffixed("data-size");
        _ = a.Suffixed("metadata-size");
    }

    /// <summary>
    /// Works out and checks the sizes; <paramref name="metadataFile"/> is whether <c>-M</c> was
    /// given. nvme-cli's rounding message goes to <paramref name="notes"/>, printed by the caller
    /// once every check has passed.
    /// </summary>
    public static TransferSizes Check(NvmeCliArgs a, Namespace ns, BlockCommandFlags flags, bool read, bool metadataFile, TextWriter notes)
    {
        bool pract = flags.Pi.Pract;
        long data = ns.DataBytes(flags.Blocks, pract);
        long meta = ns.MetadataBytes(flags.Blocks, pract);
        long dataOut = data;
        string unit = ns.IsExtended && !ns.MetadataDropped(pract) ? $"{ns.BlockSize}+{ns.MetadataSize} (extended LBA)" : ns.BlockSize.ToString();
        if (a.Get("data-size") is not null && a.Suffixed("data-size") != 0)   // 0 is nvme-cli's "not given"
        {
            long asked = (long)Math.Min(a.Suffixed("data-size"), long.MaxValue);
            dataOut = Judge("--data-size", asked, data, flags.Blocks, unit, read, notes, "data");
        }
        bool metaGiven = a.Get("metadata-size") is not null && a.Suffixed("metadata-size") != 0;
        if (meta == 0 && (metaGiven || metadataFile))
        {
            string why = ns.MetadataSize == 0 ? "the format has no metadata"
                : ns.IsExtended ? "the format is extended LBA: metadata travels inside the data (count it in -z)"
                : "PRACT=1 with MS == PI size: the controller inserts and strips the metadata, none is transferred";
            throw new UsageException(metaGiven ? "--metadata-size" : "--metadata", why);
        }
        if (meta != 0)
        {
            if (!metaGiven && !metadataFile)
                throw new UsageException("--metadata", $"the format keeps metadata in a separate buffer ({meta} bytes for {flags.Blocks} blocks): give -M FILE, or -y {meta} to have it follow the data on {(read ? "stdout" : "stdin")}");
            if (metaGiven)
                Judge("--metadata-size", (long)Math.Min(a.Suffixed("metadata-size"), long.MaxValue), meta, flags.Blocks, ns.MetadataSize.ToString(), read, notes, "metadata");
        }
        return new TransferSizes(data, meta, dataOut);
    }

    private static long Judge(string flag, long asked, long needed, int blocks, string unit, bool read, TextWriter notes, string what)
    {
        if (asked == needed)
            return asked;
        if (asked > needed)
            throw new UsageException(flag, $"{asked} bytes is more than the {needed} the command transfers ({blocks} blocks of {unit} bytes; -c is 0's based: -c {blocks - 1} means {blocks} blocks)");
        if (!read)
            throw new UsageException(flag, $"{asked} bytes do not cover the {needed} the command transfers ({blocks} blocks of {unit} bytes); nvme-cli would pad the {what} with zeros");
        notes.WriteLine($"Rounding {what} size to fit block count ({needed} bytes)");
        return asked;
    }
}
