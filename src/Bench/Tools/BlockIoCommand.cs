using System.Diagnostics;
using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;
using PolledNvme.Driver;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// <c>pnvme read</c> and <c>pnvme write</c> with nvme-cli's conventions: the data file holds
/// what the command transfers — for extended-LBA formats each block's data followed by its
/// metadata (unless PRACT=1 and MS equals the PI size, then data only), for separate-metadata
/// formats data only, with the metadata in <c>--metadata</c>.
/// </summary>
internal static class BlockIoCommand
{
    public const string Usage = """
        usage: pnvme read|write --device DEV [--namespace-id N] --start-block SLBA [--block-count NLB]
                              --data FILE [--metadata FILE] [--prinfo P] [--ref-tag R] [--app-tag A]
                              [--app-tag-mask M] [--storage-tag S] [--storage-tag-check]
                              [--output-format normal|json]
          -s, --start-block      first LBA
          -c, --block-count      number of blocks, 0's based as in nvme-cli (0 = one block)
          -d, --data FILE        write: data to send; read: where to store what was read
          -M, --metadata FILE    separate-metadata formats: metadata to send / store
          -p, --prinfo P         4 bits: 8 PRACT, 4 guard check, 2 app tag check, 1 ref tag check
          -r, --ref-tag R        initial reference tag (default: the low bits of SLBA)
          -a, --app-tag A        application tag;  -m, --app-tag-mask M: its mask (default 0xffff)
          -g, --storage-tag S    storage tag;  -C, --storage-tag-check: check it (STC)
        exit codes: 0 ok; 1 the device or the command failed (NVMe status printed by name); 2 usage
        """;

    public static int Read(string[] args, TextWriter stdout, TextWriter stderr) => Run("read", args, stdout, stderr);

    public static int Write(string[] args, TextWriter stdout, TextWriter stderr) => Run("write", args, stdout, stderr);

    private static int Run(string name, string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Guard(name, stderr, () =>
    {
        if (args.Contains("--help")) { stdout.WriteLine(Usage); return Cli.ExitOk; }
        bool write = name == "write";
        var a = new ArgReader(args, [.. ToolContext.CommonValueFlags, .. BlockCommandFlags.ValueFlags, "data", "metadata"],
            BlockCommandFlags.SwitchFlags, BlockCommandFlags.Aliases(("d", "data"), ("M", "metadata")));
        var (device, format, nsidFlag) = ToolContext.Common(a);
        var spec = DeviceSpec.ParseController(device);
        BlockCommandFlags.CheckSyntax(a);
        string dataPath = a.Get("data") ?? throw new UsageException("--data", write ? "is required: the file to write from" : "is required: the file to read into");
        string? metaPath = a.Get("metadata");
        if (write)
        {
            CheckInput("--data", dataPath);
            if (metaPath is not null) CheckInput("--metadata", metaPath);
        }
        else
        {
            // What a read stores must never land on the device's own image: it would be truncated.
            OutputPaths.Check([("--data", dataPath), ("--metadata", metaPath)], spec.DataFiles);
        }

        using var controller = ToolContext.Open(spec, probe => Check(probe, a, nsidFlag, write, dataPath, metaPath));
        var (ns, flags, dataBytes, metaBytes) = Check(controller, a, nsidFlag, write, dataPath, metaPath);
        var pi = flags.Pi;
        using var data = controller.Memory.Allocate((int)dataBytes);
        using var meta = metaBytes > 0 ? controller.Memory.Allocate((int)metaBytes) : null;
        if (write)
        {
            Load(dataPath, "--data", data.Span[..(int)dataBytes]);
            if (meta is not null) Load(metaPath!, "--metadata", meta.Span[..(int)metaBytes]);
        }
        using var queue = controller.CreateIoQueuePair(2);
        long start = Stopwatch.GetTimestamp();
        queue.Wait(write
            ? queue.WriteAsync(ns, flags.StartBlock, flags.Blocks, data, meta, in pi)
            : queue.ReadAsync(ns, flags.StartBlock, flags.Blocks, data, meta, in pi));
        var latency = Stopwatch.GetElapsedTime(start);
        if (!write)
        {
            File.WriteAllBytes(dataPath, data.Span[..(int)dataBytes].ToArray());
            if (meta is not null) File.WriteAllBytes(metaPath!, meta.Span[..(int)metaBytes].ToArray());
        }
        ToolContext.ReportBlockCommand(stdout, format, name, ns, flags, w =>
        {
            w.WriteNumber("data_bytes", dataBytes);
            w.WriteNumber("metadata_bytes", metaBytes);
            w.WriteNumber("latency_us", latency.TotalMicroseconds);
        });
        return Cli.ExitOk;
    });

    // Everything about the command line that needs the namespace: refused here, before any I/O.
    private static (Namespace Ns, BlockCommandFlags Flags, long DataBytes, long MetaBytes) Check(
        NvmeController controller, ArgReader a, uint? nsidFlag, bool write, string dataPath, string? metaPath)
    {
        var ns = ToolContext.PickNamespace(controller, nsidFlag);
        if (write) ToolContext.RequireWritable(ns, "write");
        var flags = BlockCommandFlags.Parse(a, ns);
        long dataBytes = ns.DataBytes(flags.Blocks, flags.Pi.Pract);
        long metaBytes = ns.MetadataBytes(flags.Blocks, flags.Pi.Pract);
        if (metaBytes == 0 && metaPath is not null)
            throw new UsageException("--metadata", ns.MetadataSize == 0 ? "the format has no metadata" : ns.IsExtended
                ? "the format is extended LBA: metadata travels inside --data" : "PRACT=1 with MS == PI size: the controller moves the metadata");
        if (metaBytes != 0 && metaPath is null)
            throw new UsageException("--metadata", $"the format keeps metadata in a separate buffer: give a file ({metaBytes} bytes)");
        if (dataBytes > controller.MaxTransferBytes)
            throw new UsageException("--block-count", $"{flags.Blocks} blocks transfer {dataBytes} bytes, more than the controller's {controller.MaxTransferBytes} (MDTS)");
        if (write)
        {
            CheckLength("--data", dataPath, dataBytes);
            if (metaBytes > 0) CheckLength("--metadata", metaPath!, metaBytes);
        }
        return (ns, flags, dataBytes, metaBytes);
    }

    private static void CheckLength(string flag, string path, long bytes)
    {
        long length = new FileInfo(path).Length;
        if (length < bytes)
            throw new UsageException(flag, $"'{path}' has {length} bytes; the command transfers {bytes}");
    }

    private static void CheckInput(string flag, string path)
    {
        if (path.Length == 0) throw new UsageException(flag, "needs a file name");
        if (Directory.Exists(path)) throw new UsageException(flag, $"'{path}' is a directory; give the file to write from");
        if (!File.Exists(path)) throw new UsageException(flag, $"'{path}' does not exist");
    }

    private static void Load(string path, string flag, Span<byte> target)
    {
        using var file = File.OpenRead(path);
        if (file.Length < target.Length)   // shrunk since Check
            throw new IOException($"{flag}: '{path}' has {file.Length} bytes now; the command transfers {target.Length}");
        file.ReadExactly(target);
    }
}
