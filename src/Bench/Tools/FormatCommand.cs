using PolledNvme.Bench.Options;
using PolledNvme.Driver;
using PolledNvme.Bench.Engines;
using PolledNvme.Emulation;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// <c>pnvme format</c>: Format NVM (NVM CS 1.0 §4.2) with nvme-cli's options. <c>--ms</c> is MSET
/// (1 = metadata at the end of each block), not a metadata size: the size and the PI format come
/// from the chosen LBA format (see <c>pnvme id-ns</c> / <c>nvm-id-ns</c>); without <c>--lbaf</c>
/// or <c>--block-size</c> the format in use is kept (a re-format). A namespace whose data outlives
/// this command (an existing <c>emu:</c> image, a <c>pci:</c> controller) is only formatted after
/// a yes at the terminal or with <c>--force</c>; with no terminal to ask, it is refused. nvme-cli
/// instead warns and formats after 10 seconds unless interrupted — unattended, that loses data.
/// </summary>
internal static class FormatCommand
{
    /// <summary>NSID that formats every namespace (broadcast).</summary>
    private const uint AllNamespaces = 0xFFFFFFFF;

    internal static readonly ToolSpec Spec = new("format", "pnvme format <device> [OPTIONS]",
        """
        Format NVM: erases the namespace's data, optionally with a new LBA format and PI settings.
        On an emulated controller on a file (emu:PATH) the new format is recorded beside the image
        (PATH.pnvmefmt): open it again by its path alone (or with a device string naming that format).
        Asks for confirmation at a terminal unless --force; refused without --force when no terminal can answer.
        """,
        [
            ToolContext.Device,
            CliOption.Of("namespace-id", 'n', "NSID", "namespace (default: the first active one; 0xffffffff: all)"),
            CliOption.Of("timeout", 't', "MS", "how long the command may take, milliseconds (default 600000)"),
            CliOption.Of("lbaf", 'l', "NUM", "LBA format index 0..63 (default: the one in use)"),
            CliOption.Of("ses", 's', "NUM", "secure erase: 0 none, 1 user data erase, 2 cryptographic erase"),
            CliOption.Of("pi", 'i', "NUM", "protection information: 0 off, 1, 2 or 3"),
            CliOption.Of("pil", 'p', "NUM", "PI location: 1 first bytes of metadata, 0 last"),
            CliOption.Of("ms", 'm', "NUM", "MSET: 1 extended LBA (metadata after each block), 0 separate buffer"),
            CliOption.Flag("reset", 'r', "reset the controller afterwards (implied: pnvme shuts the controller down when it exits)"),
            CliOption.Flag("force", '\0', "do not ask for confirmation"),
            CliOption.Of("block-size", 'b', "NUM", "pick the first LBA format with this data size and no metadata (instead of --lbaf)"),
            ToolContext.OutputFormatText,
        ]);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Run(Spec, args, stdout, a =>
    {
        var device = ToolContext.DeviceOf(a);
        var output = ToolContext.OutputOf(a, binaryAllowed: false);
        uint? nsidAsked = ToolContext.NamespaceIdOf(a);
        bool lbafGiven = a.Get("lbaf") is not null;
        int lbafAsked = (int)a.Number("lbaf", 63);
        ulong blockSize = a.Suffixed("block-size");
        if (lbafGiven && blockSize != 0)
            throw new UsageException("--block-size", "give --lbaf or --block-size, not both");
        if (blockSize != 0 && !ulong.IsPow2(blockSize))
            throw new UsageException("--block-size", $"{blockSize} is not a power of two");
        int pi = (int)a.Number("pi", 3);
        bool pil = a.Number("pil", 1) == 1;
        bool mset = a.Number("ms", 1) == 1;
        int ses = (int)a.Number("ses", 2);
        ulong timeoutMs = a.Number("timeout", uint.MaxValue, 600_000);
        if (timeoutMs == 0)
            throw new UsageException("--timeout", "must be at least 1 ms");
        bool askFirst = HoldsData(device) && !a.Has("force");

        // Everything that needs the namespace, then the confirmation: both before the image is
        // opened when opening writes it (created, or re-laid with format=1, which erases it too).
        (uint Nsid, Namespace Ns, int Lbaf) Check(NvmeController controller)
        {
            uint nsid = nsidAsked is AllNamespaces ? AllNamespaces : ToolContext.PickNamespace(controller, nsidAsked).Id;
            var ns = nsid == AllNamespaces ? controller.Namespaces[0] : controller.GetNamespace(nsid);
            foreach (var target in controller.Namespaces.Where(n => nsid == AllNamespaces || n.Id == nsid))
                ToolContext.RequireWritable(target, "format");
            int lbaf = lbafGiven ? lbafAsked : ns.FormatIndex;
            if (blockSize != 0)
            {
                int found = ns.LbaFormats.Select((f, i) => (f, i)).FirstOrDefault(x => (ulong)x.f.BlockSize == blockSize && x.f.MetadataSize == 0, (default!, -1)).i;
                if (found < 0)
                    throw new UsageException("--block-size", $"no LBA format has {blockSize}-byte blocks without metadata (see pnvme id-ns -H); give --lbaf");
                lbaf = found;
            }
            if (lbaf >= ns.LbaFormats.Count)
                throw new UsageException("--lbaf", $"{lbaf} is not one of the namespace's formats 0..{ns.LbaFormats.Count - 1}");
            if (pi != 0 && ns.LbaFormats[lbaf].MetadataSize == 0)
                throw new UsageException("--pi", $"LBA format {lbaf} has no metadata to hold protection information");
            if (askFirst)
            {
                Confirm(device.Text!, nsid, stderr);
                askFirst = false;
            }
            return (nsid, ns, lbaf);
        }

        var options = new NvmeControllerOptions { AdminTimeout = TimeSpan.FromMilliseconds(timeoutMs) };
        using var controller = ToolContext.Open(device, c => Check(c), options);
        var (nsid, ns, lbaf) = Check(controller);
        controller.FormatNvm(nsid, lbaf, mset, pi, pil, ses);
        var after = controller.GetNamespace(nsid == AllNamespaces ? ns.Id : nsid);
        if (output == ToolOutput.Json)
        {
            ToolContext.WriteJson(stdout, w =>
            {
                w.WriteStartObject();
                w.WriteString("command", "format");
                w.WriteString("status", "Success");
                w.WriteNumber("nsid", nsid);
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
            stdout.WriteLine($"Success formatting namespace:{nsid:x}");
            foreach (var n in controller.Namespaces.Where(n => nsid == AllNamespaces || n.Id == nsid))
                stdout.WriteLine(n.ToString());
        }
        return Cli.ExitOk;
    });

    /// <summary>
    /// Whether the namespace keeps data from before this command: an emu: image that exists and
    /// is not empty (also with <c>format=1</c>: opening it erases it), or a real controller.
    /// mem: and null: namespaces are created empty by it.
    /// </summary>
    public static bool HoldsData(DeviceSpec device) => device.Kind switch
    {
        DeviceKind.Emulated => device.Emulated!.Namespaces.Any(n => n.Backend == MediaBackendKind.File
            && n.FilePath is { } path && File.Exists(path) && new FileInfo(path).Length > 0),
        _ => true,
    };

    /// <summary>Asks at the terminal; a refusal, or no terminal to ask at, stops the command before anything changed.</summary>
    private static void Confirm(string device, uint nsid, TextWriter stderr)
    {
        var console = ToolConsole.Current;
        string what = nsid == AllNamespaces ? "all namespaces" : $"namespace {nsid}";
        if (!console.IsInteractive)
            throw new UsageException("--force", $"formatting {what} of {device} destroys its data, and there is no terminal to confirm it on: add --force to format anyway");
        stderr.WriteLine($"You are about to format {device}, {what}.");
        stderr.WriteLine("WARNING: Format irrevocably deletes the namespace's data.");
        stderr.Write("Format it? [y/N] ");
        stderr.Flush();
        string? answer = console.ReadAnswer()?.Trim();
        if (answer is not null && (answer.Equals("y", StringComparison.OrdinalIgnoreCase) || answer.Equals("yes", StringComparison.OrdinalIgnoreCase)))
            return;
        stderr.WriteLine();
        throw new OperationCanceledException("not confirmed; nothing was changed");
    }
}
