using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;
using PolledNvme.Driver;

namespace PolledNvme.Bench.Tools;

/// <summary><c>pnvme write-zeroes</c> (Write Zeroes 08h) and <c>pnvme dsm --deallocate</c> (Dataset Management 09h, AD).</summary>
internal static class RangeCommands
{
    public const string WriteZeroesUsage = """
        usage: pnvme write-zeroes --device DEV [--namespace-id N] --start-block SLBA [--block-count NLB]
                                  [--deac] [--prinfo P] [--ref-tag R] [--app-tag A] [--app-tag-mask M] [--storage-tag S]
          -c, --block-count  0's based (0 = one block);  -d, --deac: deallocate as well
          --prinfo: only PRACT (8) is allowed: Write Zeroes takes no PRCHK (NVM CS; the command would fail)
        exit codes: 0 ok; 1 the device or the command failed (NVMe status printed by name); 2 usage
        """;

    public const string DsmUsage = """
        usage: pnvme dsm --device DEV [--namespace-id N] --deallocate --start-block SLBA [--block-count NLB]
          -d, --deallocate   the attribute (AD); it is the one this tool sends, and required
          -c, --block-count  0's based (0 = one block), as for read/write
        exit codes: 0 ok; 1 the device or the command failed (NVMe status printed by name); 2 usage
        """;

    public static int WriteZeroes(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Guard("write-zeroes", stderr, () =>
    {
        if (args.Contains("--help")) { stdout.WriteLine(WriteZeroesUsage); return Cli.ExitOk; }
        var a = new ArgReader(args, [.. ToolContext.CommonValueFlags, .. BlockCommandFlags.ValueFlags],
            [.. BlockCommandFlags.SwitchFlags, "deac"], BlockCommandFlags.Aliases(("d", "deac")));
        var (device, format, nsidFlag) = ToolContext.Common(a);
        BlockCommandFlags.CheckSyntax(a);
        using var controller = ToolContext.Open(DeviceSpec.ParseController(device), probe => CheckWriteZeroes(probe, a, nsidFlag));
        var (ns, flags) = CheckWriteZeroes(controller, a, nsidFlag);
        using var queue = controller.CreateIoQueuePair(2);
        var pi = flags.Pi;
        queue.Wait(queue.WriteZeroesAsync(ns, flags.StartBlock, flags.Blocks, in pi, a.Has("deac")));
        ToolContext.ReportBlockCommand(stdout, format, "write-zeroes", ns, flags);
        return Cli.ExitOk;
    });

    public static int Dsm(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Guard("dsm", stderr, () =>
    {
        if (args.Contains("--help")) { stdout.WriteLine(DsmUsage); return Cli.ExitOk; }
        var a = new ArgReader(args, [.. ToolContext.CommonValueFlags, "start-block", "block-count"], ["deallocate"],
            new Dictionary<string, string>(ToolContext.CommonAliases) { ["s"] = "start-block", ["c"] = "block-count", ["d"] = "deallocate", ["ad"] = "deallocate" });
        var (device, format, nsidFlag) = ToolContext.Common(a);
        if (!a.Has("deallocate"))
            throw new UsageException("--deallocate", "is required: deallocate (AD) is the Dataset Management attribute this tool sends");
        BlockCommandFlags.CheckSyntax(a);
        using var controller = ToolContext.Open(DeviceSpec.ParseController(device), probe => CheckDsm(probe, a, nsidFlag));
        var (ns, flags) = CheckDsm(controller, a, nsidFlag);
        using var queue = controller.CreateIoQueuePair(2);
        queue.Wait(queue.DeallocateAsync(ns, flags.StartBlock, flags.Blocks));
        ToolContext.ReportBlockCommand(stdout, format, "dsm", ns, flags);
        return Cli.ExitOk;
    });

    private static (Namespace Ns, BlockCommandFlags Flags) CheckWriteZeroes(NvmeController controller, ArgReader a, uint? nsidFlag)
    {
        var ns = ToolContext.PickNamespace(controller, nsidFlag);
        ToolContext.RequireWritable(ns, "write-zeroes");
        var flags = BlockCommandFlags.Parse(a, ns);
        if (flags.Pi.Checks != Protection.PiChecks.None)
            throw new UsageException(flags.Pi.Checks == Protection.PiChecks.StorageTag ? "--storage-tag-check" : "--prinfo",
                "Write Zeroes takes no PI checks (PRCHK and STC must be 0)");
        return (ns, flags);
    }

    private static (Namespace Ns, BlockCommandFlags Flags) CheckDsm(NvmeController controller, ArgReader a, uint? nsidFlag)
    {
        var ns = ToolContext.PickNamespace(controller, nsidFlag);
        ToolContext.RequireWritable(ns, "dsm --deallocate");
        return (ns, BlockCommandFlags.Parse(a, ns));
    }
}
