using System.Diagnostics;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Report;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// <c>pnvme read</c>, <c>write</c> and <c>compare</c> with nvme-cli's options and data rules: the
/// data holds what the command transfers (for extended-LBA formats each block's data followed by
/// its metadata, unless PRACT=1 and MS equals the PI size; for separate metadata the data, with
/// the metadata in <c>-M</c> or after the data on stdin/stdout). Without <c>-d</c> the data comes
/// from stdin (write, compare) or goes to stdout (read), byte for byte. <c>-z</c>/<c>-y</c> are
/// checked against the transfer (<see cref="TransferSizes"/>).
/// </summary>
internal static class BlockIoCommand
{
    private static ToolSpec Spec(string name, string description) => new(name, $"pnvme {name} <device> [OPTIONS]", description,
    [
        ToolContext.Device, ToolContext.NamespaceId, .. BlockCommandFlags.Range,
        CliOption.Of("data-size", 'z', "NUM", "bytes of data: (block-count + 1) x the transfer block size (optional: computed when absent)"),
        CliOption.Of("metadata-size", 'y', "NUM", "bytes of separate metadata: (block-count + 1) x MS"),
        CliOption.Of("data", 'd', "FILE", name == "read" ? "where the data goes (default: stdout)" : "the data to send (default: stdin)"),
        CliOption.Of("metadata", 'M', "FILE", "separate metadata file (default: after the data, when -y is given)"),
        .. BlockCommandFlags.Protection('g'), .. BlockCommandFlags.Unsupported,
        CliOption.Of("dir-type", 'T', "NUM", "not available: directives"),
        CliOption.Of("dir-spec", 'S', "NUM", "not available: directives"),
        CliOption.Of("dsm", 'D', "NUM", "not available: dataset management hints"),
        CliOption.Flag("show-command", 'v', "print the command before sending it"),
        CliOption.Flag("dry-run", 'w', "print the command and stop"),
        CliOption.Flag("latency", 't', "print the command's latency"),
        CliOption.Flag("force", '\0', "accepted for nvme-cli compatibility: pnvme always has the device to itself"),
        ToolContext.OutputFormatText,
    ]);

    internal static readonly ToolSpec ReadSpec = Spec("read", "Reads blocks into a file or stdout (binary).");
    internal static readonly ToolSpec WriteSpec = Spec("write", "Writes blocks from a file or stdin (binary).");
    internal static readonly ToolSpec CompareSpec = Spec("compare", "Compares blocks with a file or stdin; a difference fails with Compare Failure (SCT 2h, SC 85h).");

    public static int Read(string[] args, TextWriter stdout, TextWriter stderr) => Run(ReadSpec, NvmOpcode.Read, args, stdout, stderr);

    public static int Write(string[] args, TextWriter stdout, TextWriter stderr) => Run(WriteSpec, NvmOpcode.Write, args, stdout, stderr);

    public static int Compare(string[] args, TextWriter stdout, TextWriter stderr) => Run(CompareSpec, NvmOpcode.Compare, args, stdout, stderr);

