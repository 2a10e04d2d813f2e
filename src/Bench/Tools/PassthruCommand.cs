using System.Diagnostics;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Report;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// <c>pnvme admin-passthru</c> and <c>pnvme io-passthru</c>: a command built from the command
/// line, sent through the library's raw paths (<see cref="NvmeController.ExecuteAdminRaw"/>, and
/// <see cref="IoQueuePair.SubmitRaw"/> on a queue pair of its own), which build the PRPs for the
/// data buffer. nvme-cli's options and output: the opcode's low bits give the direction
/// (bit 0 host to controller, bit 1 controller to host) unless <c>--read</c>/<c>--write</c> say
/// it; data from <c>--input-file</c> or stdin, results as a hex dump, raw (<c>-b</c>) or into
/// <c>--input-file</c>. Not carried: a separate metadata buffer (the raw paths have none), SGLs
/// (PSDT) and a caller-chosen command identifier (the driver assigns it).
/// </summary>
internal static class PassthruCommand
{
    private static ToolSpec Spec(string name, string description) => new(name, $"pnvme {name} <device> --opcode=OP [OPTIONS]", description,
    [
        ToolContext.Device,
        CliOption.Of("opcode", 'o', "OP", "opcode (required)"),
        CliOption.Of("flags", 'f', "NUM", "command dword 0 bits 15:8 (FUSE; PSDT must stay 0)"),
        CliOption.Of("prefill", 'p', "BYTE", "fill the buffers with this byte first (default 0)"),
        CliOption.Of("rsvd", 'R', "NUM", "not supported: command dword 0 bits 31:16 are the command identifier, which the driver assigns"),
        CliOption.Of("namespace-id", 'n', "NSID", "namespace identifier (default 0)"),
        CliOption.Of("data-len", 'l', "BYTES", "data buffer length"),
        CliOption.Of("metadata-len", 'm', "BYTES", "not supported: the raw paths carry no separate metadata buffer"),
        CliOption.Of("timeout", 't', "MS", "how long to wait for the completion, milliseconds"),
        CliOption.Of("cdw2", '2', "NUM", "command dword 2"),
        CliOption.Of("cdw3", '3', "NUM", "command dword 3"),
        CliOption.Of("cdw10", '4', "NUM", "command dword 10"),
        CliOption.Of("cdw11", '5', "NUM", "command dword 11"),
        CliOption.Of("cdw12", '6', "NUM", "command dword 12"),
        CliOption.Of("cdw13", '7', "NUM", "command dword 13"),
        CliOption.Of("cdw14", '8', "NUM", "command dword 14"),
        CliOption.Of("cdw15", '9', "NUM", "command dword 15"),
        CliOption.Of("input-file", 'i', "FILE", "data to send (write; default stdin), or where received data goes (read)"),
        CliOption.Of("metadata", 'M', "FILE", "not supported (see --metadata-len)"),
        ToolContext.RawBinary,
        CliOption.Flag("show-command", 's', "print the command before sending it"),
        CliOption.Flag("dry-run", 'd', "print the command and stop"),
        CliOption.Flag("read", 'r', "data goes from the controller to the host"),
        CliOption.Flag("write", 'w', "data goes from the host to the controller"),
        CliOption.Flag("latency", 'T', "print the command's latency"),
    ]);

    internal static readonly ToolSpec AdminSpec = Spec("admin-passthru", "Sends an admin command built from the options, and shows its result.");
    internal static readonly ToolSpec IoSpec = Spec("io-passthru", "Sends an I/O command built from the options on a queue pair of its own, and shows its result.");

    public static int Admin(string[] args, TextWriter stdout, TextWriter stderr) => Run(AdminSpec, admin: true, args, stdout, stderr);

    public static int Io(string[] args, TextWriter stdout, TextWriter stderr) => Run(IoSpec, admin: false, args, stdout, stderr);

