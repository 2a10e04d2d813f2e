using System.Runtime.InteropServices;
using System.Text.Json;
using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Bench.Tools;

/// <summary>How a tool prints its result: text, JSON, or the raw bytes.</summary>
internal enum ToolOutput
{
    /// <summary>nvme-cli's text.</summary>
    Normal,
    /// <summary>nvme-cli's JSON.</summary>
    Json,
    /// <summary>The raw page, byte for byte, on stdout.</summary>
    Binary,
}

/// <summary>What one nvme-cli-style command is: its name, usage line, description and options.</summary>
internal sealed record ToolSpec(string Name, string Usage, string Description, IReadOnlyList<CliOption> Options);

/// <summary>
/// What every nvme-cli-like tool shares: the device (first positional argument, or
/// <c>--device</c>), <c>--output-format</c>, <c>--namespace-id</c>, opening the controller, raw
/// Identify pages, and turning failures into messages and exit codes (an NVMe status is printed
/// by name).
/// </summary>
internal static class ToolContext
{
    /// <summary><c>--device</c>: pnvme's long form of the positional device.</summary>
    public static readonly CliOption Device = CliOption.Of("device", '\0', "DEV", "the device, if not given as the first argument: emu:PATH[,...] mem:[...] null:[...] pci:DDDD:BB:DD.F tcp:ADDR:PORT/SUBNQN[,...]");

    /// <summary><c>-n/--namespace-id</c>.</summary>
    public static readonly CliOption NamespaceId = CliOption.Of("namespace-id", 'n', "NSID", "namespace (default: the first active one)");

    /// <summary><c>-o/--output-format</c> with normal, json and binary.</summary>
    public static readonly CliOption OutputFormat = CliOption.Of("output-format", 'o', "FMT", "normal|json|binary");

    /// <summary><c>-o/--output-format</c> for commands with no binary form.</summary>
    public static readonly CliOption OutputFormatText = CliOption.Of("output-format", 'o', "FMT", "normal|json");

    /// <summary><c>-b/--raw-binary</c>.</summary>
    public static readonly CliOption RawBinary = CliOption.Flag("raw-binary", 'b', "the raw data on stdout (same as -o binary)");

    /// <summary>
    /// Parses <paramref name="args"/> for <paramref name="spec"/> and runs <paramref name="body"/>;
    /// <c>-h/--help</c> prints the command's help. Failures are not caught here: they reach the one
    /// top-level handler (<see cref="Cli.Run(string[], TextWriter, TextWriter, Run.StopRequest)"/>, <see cref="CliErrors"/>).
    /// </summary>
    public static int Run(ToolSpec spec, string[] args, TextWriter stdout, Func<NvmeCliArgs, int> body)
    {
        var a = NvmeCliArgs.Parse(args, spec.Options);
        if (a.HelpRequested)
        {
            stdout.WriteLine(HelpText(spec));
            return Cli.ExitOk;
        }
        return body(a);
    }

    /// <summary>The help of <paramref name="spec"/>.</summary>
    public static string HelpText(ToolSpec spec) => NvmeCliArgs.Help(spec.Usage, spec.Description, spec.Options);

    /// <summary>
    /// The device: the one positional argument or <c>--device</c> (not both unless equal), parsed
    /// and checked here, before anything is opened (a malformed string is a usage error naming the key).
    /// </summary>
    public static DeviceSpec DeviceOf(NvmeCliArgs a) => DeviceSpec.ParseController(DeviceTextOf(a));

    private static string DeviceTextOf(NvmeCliArgs a)
    {
        string? flag = a.Get("device");
        if (a.Positionals.Count > 1)
            throw new UsageException(a.Positionals[1], "unexpected argument: give one device (the first argument); values belong to options such as -s 0");
        string? positional = a.Positionals.Count == 1 ? a.Positionals[0] : null;
        if (flag is not null && positional is not null && flag != positional)
            throw new UsageException("--device", $"'{flag}' and the positional device '{positional}' differ: give one");
        return flag ?? positional ?? throw new UsageException("<device>",
            "is required, as the first argument or --device (emu:PATH[,...], mem:[...], null:[...], pci:DDDD:BB:DD.F or tcp:ADDR:PORT/SUBNQN[,...])");
    }

    /// <summary><c>-o</c> (and <c>-b</c> when the command has it); binary only where <paramref name="binaryAllowed"/>.</summary>
    public static ToolOutput OutputOf(NvmeCliArgs a, bool binaryAllowed = true)
    {
        var format = a.Get("output-format") switch
        {
            null or "normal" => ToolOutput.Normal,
            "json" => ToolOutput.Json,
            "binary" when binaryAllowed => ToolOutput.Binary,
            var f => throw new UsageException("--output-format", $"'{f}' is not one of normal, json{(binaryAllowed ? ", binary" : "")}"),
        };
        return a.Has("raw-binary") ? ToolOutput.Binary : format;
    }

    /// <summary><c>-n</c>, or null when not given (or given as 0, nvme-cli's "not set").</summary>
    public static uint? NamespaceIdOf(NvmeCliArgs a)
        => a.Number("namespace-id", uint.MaxValue) is var n and not 0 ? (uint)n : null;