    private static int Run(ToolSpec spec, NvmOpcode opcode, string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Run(spec, args, stdout, a =>
    {
        string name = spec.Name;
        bool toHost = opcode == NvmOpcode.Read;
        var device = ToolContext.DeviceOf(a);
        var format = ToolContext.OutputOf(a, binaryAllowed: false);
        BlockCommandFlags.RefuseUnsupported(a, "limited-retry", "force-unit-access", "dir-type", "dir-spec", "dsm");
        BlockCommandFlags.CheckSyntax(a);
        TransferSizes.CheckSyntax(a);
        uint? nsid = ToolContext.NamespaceIdOf(a);
        string? dataPath = a.Get("data");
        string? metaPath = a.Get("metadata");
        bool dataOnStdout = toHost && dataPath is null;
        if (dataOnStdout && format == ToolOutput.Json)
            throw new UsageException("--output-format", "json needs -d FILE: without it the data goes to stdout");
        if (toHost)
        {
            // What a read stores must never land on the device's own image or format record.
            ToolContext.CheckOutputs(device, ("--data", dataPath), ("--metadata", metaPath));
        }
        else
        {
            if (dataPath is not null) ToolContext.CheckInput("--data", dataPath);
            if (metaPath is not null) ToolContext.CheckInput("--metadata", metaPath);
        }
        // Text that would otherwise land inside binary data on stdout goes to stderr instead.
        TextWriter info = dataOnStdout ? stderr : stdout;
        bool dryRun = a.Has("dry-run");

        // The input (write, compare) is read once, in the checks: before an image is created or
        // re-laid, and before any command, so a short input is a usage error that changed nothing.
        Input? input = null;
        Plan Prepare(NvmeController controller, TextWriter notes)
        {
            var ns = ToolContext.PickNamespace(controller, nsid);
            if (opcode == NvmOpcode.Write && !dryRun)
                ToolContext.RequireWritable(ns, name);
            var flags = BlockCommandFlags.Parse(a, ns, notes);
            var sizes = TransferSizes.Check(a, ns, flags, toHost, metaPath is not null, notes);
            if (sizes.Data > controller.MaxTransferBytes)
                throw new UsageException("--block-count", $"{flags.Blocks} blocks transfer {sizes.Data} bytes, more than the controller's {controller.MaxTransferBytes} (MDTS)");
            if (!toHost)
                input ??= Input.Read(dataPath, metaPath, sizes);
            return new Plan(ns, flags, sizes);
        }

        using var controller = ToolContext.Open(device, c => Prepare(c, TextWriter.Null));
        // Notes are printed once every check has passed: a usage error stays one line.
        var notes = new StringWriter();
        var (ns, flags, sizes) = Prepare(controller, notes);
        stderr.Write(notes.ToString());
        var pi = flags.Pi;
        using var data = controller.Memory.Allocate((int)sizes.Data);
        using var meta = sizes.Metadata > 0 ? controller.Memory.Allocate((int)sizes.Metadata) : null;
        data.Clear();
        meta?.Clear();
        if (input is { } given)
        {
            given.Data.CopyTo(data.Span);
            given.Metadata.CopyTo(meta is null ? default : meta.Span);
        }
        if (a.Has("show-command") || dryRun)
            ShowCommand(info, opcode, ns, flags, data, meta);
        if (dryRun)
            return Cli.ExitOk;

        // Opened (and created when new) before the command, truncated only when the data arrives.
        using var dataFile = toHost && dataPath is not null ? OutputFile.Open("--data", dataPath) : null;
        using var metaFile = toHost && metaPath is not null ? OutputFile.Open("--metadata", metaPath) : null;
        using var queue = controller.CreateIoQueuePair(2);
        long start = Stopwatch.GetTimestamp();
        queue.Wait(opcode switch
        {
            NvmOpcode.Read => queue.ReadAsync(ns, flags.StartBlock, flags.Blocks, data, meta, in pi),
            NvmOpcode.Write => queue.WriteAsync(ns, flags.StartBlock, flags.Blocks, data, meta, in pi),
            _ => queue.CompareAsync(ns, flags.StartBlock, flags.Blocks, data, meta, in pi),
        });
        var latency = Stopwatch.GetElapsedTime(start);
        if (a.Has("latency"))
            info.WriteLine($" latency: {name}: {(long)latency.TotalMicroseconds} us");
        if (toHost)
        {
            // Like nvme-cli: -z bytes of data (fewer than were read only when -z was short), all the metadata.
            ReadOnlySpan<byte> dataOut = data.Span[..(int)sizes.DataOut];
            ReadOnlySpan<byte> metaOut = meta is null ? default : meta.Span[..(int)sizes.Metadata];
            if (dataFile is null)
            {
                using Stream output = ToolConsole.Current.OpenOutput(stdout);
                output.Write(dataOut);
                if (metaFile is null) output.Write(metaOut);
                output.Flush();
            }
            else
            {
                Write(dataFile, dataOut);
            }
            if (metaFile is not null)
                Write(metaFile, metaOut);
        }
        stderr.WriteLine($"{name}: Success");
        if (format == ToolOutput.Json)
        {
            ToolContext.WriteJson(stdout, w =>
            {
                w.WriteStartObject();
                w.WriteString("command", name);
                w.WriteString("status", "Success");
                w.WriteNumber("nsid", ns.Id);
                w.WriteNumber("start_block", flags.StartBlock);
                w.WriteNumber("blocks", flags.Blocks);
                w.WriteNumber("data_bytes", sizes.Data);
                w.WriteNumber("metadata_bytes", sizes.Metadata);
                w.WriteNumber("latency_us", latency.TotalMicroseconds);
                w.WriteEndObject();
            });
        }
        return Cli.ExitOk;
    });

    private readonly record struct Plan(Namespace Ns, BlockCommandFlags Flags, TransferSizes Sizes);

    /// <summary>What a write or compare sends: from <c>-d</c> (or stdin) and <c>-M</c> (or stdin, after the data).</summary>
    private sealed record Input(byte[] Data, byte[] Metadata)
    {
        public static Input Read(string? dataPath, string? metaPath, TransferSizes sizes)
        {
            var data = new byte[sizes.Data];
            var meta = new byte[sizes.Metadata];
            using Stream input = dataPath is null ? ToolConsole.Current.OpenInput() : ToolContext.OpenInput("--data", dataPath);
            ToolContext.ReadInput(input, data, "--data", dataPath ?? "stdin", "zeros");
            if (meta.Length > 0)
            {
                using Stream? metaFile = metaPath is null ? null : ToolContext.OpenInput("--metadata", metaPath);
                ToolContext.ReadInput(metaFile ?? input, meta, "--metadata", metaPath ?? "stdin (after the data)", "zeros");
            }
            return new Input(data, meta);
        }
    }

    private static void Write(OutputFile file, ReadOnlySpan<byte> bytes)
    {
        Stream stream = file.Begin();
        stream.Write(bytes);
        stream.Flush();
    }

    /// <summary>nvme-cli's <c>--show-command</c> listing of the fields the command carries.</summary>
    private static void ShowCommand(TextWriter o, NvmOpcode opcode, Namespace ns, BlockCommandFlags flags, DmaBuffer data, DmaBuffer? meta)
    {
        var pi = flags.Pi;
        int prinfo = (pi.Pract ? 8 : 0) | ((pi.Checks & Protection.PiChecks.Guard) != 0 ? 4 : 0)
            | ((pi.Checks & Protection.PiChecks.ApplicationTag) != 0 ? 2 : 0) | ((pi.Checks & Protection.PiChecks.ReferenceTag) != 0 ? 1 : 0);
        bool stc = (pi.Checks & Protection.PiChecks.StorageTag) != 0;
        // CDW12[31:16] as nvme-cli's "control": PRINFO [13:10], STC [8].
        int control = prinfo << 10 | (stc ? 1 << 8 : 0);
        o.WriteLine($"opcode       : {(byte)opcode:x2}");
        o.WriteLine($"nsid         : {ns.Id:x2}");
        o.WriteLine($"flags        : {0:x2}");
        o.WriteLine($"control      : {control:x4}");
        o.WriteLine($"nblocks      : {flags.Blocks - 1:x4}");
        o.WriteLine($"metadata     : {meta?.Iova ?? 0:x}");
        o.WriteLine($"addr         : {data.Iova:x}");
        o.WriteLine($"slba         : {flags.StartBlock:x}");
        o.WriteLine($"dsmgmt       : {0:x8}");
        o.WriteLine($"reftag       : {(ns.PiType == Protection.PiType.None ? 0 : ProtectionCommandFields.InitialReferenceTag(ns, in pi, flags.StartBlock)):x}");
        o.WriteLine($"apptag       : {pi.ApplicationTag:x4}");
        o.WriteLine($"appmask      : {pi.ApplicationTagMask:x4}");
        o.WriteLine($"storagetagcheck : {(stc ? 1 : 0):x4}");
        o.WriteLine($"storagetag      : {pi.StorageTag:x}");
        o.WriteLine($"pif             : {(int)ns.GuardFormat:x2}");
        o.WriteLine($"sts             : {ns.StorageTagSize:x2}");
    }
}
