using PolledNvme.Bench.Options;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// Get Log Page (NVMe Base 2.0 §5.16) as nvme-cli offers it: <c>pnvme get-log</c> (any log id,
/// hex dump or raw), <c>pnvme smart-log</c> and <c>pnvme error-log</c> (decoded, JSON or raw).
/// Logs larger than one transfer (MDTS) are read in pieces at increasing offsets (LPO), as
/// libnvme does; that needs the controller's extended Get Log Page support (LPA bit 2).
/// </summary>
internal static class LogCommands
{
    private const uint AllNamespaces = 0xFFFFFFFF;

    /// <summary>The largest log one command line reads (it is held in memory to be printed).</summary>
    public const uint MaxLogBytes = 1 << 30;

    internal static readonly ToolSpec GetLogSpec = new("get-log", "pnvme get-log <device> --log-id=ID --log-len=BYTES [OPTIONS]",
        "Get Log Page: any log page, as a hex dump (default) or raw bytes.",
        [
            ToolContext.Device,
            CliOption.Of("namespace-id", 'n', "NSID", "namespace (default 0xffffffff: all)"),
            CliOption.Of("log-id", 'i', "ID", "log page identifier (required)"),
            CliOption.Of("log-len", 'l', "BYTES", "bytes to read, a multiple of 4 (required)"),
            CliOption.Of("aen", 'a', "DW0", "an asynchronous event's result: takes the log id from it, 4096 bytes"),
            CliOption.Of("lpo", 'o', "NUM", "log page offset in bytes"),
            CliOption.Of("lsp", 's', "NUM", "log specific field"),
            CliOption.Of("lsi", 'S', "NUM", "log specific identifier"),
            CliOption.Flag("rae", 'r', "retain asynchronous event"),
            CliOption.Of("uuid-index", 'U', "NUM", "UUID index"),
            ToolContext.RawBinary,
            CliOption.Of("csi", 'y', "NUM", "command set identifier"),
            CliOption.Flag("ot", 'O', "offset type: LPO is an index, not bytes"),
        ]);

    internal static readonly ToolSpec SmartLogSpec = new("smart-log", "pnvme smart-log <device> [OPTIONS]",
        "SMART / Health Information log (02h): temperature, spare, wear, data and command counts, errors.",
        [
            ToolContext.Device,
            CliOption.Of("namespace-id", 'n', "NSID", "namespace (default 0xffffffff: the controller)"),
            ToolContext.OutputFormat, ToolContext.RawBinary,
            CliOption.Flag("human-readable", 'H', "decode the critical warning bits"),
        ]);

    internal static readonly ToolSpec ErrorLogSpec = new("error-log", "pnvme error-log <device> [OPTIONS]",
        "Error Information log (01h): the newest failed commands first.",
        [
            ToolContext.Device,
            CliOption.Of("log-entries", 'e', "NUM", "entries to read (default 64; at most the controller's ELPE + 1)"),
            ToolContext.OutputFormat, ToolContext.RawBinary,
        ]);

