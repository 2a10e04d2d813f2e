using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// <c>pnvme format</c>: Format NVM (NVM CS 1.0 §4.2) with nvme-cli's flags. <c>--ms</c> is MSET
/// (1 = metadata at the end of each block), not a metadata size: the size and the PI format
/// come from the chosen LBA format (see <c>pnvme id-ns</c>).
/// </summary>
internal static class FormatCommand
{
    public const string Usage = """
        usage: pnvme format --device DEV [--namespace-id N] --lbaf N [--pi 0-3] [--pil 0|1] [--ms 0|1] [--ses 0-2]
          --lbaf, -l N    LBA format index (0..63; see pnvme id-ns)
          --pi, -i N      protection information type: 0 off, 1, 2, 3
          --pil, -p 0|1   1 = PI in the first bytes of metadata (legacy), 0 = last
          --ms, -m 0|1    MSET: 1 = extended LBA (metadata after each block), 0 = separate buffer
          --ses, -s N     secure erase: 0 none, 1 user data, 2 cryptographic
        Destroys the namespace's data. On an emulated controller on a file (emu:PATH) the new
        format is recorded beside the image (PATH.pnvmefmt): open it again with a device string
        that names the same format (or add format=1 there to re-lay the image).
        exit codes: 0 ok; 1 the device or the command failed (status printed by name); 2 usage
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Guard("format", stderr, () =>
    {
        if (args.Contains("--help")) { stdout.WriteLine(Usage); return Cli.ExitOk; }
        var a = new ArgReader(args, [.. ToolContext.CommonValueFlags, "lbaf", "pi", "pil", "ms", "ses"], ["force"],
            new Dictionary<string, string>(ToolContext.CommonAliases) { ["l"] = "lbaf", ["i"] = "pi", ["p"] = "pil", ["m"] = "ms", ["s"] = "ses" });
        var (device, format, nsidFlag) = ToolContext.Common(a);
        int lbaf = (int)FioValues.ParseInteger("--lbaf", a.Get("lbaf") ?? throw new UsageException("--lbaf", "is required (see pnvme id-ns for the formats)"), 0, 63);
        int pi = a.Get("pi") is { } p ? (int)FioValues.ParseInteger("--pi", p, 0, 3) : 0;
        bool pil = a.Get("pil") is { } l && FioValues.ParseInteger("--pil", l, 0, 1) == 1;
        bool mset = a.Get("ms") is { } m && FioValues.ParseInteger("--ms", m, 0, 1) == 1;
        int ses = a.Get("ses") is { } s ? (int)FioValues.ParseInteger("--ses", s, 0, 2) : 0;

        using var controller = ToolContext.Open(DeviceSpec.ParseController(device), probe => Check(probe, nsidFlag, lbaf, pi));
        var ns = Check(controller, nsidFlag, lbaf, pi);
        controller.FormatNvm(ns.Id, lbaf, mset, pi, pil, ses);
        var after = controller.GetNamespace(ns.Id);
        if (format == OutputFormat.Json)
        {
            ToolContext.WriteJson(stdout, w =>
            {
                w.WriteStartObject();
                w.WriteString("command", "format");
                w.WriteString("status", "Success");
                w.WriteNumber("nsid", after.Id);
                w.WriteNumber("lbaf", after.FormatIndex);
                w.WriteNumber("block_size", after.BlockSize);
                w.WriteNumber("metadata_size", after.MetadataSize);
                w.WriteBoolean("extended_lba", after.IsExtended);
                w.WriteNumber("pi_type", (int)after.PiType);
                w.WriteBoolean("pi_first", after.PiLocation == Protection.PiLocation.First);
                w.WriteEndObject();
            });
        }
        else
        {
            stdout.WriteLine($"Success formatting namespace:{after.Id:x}");
            stdout.WriteLine(after.ToString());
        }
        return Cli.ExitOk;
    });

    private static Driver.Namespace Check(Driver.NvmeController controller, uint? nsidFlag, int lbaf, int pi)
    {
        var ns = ToolContext.PickNamespace(controller, nsidFlag);
        ToolContext.RequireWritable(ns, "format");
        if (lbaf >= ns.LbaFormats.Count)
            throw new UsageException("--lbaf", $"{lbaf} is not one of the namespace's formats 0..{ns.LbaFormats.Count - 1}");
        if (pi != 0 && ns.LbaFormats[lbaf].MetadataSize == 0)
            throw new UsageException("--pi", $"LBA format {lbaf} has no metadata to hold protection information");
        return ns;
    }
}
