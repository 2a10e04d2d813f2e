using System.Runtime.InteropServices;
using System.Text.Json;
using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// What every nvme-cli-like tool shares: the common flags (<c>--device</c>,
/// <c>--output-format</c>, <c>--namespace-id</c>), opening the controller, raw Identify pages,
/// and turning failures into messages and exit codes (an NVMe status is printed by name).
/// </summary>
internal static class ToolContext
{
    /// <summary>Flags every tool takes.</summary>
    public static readonly string[] CommonValueFlags = ["device", "output-format", "namespace-id"];

    /// <summary>Short spellings of the common flags (nvme-cli's).</summary>
    public static readonly Dictionary<string, string> CommonAliases = new() { ["o"] = "output-format", ["n"] = "namespace-id" };

    /// <summary>Parses the common flags; the device string is checked here, before anything is opened.</summary>
    public static (string Device, OutputFormat Format, uint? Nsid) Common(ArgReader a)
    {
        string device = a.Get("device") ?? throw new UsageException("--device", "is required (emu:PATH[,...], mem:[...], null:[...] or pci:DDDD:BB:DD.F)");
        DeviceSpec.ParseController(device);
        var format = a.Get("output-format") switch
        {
            null or "normal" => OutputFormat.Normal,
            "json" => OutputFormat.Json,
            var f => throw new UsageException("--output-format", $"'{f}' is not one of normal, json"),
        };
        uint? nsid = a.Get("namespace-id") is { } n ? (uint)FioValues.ParseInteger("--namespace-id", n, 1, uint.MaxValue - 1) : null;
        return (device, format, nsid);
    }

    /// <summary>
    /// Runs <paramref name="body"/>; a failure becomes one line and exit code 1 or 2, as at the
    /// top level (<see cref="CliErrors"/>), with the tool's name in front.
    /// </summary>
    public static int Guard(string name, TextWriter stderr, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            return CliErrors.Report(name, e, stderr);
        }
    }

    /// <summary>Opens the controller of <paramref name="device"/>.</summary>
    public static NvmeController Open(string device) => DeviceTargets.OpenController(device);

    /// <summary>
    /// Opens the controller of a parsed device string. When opening writes the image (it is
    /// created, or re-laid with <c>format=1</c>), <paramref name="check"/> first runs against a
    /// probe of the same geometry on the null backend, so a usage error leaves the file untouched.
    /// </summary>
    /// <param name="device">The parsed device string.</param>
    /// <param name="check">The command's checks that need the controller (namespace, flags against its format); throws <see cref="UsageException"/>.</param>
    public static NvmeController Open(DeviceSpec device, Action<NvmeController>? check = null)
    {
        if (check is not null && device.WritesOnOpen)
        {
            using var probe = DeviceTargets.OpenController(device.Probe());
            check(probe);
        }
        return DeviceTargets.OpenController(device);
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
    {
        using DmaBuffer page = c.Memory.Allocate(4096);
        page.Clear();
        var cmd = new SubmissionEntry
        {
            Opcode = (byte)AdminOpcode.Identify,
            NamespaceId = nsid,
            Cdw10 = (byte)cns,
            Cdw11 = (uint)csi << 24,
        };
        CompletionEntry cqe = c.ExecuteAdminRaw(cmd, page, 4096);
        var status = new NvmeStatus(cqe.Status);
        if (!status.IsSuccess)
            throw new NvmeException(status, (byte)AdminOpcode.Identify, isAdmin: true, nsid, detail: $"Identify CNS {(byte)cns:X2}h");
        return MemoryMarshal.Read<T>(page.Span);
    }

    /// <summary>
    /// The success report of a block command (read, write, write-zeroes, dsm): <c>NAME: Success</c>,
    /// or a JSON object with the command, namespace and range plus whatever <paramref name="extra"/> adds.
    /// </summary>
    public static void ReportBlockCommand(TextWriter stdout, OutputFormat format, string name, Namespace ns,
        BlockCommandFlags flags, Action<Utf8JsonWriter>? extra = null)
    {
        if (format != OutputFormat.Json)
        {
            stdout.WriteLine($"{name}: Success");
            return;
        }
        WriteJson(stdout, w =>
        {
            w.WriteStartObject();
            w.WriteString("command", name);
            w.WriteString("status", "Success");
            w.WriteNumber("nsid", ns.Id);
            w.WriteNumber("start_block", flags.StartBlock);
            w.WriteNumber("blocks", flags.Blocks);
            extra?.Invoke(w);
            w.WriteEndObject();
        });
    }

    /// <summary>Writes a JSON document produced by <paramref name="write"/> to <paramref name="output"/>.</summary>
    public static void WriteJson(TextWriter output, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            write(w);
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