    private static int Run(ToolSpec spec, bool admin, string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Run(spec, args, stdout, a =>
    {
        var device = ToolContext.DeviceOf(a);
        if (a.Get("opcode") is null)
            throw new UsageException("--opcode", "is required");
        byte opcode = (byte)a.Number("opcode", byte.MaxValue);
        if (admin && opcode == (byte)AdminOpcode.AsynchronousEventRequest)
            throw new UsageException("--opcode", "0x0c is Asynchronous Event Request: it completes only when an event occurs, and the controller pnvme opens lives for this one command, so it could only time out");
        if (admin && opcode == (byte)AdminOpcode.DoorbellBufferConfig)
            throw new UsageException("--opcode", "0x7c is Doorbell Buffer Config: the driver sends it itself when the controller offers shadow doorbells (the controller would otherwise read doorbells from this command's buffer after it is freed); dbbuf=0 in a pci: device string turns them off");
        byte flags = (byte)a.Number("flags", byte.MaxValue);
        if ((flags & 0xC0) != 0)
            throw new UsageException("--flags", "PSDT (bits 7:6) must be 0: the driver describes the data with PRPs");
        if (a.Number("rsvd", ushort.MaxValue) != 0)
            throw new UsageException("--rsvd", "command dword 0 bits 31:16 hold the command identifier, which the driver assigns");
        if (a.Number("metadata-len", uint.MaxValue) != 0 || a.Get("metadata") is not null)
            throw new UsageException(a.Get("metadata") is not null ? "--metadata" : "--metadata-len",
                "the raw command paths carry no separate metadata buffer; use read/write/compare with -M for separate metadata");
        bool write = a.Has("write") || (opcode & 1) != 0;
        bool read = a.Has("read") || (opcode & 2) != 0;
        uint dataLen = (uint)a.Number("data-len", uint.MaxValue);
        if (dataLen != 0 && !read && !write)
            throw new UsageException("--data-len", "the data direction is not known: add --read or --write (the opcode's bits 1:0 are 00b)");
        byte prefill = (byte)a.Number("prefill", byte.MaxValue);
        ulong timeoutMs = a.Number("timeout", uint.MaxValue);
        string? file = a.Get("input-file");
        bool fileIn = file is not null && write && dataLen > 0;
        bool fileOut = file is not null && read && dataLen > 0;
        if (fileIn)
            ToolContext.CheckInput("--input-file", file!);
        if (fileOut)
        {
            // What the controller returns lands in the file: never on the device's image or its format record.
            ToolContext.CheckOutputs(device, ("--input-file", file));
        }
        var command = new SubmissionEntry
        {
            Opcode = opcode,
            Flags = flags,
            NamespaceId = (uint)a.Number("namespace-id", uint.MaxValue),
            Cdw2 = (uint)a.Number("cdw2", uint.MaxValue),
            Cdw3 = (uint)a.Number("cdw3", uint.MaxValue),
            Cdw10 = (uint)a.Number("cdw10", uint.MaxValue),
            Cdw11 = (uint)a.Number("cdw11", uint.MaxValue),
            Cdw12 = (uint)a.Number("cdw12", uint.MaxValue),
            Cdw13 = (uint)a.Number("cdw13", uint.MaxValue),
            Cdw14 = (uint)a.Number("cdw14", uint.MaxValue),
            Cdw15 = (uint)a.Number("cdw15", uint.MaxValue),
        };

        // The data to send is read once, in the checks: before an image is created or re-laid and
        // before any command, so a short input is a usage error that changed nothing.
        byte[]? payload = null;
        void Prepare(NvmeController controller)
        {
            int limit = admin ? controller.MaxAdminTransferBytes : controller.MaxTransferBytes;
            if (dataLen > limit)
                throw new UsageException("--data-len", $"{dataLen} bytes is more than one {(admin ? "admin" : "I/O")} command transfers on this controller ({limit})");
            if (payload is null)
            {
                payload = new byte[dataLen];
                payload.AsSpan().Fill(prefill);
                if (write && dataLen > 0)
                    Load(file, payload);
            }
        }

        var options = admin && timeoutMs != 0 ? new NvmeControllerOptions { AdminTimeout = TimeSpan.FromMilliseconds(timeoutMs) } : null;
        using var controller = ToolContext.Open(device, Prepare, options);
        Prepare(controller);
        using DmaBuffer? data = dataLen > 0 ? controller.Memory.Allocate((int)dataLen) : null;
        payload!.CopyTo(data is null ? default : data.Span);
        if (a.Has("show-command") || a.Has("dry-run"))
            Show(stdout, command, dataLen, data, timeoutMs);
        if (a.Has("dry-run"))
            return Cli.ExitOk;

        using var output = fileOut ? OutputFile.Open("--input-file", file!) : null;
        string name = CommandName(admin, opcode);
        long start = Stopwatch.GetTimestamp();
        (NvmeStatus status, uint result) = admin
            ? Admin(controller, command, data, dataLen)
            : Io(controller, command, data, dataLen, timeoutMs == 0 ? null : TimeSpan.FromMilliseconds(timeoutMs));
        var latency = Stopwatch.GetElapsedTime(start);
        if (a.Has("latency"))
            stdout.WriteLine($"{(admin ? "Admin" : "IO")} Command {name} latency: {(long)latency.TotalMicroseconds} us");
        if (!status.IsSuccess)
            throw new NvmeException(status, opcode, admin, command.NamespaceId, detail: $"{(admin ? "admin" : "I/O")} passthru opcode {opcode:X2}h");
        stderr.WriteLine($"{(admin ? "Admin" : "IO")} Command {name} is Success and result: 0x{result:x8}");
        if (data is not null && read)
        {
            ReadOnlySpan<byte> received = data.Span[..(int)dataLen];
            if (output is not null)
            {
                Stream stream = output.Begin();
                stream.Write(received);
                stream.Flush();
            }
            else if (a.Has("raw-binary"))
                ToolContext.WriteBinary(stdout, received);
            else
                CliText.HexDump(stdout, received);
        }
        return Cli.ExitOk;
    });

    private static (NvmeStatus, uint) Admin(NvmeController controller, in SubmissionEntry command, DmaBuffer? data, uint dataLen)
    {
        CompletionEntry cqe = controller.ExecuteAdminRaw(command, data, (int)dataLen);
        return (new NvmeStatus(cqe.Status), cqe.Result);
    }

    private static (NvmeStatus, uint) Io(NvmeController controller, in SubmissionEntry command, DmaBuffer? data, uint dataLen, TimeSpan? timeout)
    {
        using var queue = controller.CreateIoQueuePair(2);
        var done = new Completion();
        queue.SubmitRaw(command, data, (int)dataLen, static (state, in result) =>
        {
            var c = (Completion)state!;
            c.Status = result.Status;
            c.Result = result.Dword0;
        }, done);
        queue.Drain(timeout);
        return (done.Status, done.Result);
    }

    private sealed class Completion
    {
        public NvmeStatus Status;
        public uint Result;
    }

    private static void Load(string? file, Span<byte> target)
    {
        using Stream input = file is null ? ToolConsole.Current.OpenInput() : ToolContext.OpenInput("--input-file", file);
        ToolContext.ReadInput(input, target, "--data-len", file ?? "stdin", "the --prefill byte");
    }

    /// <summary>nvme-cli's <c>--show-command</c> listing.</summary>
    private static void Show(TextWriter o, in SubmissionEntry c, uint dataLen, DmaBuffer? data, ulong timeoutMs)
    {
        o.WriteLine($"opcode       : {c.Opcode:x2}");
        o.WriteLine($"flags        : {c.Flags:x2}");
        o.WriteLine($"rsvd1        : {0:x4}");
        o.WriteLine($"nsid         : {c.NamespaceId:x8}");
        o.WriteLine($"cdw2         : {c.Cdw2:x8}");
        o.WriteLine($"cdw3         : {c.Cdw3:x8}");
        o.WriteLine($"data_len     : {dataLen:x8}");
        o.WriteLine($"metadata_len : {0:x8}");
        o.WriteLine($"addr         : {data?.Iova ?? 0:x}");
        o.WriteLine($"metadata     : {0:x}");
        o.WriteLine($"cdw10        : {c.Cdw10:x8}");
        o.WriteLine($"cdw11        : {c.Cdw11:x8}");
        o.WriteLine($"cdw12        : {c.Cdw12:x8}");
        o.WriteLine($"cdw13        : {c.Cdw13:x8}");
        o.WriteLine($"cdw14        : {c.Cdw14:x8}");
        o.WriteLine($"cdw15        : {c.Cdw15:x8}");
        o.WriteLine($"timeout_ms   : {timeoutMs:x8}");
    }

    /// <summary>The command's name as nvme-cli prints it, "Vendor Specific" for opcodes it does not know.</summary>
    public static string CommandName(bool admin, byte opcode)
    {
        string? name = admin
            ? opcode switch
            {
                0x00 => "Delete I/O Submission Queue", 0x01 => "Create I/O Submission Queue", 0x02 => "Get Log Page",
                0x04 => "Delete I/O Completion Queue", 0x05 => "Create I/O Completion Queue", 0x06 => "Identify",
                0x08 => "Abort", 0x09 => "Set Features", 0x0A => "Get Features", 0x0C => "Asynchronous Event Request",
                0x0D => "Namespace Management", 0x10 => "Firmware Commit", 0x11 => "Firmware Image Download",
                0x14 => "Device Self-test", 0x15 => "Namespace Attachment", 0x18 => "Keep Alive",
                0x19 => "Directive Send", 0x1A => "Directive Receive", 0x1C => "Virtualization Management",
                0x1D => "NVMe-MI Send", 0x1E => "NVMe-MI Receive", 0x7C => "Doorbell Buffer Config",
                0x80 => "Format NVM", 0x81 => "Security Send", 0x82 => "Security Receive", 0x84 => "Sanitize",
                0x86 => "Get LBA Status",
                _ => null,
            }
            : opcode switch
            {
                0x00 => "Flush", 0x01 => "Write", 0x02 => "Read", 0x04 => "Write Uncorrectable", 0x05 => "Compare",
                0x08 => "Write Zeroes", 0x09 => "Dataset Management", 0x0C => "Verify", 0x0D => "Reservation Register",
                0x0E => "Reservation Report", 0x11 => "Reservation Acquire", 0x15 => "Reservation Release", 0x19 => "Copy",
                _ => null,
            };
        return name ?? "Vendor Specific";
    }
}