    public static int GetLog(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Run(GetLogSpec, args, stdout, a =>
    {
        var device = ToolContext.DeviceOf(a);
        uint aen = (uint)a.Number("aen", uint.MaxValue);
        byte lid;
        uint length;
        if (aen != 0)
        {
            lid = (byte)(aen >> 16);
            length = 4096;
        }
        else
        {
            if (a.Get("log-id") is null)
                throw new UsageException("--log-id", "is required (e.g. 2 for SMART / Health, 1 for Error Information)");
            lid = (byte)a.Number("log-id", byte.MaxValue);
            length = (uint)a.Number("log-len", uint.MaxValue);
        }
        if (length == 0)
            throw new UsageException("--log-len", "is required: the number of bytes to read");
        if (length % 4 != 0)
            throw new UsageException("--log-len", $"{length} is not a multiple of 4 (the command counts dwords)");
        if (length > MaxLogBytes)
            throw new UsageException("--log-len", $"{length} bytes is more than pnvme holds in memory for one log ({MaxLogBytes}); read it in pieces with --lpo");
        var request = new LogRequest(lid, (uint)a.Number("namespace-id", uint.MaxValue, AllNamespaces), length)
        {
            Offset = a.Suffixed("lpo"),
            Lsp = (byte)a.Number("lsp", 127),
            Lsi = (ushort)a.Number("lsi", ushort.MaxValue),
            RetainEvent = a.Has("rae"),
            UuidIndex = (byte)a.Number("uuid-index", 127),
            Csi = (byte)a.Number("csi", byte.MaxValue),
            OffsetIsIndex = a.Has("ot"),
        };
        using var controller = ToolContext.Open(device, c => Check(c, request));
        byte[] log = Read(controller, request);
        if (a.Has("raw-binary"))
        {
            ToolContext.WriteBinary(stdout, log);
        }
        else
        {
            stdout.WriteLine($"Device:{device.Text} log-id:{lid} namespace-id:{CliText.Hex(request.Nsid)}");
            CliText.HexDump(stdout, log);
        }
        return Cli.ExitOk;
    });

    public static int SmartLog(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Run(SmartLogSpec, args, stdout, a =>
    {
        var device = ToolContext.DeviceOf(a);
        var format = ToolContext.OutputOf(a);
        uint nsid = (uint)a.Number("namespace-id", uint.MaxValue, AllNamespaces);
        var request = new LogRequest((byte)LogPageId.SmartHealth, nsid, SmartHealthLog.Size);
        using var controller = ToolContext.Open(device, c => Check(c, request));
        byte[] log = Read(controller, request);
        SmartLogPrinter.Print(stdout, log, nsid, device.Text!, format, a.Has("human-readable"));
        return Cli.ExitOk;
    });

    public static int ErrorLog(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Run(ErrorLogSpec, args, stdout, a =>
    {
        var device = ToolContext.DeviceOf(a);
        var format = ToolContext.OutputOf(a);
        uint entries = (uint)a.Number("log-entries", uint.MaxValue, 64);
        if (entries == 0)
            throw new UsageException("--log-entries", "must be at least 1");
        // At most what the controller keeps, as nvme-cli does.
        LogRequest RequestFor(NvmeController c)
            => new((byte)LogPageId.ErrorInformation, AllNamespaces, Math.Min(entries, (uint)c.Identify.Elpe + 1) * ErrorInformationEntry.Size);
        using var controller = ToolContext.Open(device, c => Check(c, RequestFor(c)));
        byte[] log = Read(controller, RequestFor(controller));
        ErrorLogPrinter.Print(stdout, log, device.Text!, format);
        return Cli.ExitOk;
    });

    /// <summary>What one Get Log Page asks for (CDW10-14 fields).</summary>
    public sealed record LogRequest(byte LogId, uint Nsid, uint Length)
    {
        public ulong Offset { get; init; }
        public byte Lsp { get; init; }
        public ushort Lsi { get; init; }
        public bool RetainEvent { get; init; }
        public byte UuidIndex { get; init; }
        public byte Csi { get; init; }
        public bool OffsetIsIndex { get; init; }
    }

    /// <summary>
    /// Checks a request against what the controller supports; a usage error, before any Get Log
    /// Page (and on a probe, before an image is created).
    /// </summary>
    public static void Check(NvmeController controller, LogRequest r)
    {
        int chunk = controller.MaxAdminTransferBytes & ~3;
        bool extended = (controller.Identify.Lpa & (1 << 2)) != 0;
        if (r.Length > chunk && !extended)
            throw new UsageException("--log-len", $"{r.Length} bytes need several commands at increasing offsets, and the controller does not support the log page offset (LPA bit 2); read at most {chunk} bytes");
        if ((r.Offset != 0 || r.Lsi != 0 || r.Length > 4096) && !extended)
            throw new UsageException("--lpo", "the controller does not support extended Get Log Page fields (LPA bit 2): no offset, LSI or more than 4096 bytes");
    }

    /// <summary>Reads a log, in MDTS-sized pieces at increasing offsets when it is larger than one transfer.</summary>
    public static byte[] Read(NvmeController controller, LogRequest r)
    {
        Check(controller, r);
        int chunk = controller.MaxAdminTransferBytes & ~3;
        // Grown as pieces arrive: a large --log-len that the controller refuses at its second piece costs nothing.
        var log = new MemoryStream((int)Math.Min(r.Length, (uint)chunk));
        using DmaBuffer buffer = controller.Memory.Allocate((int)Math.Min(r.Length, (uint)chunk));
        for (uint done = 0; done < r.Length;)
        {
            uint bytes = Math.Min(r.Length - done, (uint)chunk);
            bool last = done + bytes == r.Length;
            uint numd = bytes / 4 - 1;
            ulong offset = r.Offset + (r.OffsetIsIndex ? 0 : done);
            buffer.Clear();
            var command = new SubmissionEntry
            {
                Opcode = (byte)AdminOpcode.GetLogPage,
                NamespaceId = r.Nsid,
                // CDW10: LID [7:0], LSP [14:8], RAE [15] (kept on all pieces but the last, as libnvme), NUMDL [31:16].
                Cdw10 = r.LogId | ((uint)r.Lsp << 8) | (r.RetainEvent || !last ? 1u << 15 : 0) | ((numd & 0xFFFF) << 16),
                Cdw11 = (numd >> 16) | ((uint)r.Lsi << 16),
                Cdw12 = (uint)offset,
                Cdw13 = (uint)(offset >> 32),
                Cdw14 = r.UuidIndex | (r.OffsetIsIndex ? 1u << 23 : 0) | ((uint)r.Csi << 24),
            };
            ToolContext.Admin(controller, command, buffer, (int)bytes, $"Get Log Page LID {r.LogId:X2}h, {bytes} bytes at offset {offset}");
            log.Write(buffer.Span[..(int)bytes]);
            done += bytes;
        }
        return log.ToArray();
    }
}
