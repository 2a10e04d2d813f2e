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
    /// Parses <paramref name="args"/> for <paramref name="spec"/> and runs <paramref name="body"/>
    /// inside <see cref="Guard"/>; <c>-h/--help</c> prints the command's help.
    /// </summary>
    public static int Run(ToolSpec spec, string[] args, TextWriter stdout, TextWriter stderr, Func<NvmeCliArgs, int> body)
        => Guard(spec.Name, stderr, () =>
        {
            var a = NvmeCliArgs.Parse(args, spec.Options);
            if (a.HelpRequested)
            {
                stdout.WriteLine(HelpText(spec));
                return Cli.ExitOk;
            }
            return body(a);
        });

    /// <summary>The help of <paramref name="spec"/>.</summary>
    public static string HelpText(ToolSpec spec) => NvmeCliArgs.Help(spec.Usage, spec.Description, spec.Options);

    /// <summary>The device: the one positional argument or <c>--device</c> (not both unless equal).</summary>
    public static string DeviceOf(NvmeCliArgs a)
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
    /// Runs <paramref name="body"/> and maps failures to exit codes: usage → 2, an NVMe status or a
    /// device problem → 1, printing <c>pnvme NAME: message</c> on stderr.
    /// </summary>
    public static int Guard(string name, TextWriter stderr, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"pnvme {name}: {e.Message}");
            stderr.WriteLine($"Run 'pnvme {name} --help' for the options.");
            return Cli.ExitUsage;
        }
        catch (NvmeException e)
        {
            stderr.WriteLine($"pnvme {name}: NVMe status {e.Status}: {e.Message}");
            return Cli.ExitFailure;
        }
        catch (Exception e) when (e is NvmeControllerException or IOException or UnauthorizedAccessException
            or InvalidOperationException or ArgumentException or NotSupportedException or TimeoutException)
        {
            stderr.WriteLine($"pnvme {name}: {e.Message}");
            return Cli.ExitFailure;
        }
    }

    /// <summary>Opens the controller of <paramref name="device"/>.</summary>
    public static NvmeController Open(string device, NvmeControllerOptions? options = null) => DeviceTargets.OpenController(device, options);

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
