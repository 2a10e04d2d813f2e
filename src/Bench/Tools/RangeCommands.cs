using PolledNvme.Bench.Options;
using PolledNvme.Driver;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// The block commands that move no data: <c>pnvme write-zeroes</c> (Write Zeroes 08h),
/// <c>pnvme verify</c> (Verify 0Ch) and <c>pnvme flush</c> (Flush 00h), with nvme-cli's options
/// and success lines.
/// </summary>
internal static class RangeCommands
{
    internal static readonly ToolSpec WriteZeroesSpec = new("write-zeroes", "pnvme write-zeroes <device> [OPTIONS]",
        "Write Zeroes: the blocks read back as zeros. Only PRACT (8) is allowed in --prinfo: the command takes no PI checks.",
        [
            ToolContext.Device, ToolContext.NamespaceId, .. BlockCommandFlags.Range,
            CliOption.Flag("deac", 'd', "deallocate the blocks as well (DEAC)"),
            .. BlockCommandFlags.Protection('S'), .. BlockCommandFlags.Unsupported, ToolContext.OutputFormatText,
        ]);

    internal static readonly ToolSpec VerifySpec = new("verify", "pnvme verify <device> [OPTIONS]",
        "Verify: the controller reads the blocks and checks them (PI per --prinfo) without transferring data.",
        [
            ToolContext.Device, ToolContext.NamespaceId, .. BlockCommandFlags.Range,
            .. BlockCommandFlags.Protection('S'), .. BlockCommandFlags.Unsupported, ToolContext.OutputFormatText,
        ]);

    internal static readonly ToolSpec FlushSpec = new("flush", "pnvme flush <device> [OPTIONS]",
        "Flush: commits the volatile write cache of the namespace to the media.",
        [ToolContext.Device, ToolContext.NamespaceId]);

    public static int WriteZeroes(string[] args, TextWriter stdout, TextWriter stderr)
        => RunRange(WriteZeroesSpec, "NVME Write Zeroes Success", writes: true, args, stdout, stderr,
            flags =>
            {
                if (flags.Pi.Checks != Protection.PiChecks.None)
                    throw new UsageException(flags.Pi.Checks == Protection.PiChecks.StorageTag ? "--storage-tag-check" : "--prinfo",
                        "Write Zeroes takes no PI checks (PRCHK and STC must be 0)");
            },
            (queue, ns, flags, a) =>
            {
                var pi = flags.Pi;
                return queue.WriteZeroesAsync(ns, flags.StartBlock, flags.Blocks, in pi, a.Has("deac"));
            });

    public static int Verify(string[] args, TextWriter stdout, TextWriter stderr)
        => RunRange(VerifySpec, "NVME Verify Success", writes: false, args, stdout, stderr, _ => { }, (queue, ns, flags, _) =>
        {
            var pi = flags.Pi;
            return queue.VerifyAsync(ns, flags.StartBlock, flags.Blocks, in pi);
        });

    /// <summary>
    /// What write-zeroes and verify share: the device, the range and PI options (checked before
    /// any command, and before an image is created or re-laid), one command, nvme-cli's success line.
    /// </summary>
    private static int RunRange(ToolSpec spec, string successLine, bool writes, string[] args, TextWriter stdout, TextWriter stderr,
        Action<BlockCommandFlags> check, Func<IoQueuePair, Namespace, BlockCommandFlags, NvmeCliArgs, ValueTask> submit)
        => ToolContext.Run(spec, args, stdout, a =>
        {
            var device = ToolContext.DeviceOf(a);
            var format = ToolContext.OutputOf(a, binaryAllowed: false);
            BlockCommandFlags.RefuseUnsupported(a, "limited-retry", "force-unit-access");
            BlockCommandFlags.CheckSyntax(a);
            uint? nsid = ToolContext.NamespaceIdOf(a);
            (Namespace Ns, BlockCommandFlags Flags) Check(NvmeController controller, TextWriter notes)
            {
                var ns = ToolContext.PickNamespace(controller, nsid);
                if (writes)
                    ToolContext.RequireWritable(ns, spec.Name);
                var flags = BlockCommandFlags.Parse(a, ns, notes);
                check(flags);
                return (ns, flags);
            }
            using var controller = ToolContext.Open(device, c => Check(c, TextWriter.Null));
            // Notes are printed once every check has passed: a usage error stays one line.
            var notes = new StringWriter();
            var (ns, flags) = Check(controller, notes);
            stderr.Write(notes.ToString());
            using var queue = controller.CreateIoQueuePair(2);
            queue.Wait(submit(queue, ns, flags, a));
            Report(stdout, format, spec.Name, successLine, ns, flags.StartBlock, flags.Blocks);
            return Cli.ExitOk;
        });

    public static int Flush(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Run(FlushSpec, args, stdout, a =>
    {
        var device = ToolContext.DeviceOf(a);
        uint? nsid = ToolContext.NamespaceIdOf(a);
        using var controller = ToolContext.Open(device, c => ToolContext.PickNamespace(c, nsid));
        var ns = ToolContext.PickNamespace(controller, nsid);
        using var queue = controller.CreateIoQueuePair(2);
        queue.Wait(queue.FlushAsync(ns));
        stdout.WriteLine("NVMe Flush: success");
        return Cli.ExitOk;
    });

    /// <summary>nvme-cli's success line, or (pnvme's <c>-o json</c>) the command, namespace and range as JSON.</summary>
    public static void Report(TextWriter stdout, ToolOutput format, string command, string successLine, Namespace ns, ulong startBlock, long blocks)
    {
        if (format != ToolOutput.Json)
        {
            stdout.WriteLine(successLine);
            return;
        }
        ToolContext.WriteJson(stdout, w =>
        {
            w.WriteStartObject();
            w.WriteString("command", command);
            w.WriteString("status", "Success");
            w.WriteNumber("nsid", ns.Id);
            w.WriteNumber("start_block", startBlock);
            w.WriteNumber("blocks", blocks);
            w.WriteEndObject();
        });
    }
}
