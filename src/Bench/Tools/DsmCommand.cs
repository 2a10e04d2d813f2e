using PolledNvme.Bench.Options;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// <c>pnvme dsm</c>: Dataset Management (09h, NVM CS 1.0 §3.2.2) as nvme-cli takes it: ranges
/// as comma-separated lists <c>--slbs</c> (start LBAs), <c>--blocks</c> (lengths in blocks,
/// 1-based as in the range descriptor) and optional <c>--ctx-attrs</c>; the attributes as flags
/// <c>--ad</c>, <c>--idw</c>, <c>--idr</c> or all of CDW11 with <c>-c/--cdw11</c>. Stricter than
/// nvme-cli: the lists must have the same length (nvme-cli fills missing values with 0), every
/// range must lie inside the namespace and hold at least one block, and <c>--cdw11</c> together
/// with an attribute flag is refused (nvme-cli ignores the flags then).
/// </summary>
internal static class DsmCommand
{
    /// <summary>Ranges one command carries at most (NR is 8 bits, 0's based).</summary>
    public const int MaxRanges = 256;

    internal static readonly ToolSpec Spec = new("dsm", "pnvme dsm <device> [OPTIONS]",
        """
        Dataset Management: attributes for ranges of blocks. With --ad the ranges are deallocated
        (they read back as the namespace's DLFEAT says: zeros here); --idw/--idr are hints.
        Example: pnvme dsm DEV --ad --slbs 0,1000 --blocks 8,16   (blocks 0-7 and 1000-1015)
        """,
        [
            ToolContext.Device, ToolContext.NamespaceId,
            CliOption.Of("ctx-attrs", 'a', "LIST", "context attributes of each range (comma-separated)"),
            CliOption.Of("blocks", 'b', "LIST", "length of each range in blocks, 1-based (comma-separated)"),
            CliOption.Of("slbs", 's', "LIST", "first block of each range (comma-separated)"),
            CliOption.Flag("ad", 'd', "attribute deallocate"),
            CliOption.Flag("idw", 'w', "attribute integral dataset for write"),
            CliOption.Flag("idr", 'r', "attribute integral dataset for read"),
            CliOption.Of("cdw11", 'c', "NUM", "all of command dword 11 (the attributes), instead of --ad/--idw/--idr"),
            CliOption.Flag("deallocate", '\0', "same as --ad (pnvme's earlier name)"),
            ToolContext.OutputFormatText,
        ]);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Run(Spec, args, stdout, a =>
    {
        var device = ToolContext.DeviceOf(a);
        var format = ToolContext.OutputOf(a, binaryAllowed: false);
        uint? nsid = ToolContext.NamespaceIdOf(a);
        var slbs = a.List("slbs", ulong.MaxValue, MaxRanges);
        var blocks = a.List("blocks", uint.MaxValue, MaxRanges);
        var contexts = a.List("ctx-attrs", uint.MaxValue, MaxRanges);
        int count = Math.Max(slbs.Count, Math.Max(blocks.Count, contexts.Count));
        if (count == 0)
            throw new UsageException("--slbs", "no range given: --slbs and --blocks list the ranges (e.g. --slbs 0,100 --blocks 8,8)");
        if (slbs.Count != count || blocks.Count != count || (contexts.Count != 0 && contexts.Count != count))
            throw new UsageException(slbs.Count != count ? "--slbs" : blocks.Count != count ? "--blocks" : "--ctx-attrs",
                $"the lists must have one value per range: --slbs has {slbs.Count}, --blocks {blocks.Count}, --ctx-attrs {contexts.Count} (nvme-cli would fill the missing ones with 0)");
        bool ad = a.Has("ad") || a.Has("deallocate");
        uint cdw11 = (uint)a.Number("cdw11", uint.MaxValue);
        if (cdw11 != 0 && (ad || a.Has("idw") || a.Has("idr")))
            throw new UsageException("--cdw11", "gives all the attributes: leave out --ad/--idw/--idr (or drop --cdw11)");
        if (cdw11 == 0)
            cdw11 = (ad ? CommandFields.DsmAttributeDeallocate : 0) | (a.Has("idw") ? 1u << 1 : 0) | (a.Has("idr") ? 1u : 0);
        for (int i = 0; i < count; i++)
        {
            if (blocks[i] == 0)
                throw new UsageException("--blocks", $"range {i + 1} has 0 blocks (--blocks counts blocks, 1-based)");
        }

        (Namespace Ns, DatasetRange[] Ranges) Check(NvmeController controller)
        {
            var ns = ToolContext.PickNamespace(controller, nsid);
            if ((cdw11 & CommandFields.DsmAttributeDeallocate) != 0)
                ToolContext.RequireWritable(ns, "dsm --ad");
            var ranges = new DatasetRange[count];
            for (int i = 0; i < count; i++)
            {
                if (slbs[i] >= ns.BlockCount || blocks[i] > ns.BlockCount - slbs[i])
                    throw new UsageException("--slbs", $"range {i + 1} (blocks {slbs[i]}..{slbs[i] + blocks[i] - 1}) is not inside the namespace's {ns.BlockCount} blocks");
                ranges[i] = new DatasetRange(slbs[i], (uint)blocks[i], contexts.Count == 0 ? 0 : (uint)contexts[i]);
            }
            return (ns, ranges);
        }

        using var controller = ToolContext.Open(device, c => Check(c));
        var (ns, ranges) = Check(controller);
        using var list = controller.Memory.Allocate(count * DatasetRange.Size);
        list.Clear();
        for (int i = 0; i < count; i++)
            ranges[i].Write(list.Span, i);
        using var queue = controller.CreateIoQueuePair(2);
        if (cdw11 == CommandFields.DsmAttributeDeallocate)
        {
            queue.Wait(queue.DeallocateAsync(ns, list, count));
        }
        else
        {
            // Other attribute sets have no typed call; the library builds the PRPs for the range list.
            var command = new SubmissionEntry
            {
                Opcode = (byte)NvmOpcode.DatasetManagement,
                NamespaceId = ns.Id,
                Cdw10 = (uint)(count - 1),
                Cdw11 = cdw11,
            };
            queue.Wait(queue.SubmitRawAsync(command, list, count * DatasetRange.Size));
        }
        if (format == ToolOutput.Json)
        {
            ToolContext.WriteJson(stdout, w =>
            {
                w.WriteStartObject();
                w.WriteString("command", "dsm");
                w.WriteString("status", "Success");
                w.WriteNumber("nsid", ns.Id);
                w.WriteNumber("cdw11", cdw11);
                w.WriteStartArray("ranges");
                foreach (var r in ranges)
                {
                    w.WriteStartObject();
                    w.WriteNumber("slba", r.StartLba);
                    w.WriteNumber("nlb", r.BlockCount);
                    w.WriteNumber("cattr", r.ContextAttributes);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
        }
        else
        {
            stdout.WriteLine("NVMe DSM: success");
        }
        return Cli.ExitOk;
    });
}