    /// <summary>
    /// Opens the controller of a parsed device string. When opening writes the image (it is
    /// created, or re-laid with <c>format=1</c>), <paramref name="check"/> first runs against a
    /// probe of the same geometry on the null backend, so a usage error leaves the file untouched;
    /// otherwise the caller runs its checks on the controller returned, before its first command.
    /// </summary>
    /// <param name="device">The parsed device string.</param>
    /// <param name="check">The command's checks that need the controller (namespace, options against its format); throws <see cref="UsageException"/>.</param>
    /// <param name="options">The driver's options (a longer admin timeout for Format NVM, a passthru's timeout); null for the defaults.</param>
    public static NvmeController Open(DeviceSpec device, Action<NvmeController>? check = null, NvmeControllerOptions? options = null)
    {
        if (check is not null && device.WritesOnOpen)
        {
            using var probe = DeviceTargets.OpenController(device.Probe(), options);
            check(probe);
        }
        return DeviceTargets.OpenController(device, options);
    }

    /// <summary>
    /// Checks, before the device is opened, that each output file can be written, is not a
    /// directory, and is neither the device's image nor its format record (nor any other emulated
    /// image): see <see cref="OutputPaths"/>.
    /// </summary>
    public static void CheckOutputs(DeviceSpec device, params (string Flag, string? Path)[] outputs) => OutputPaths.Check(outputs, device.DataFiles);

    /// <summary>Checks, before the device is opened, that an input file exists and is not a directory.</summary>
    public static void CheckInput(string flag, string path)
    {
        if (path.Length == 0) throw new UsageException(flag, "needs a file name");
        if (path.Contains('\0')) throw new UsageException(flag, "the file name contains a NUL character");
        if (Directory.Exists(path)) throw new UsageException(flag, $"'{path}' is a directory; give the file to read from");
        if (!File.Exists(path)) throw new UsageException(flag, $"'{path}' does not exist");
    }

    /// <summary>Opens an input file checked by <see cref="CheckInput"/>; one that became unreadable since is an I/O failure.</summary>
    public static FileStream OpenInput(string flag, string path)
    {
        try
        {
            return File.OpenRead(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{flag}: cannot read '{path}': {e.Message}", e);
        }
    }

    /// <summary>The namespace <paramref name="nsid"/>, or the first active one.</summary>
    public static Namespace PickNamespace(NvmeController c, uint? nsid)
    {
        if (nsid is { } id)
        {
            if (!c.Namespaces.Any(n => n.Id == id))
                throw new UsageException("--namespace-id", $"{id} is not an active namespace (active: {string.Join(", ", c.Namespaces.Select(n => n.Id))})");
            return c.GetNamespace(id);
        }
        return c.Namespaces.Count > 0 ? c.Namespaces[0] : throw new InvalidOperationException($"{c.Address} has no active namespace");
    }

    /// <summary>Refuses a command that writes <paramref name="ns"/> when the namespace is write protected.</summary>
    public static void RequireWritable(Namespace ns, string command)
    {
        if (ns.IsWriteProtected)
            throw new UsageException("--device", $"namespace {ns.Id} is write protected (ro=1), and {command} writes it; open it without ro=1");
    }

    /// <summary>Reads an Identify page (CNS <paramref name="cns"/>, CSI in CDW11[31:24]) into a struct.</summary>
    public static T Identify<T>(NvmeController c, IdentifyCns cns, uint nsid, byte csi = 0) where T : unmanaged
        => MemoryMarshal.Read<T>(IdentifyPage(c, cns, nsid, csi));

    /// <summary>Reads an Identify page (4096 bytes).</summary>
    public static byte[] IdentifyPage(NvmeController c, IdentifyCns cns, uint nsid, byte csi = 0)
    {
        using DmaBuffer page = c.Memory.Allocate(4096);
        page.Clear();
        c.ReadIdentify(cns, nsid, page, csi);
        return page.Span[..4096].ToArray();
    }

    /// <summary>Runs an admin command through the raw path; an error status throws <see cref="NvmeException"/> with <paramref name="detail"/>.</summary>
    public static CompletionEntry Admin(NvmeController c, in SubmissionEntry command, DmaBuffer? data, int length, string detail)
    {
        CompletionEntry cqe = c.ExecuteAdminRaw(command, data, length);
        var status = new NvmeStatus(cqe.Status);
        if (!status.IsSuccess)
            throw new NvmeException(status, command.Opcode, isAdmin: true, command.NamespaceId, detail: detail);
        return cqe;
    }

    /// <summary>
    /// Fills <paramref name="target"/> from <paramref name="input"/>. A short input is refused
    /// (naming <paramref name="flag"/>): nvme-cli would go on with <paramref name="nvmeCliFills"/>
    /// in place of the missing bytes, which stores or compares bytes nobody gave.
    /// </summary>
    public static void ReadInput(Stream input, Span<byte> target, string flag, string source, string nvmeCliFills)
    {
        int got = 0;
        while (got < target.Length && input.Read(target[got..]) is var n and > 0)
            got += n;
        if (got < target.Length)
            throw new UsageException(flag, $"{source} gave {got} bytes; the command needs {target.Length} (nvme-cli would use {nvmeCliFills} for the rest)");
    }

    /// <summary>Writes <paramref name="bytes"/> to stdout as they are.</summary>
    public static void WriteBinary(TextWriter stdout, ReadOnlySpan<byte> bytes)
    {
        using Stream output = ToolConsole.Current.OpenOutput(stdout);
        output.Write(bytes);
        output.Flush();
    }

    /// <summary>Writes a JSON document produced by <paramref name="write"/> to <paramref name="output"/>.</summary>
    public static void WriteJson(TextWriter output, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            write(w);
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
