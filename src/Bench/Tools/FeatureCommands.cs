using PolledNvme.Bench.Options;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// <c>pnvme get-feature</c> and <c>pnvme set-feature</c> (NVMe Base 2.0 §5.15, §5.27) with
/// nvme-cli's options and output lines. Without <c>-f</c>, get-feature walks every feature id and
/// prints the ones the controller answers (Invalid Field means "not supported" and is skipped),
/// as nvme-cli does. On emulated devices a Set Features lasts as long as the pnvme process: the
/// controller is created per command and nothing is saveable.
/// </summary>
internal static class FeatureCommands
{
    internal static readonly ToolSpec GetSpec = new("get-feature", "pnvme get-feature <device> [OPTIONS]",
        "Get Features: a feature's current, default, saved or supported value (all features when -f is absent).",
        [
            ToolContext.Device,
            CliOption.Of("feature-id", 'f', "FID", "feature identifier (default: all)"),
            CliOption.Of("namespace-id", 'n', "NSID", "namespace, for namespace-specific features"),
            CliOption.Of("sel", 's', "NUM", "0 current, 1 default, 2 saved, 3 supported capabilities, 8 changed from default"),
            CliOption.Of("data-len", 'l', "BYTES", "size of the data buffer (default: the feature's)"),
            ToolContext.RawBinary,
            CliOption.Of("cdw11", 'c', "NUM", "feature specific dword 11"),
            CliOption.Of("uuid-index", 'U', "NUM", "UUID index (CDW14)"),
            CliOption.Flag("human-readable", 'H', "decode the value"),
        ]);

    internal static readonly ToolSpec SetSpec = new("set-feature", "pnvme set-feature <device> --feature-id=FID [OPTIONS]",
        "Set Features: changes a feature's value (CDW11), or its data from a file or stdin.",
        [
            ToolContext.Device,
            CliOption.Of("namespace-id", 'n', "NSID", "namespace, for namespace-specific features"),
            CliOption.Of("feature-id", 'f', "FID", "feature identifier (required)"),
            CliOption.Of("value", 'v', "NUM", "the value (CDW11)"),
            CliOption.Of("cdw12", 'c', "NUM", "feature specific dword 12"),
            CliOption.Of("uuid-index", 'U', "NUM", "UUID index (CDW14)"),
            CliOption.Of("data-len", 'l', "BYTES", "size of the data buffer (default: the feature's)"),
            CliOption.Of("data", 'd', "FILE", "the feature's data (default: stdin, for features that take data)"),
            CliOption.Flag("save", 's', "make the value persist across power cycles (SV)"),
        ]);

    public static int Get(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Run(GetSpec, args, stdout, a =>
    {
        var device = ToolContext.DeviceOf(a);
        byte fid = (byte)a.Number("feature-id", byte.MaxValue);
        int sel = (int)a.Number("sel", 8);
        if (sel is > 3 and < 8)
            throw new UsageException("--sel", $"{sel} is not one of 0 (current), 1 (default), 2 (saved), 3 (supported), 8 (changed)");
        uint nsid = (uint)a.Number("namespace-id", uint.MaxValue);
        uint cdw11 = (uint)a.Number("cdw11", uint.MaxValue);
        byte uuid = (byte)a.Number("uuid-index", 127);
        uint dataLen = (uint)a.Number("data-len", 1 << 20);
        bool raw = a.Has("raw-binary"), human = a.Has("human-readable");
        using var controller = ToolContext.Open(device, c => CheckLength(c, dataLen));
        CheckLength(controller, dataLen);
        if (fid != 0)
        {
            var got = Query(controller, fid, nsid, sel, cdw11, uuid, dataLen);
            if (!got.Status.IsSuccess)
                throw new NvmeException(got.Status, (byte)AdminOpcode.GetFeatures, isAdmin: true, nsid, detail: $"Get Features FID {fid:X2}h ({FeatureTable.Name(fid)})");
            if (sel != 8 || got.Changed)
                Show(stdout, fid, sel, got, raw, human);
            return Cli.ExitOk;
        }
        for (int id = 1; id <= 0xFF; id++)
        {
            var got = Query(controller, (byte)id, nsid, sel, cdw11, uuid, dataLen);
            if (got.Status.TypeAndCode == NvmeStatus.InvalidField.TypeAndCode)
                continue;   // not a feature this controller has
            if (!got.Status.IsSuccess)
                throw new NvmeException(got.Status, (byte)AdminOpcode.GetFeatures, isAdmin: true, nsid, detail: $"Get Features FID {id:X2}h ({FeatureTable.Name((byte)id)})");
            if (sel != 8 || got.Changed)
                Show(stdout, (byte)id, sel, got, raw, human);
        }
        return Cli.ExitOk;
    });

    public static int Set(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Run(SetSpec, args, stdout, a =>
    {
        var device = ToolContext.DeviceOf(a);
        byte fid = (byte)a.Number("feature-id", byte.MaxValue);
        if (fid == 0)
            throw new UsageException("--feature-id", "is required (e.g. 6 for the volatile write cache)");
        ulong value = a.Suffixed("value");
        if (value > uint.MaxValue && fid != 0x0E)
            throw new UsageException("--value", $"0x{value:x} does not fit CDW11 (32 bits)");
        uint cdw12 = (uint)a.Number("cdw12", uint.MaxValue);
        uint nsid = (uint)a.Number("namespace-id", uint.MaxValue);
        byte uuid = (byte)a.Number("uuid-index", 127);
        uint dataLen = a.Get("data-len") is not null ? (uint)a.Number("data-len", 1 << 20) : (uint)FeatureTable.DataLength(fid, (uint)value, toController: true);
        if (a.Get("data") is { } dataFile)
            ToolContext.CheckInput("--data", dataFile);
        byte[] data = [];
        if (dataLen > 0)
        {
            data = new byte[dataLen];
            if (fid == 0x0E && value != 0)
                BitConverter.TryWriteBytes(data, value);   // Timestamp: -v carries the value, as with nvme-cli
            else
                ReadData(a.Get("data"), data);
        }
        using var controller = ToolContext.Open(device, c => CheckLength(c, dataLen));
        CheckLength(controller, dataLen);
        using DmaBuffer? buffer = dataLen > 0 ? controller.Memory.Allocate((int)dataLen) : null;
        if (buffer is not null)
            data.CopyTo(buffer.Span);
        var command = new SubmissionEntry
        {
            Opcode = (byte)AdminOpcode.SetFeatures,
            NamespaceId = nsid,
            Cdw10 = fid | (a.Has("save") ? 1u << 31 : 0),
            Cdw11 = (uint)value,
            Cdw12 = cdw12,
            Cdw14 = uuid,
        };
        ToolContext.Admin(controller, command, buffer, (int)dataLen, $"Set Features FID {fid:X2}h ({FeatureTable.Name(fid)})");
        stdout.WriteLine($"set-feature:{Fid(fid)} ({FeatureTable.Name(fid)}), value:{Dword(value)}, cdw12:{Dword(cdw12)}, save:{CliText.Hex(a.Has("save") ? 1UL : 0)}");
        if (data.Length > 0)
            CliText.HexDump(stdout, data);
        return Cli.ExitOk;
    });

    private static void CheckLength(NvmeController controller, uint dataLen)
    {
        if (dataLen > controller.MaxAdminTransferBytes)
            throw new UsageException("--data-len", $"{dataLen} bytes is more than one admin command transfers on this controller ({controller.MaxAdminTransferBytes})");
    }

    // Read before the device is opened: a short input is a usage error that changed nothing.
    private static void ReadData(string? path, byte[] data)
    {
        using Stream input = path is null ? ToolConsole.Current.OpenInput() : ToolContext.OpenInput("--data", path);
        ToolContext.ReadInput(input, data, "--data", path ?? "stdin", "zeros");
    }

    private readonly record struct Answer(NvmeStatus Status, uint Result, byte[] Data, bool Changed);

    /// <summary>One Get Features (SEL 8: current, compared with the default).</summary>
    private static Answer Query(NvmeController c, byte fid, uint nsid, int sel, uint cdw11, byte uuid, uint dataLen)
    {
        if (sel == 8)
        {
            var current = Query(c, fid, nsid, 0, cdw11, uuid, dataLen);
            if (!current.Status.IsSuccess)
                return current;
            var defaults = Query(c, fid, nsid, 1, cdw11, uuid, dataLen);
            bool changed = !defaults.Status.IsSuccess || defaults.Result != current.Result || !defaults.Data.AsSpan().SequenceEqual(current.Data);
            return current with { Changed = changed };
        }
        int length = sel == 3 ? 0 : dataLen != 0 ? (int)dataLen : FeatureTable.DataLength(fid, cdw11, toController: false);
        using DmaBuffer? buffer = length > 0 ? c.Memory.Allocate(length) : null;
        buffer?.Clear();
        var command = new SubmissionEntry
        {
            Opcode = (byte)AdminOpcode.GetFeatures,
            NamespaceId = nsid,
            Cdw10 = fid | ((uint)sel << 8),
            Cdw11 = cdw11,
            Cdw14 = uuid,
        };
        CompletionEntry cqe = c.ExecuteAdminRaw(command, buffer, length);
        return new Answer(new NvmeStatus(cqe.Status), cqe.Result, buffer is null ? [] : buffer.Span[..length].ToArray(), Changed: true);
    }

    private static void Show(TextWriter o, byte fid, int sel, Answer got, bool raw, bool human)
    {
        if (raw && got.Data.Length > 0)
        {
            ToolContext.WriteBinary(o, got.Data);
            return;
        }
        o.WriteLine($"get-feature:{Fid(fid)} ({FeatureTable.Name(fid)}), {FeatureTable.SelectName(sel)} value:{Dword(got.Result)}");
        if (sel == 3)
        {
            if ((got.Result & 1) != 0) o.WriteLine("  Feature is saveable");
            if ((got.Result & 2) != 0) o.WriteLine("  Feature is per-namespace");
            if ((got.Result & 4) != 0) o.WriteLine("  Feature is changeable");
        }
        else if (human)
        {
            FeatureTable.Decode(o, fid, got.Result, got.Data);
        }
        else if (got.Data.Length > 0)
        {
            CliText.HexDump(o, got.Data);
        }
    }

    // nvme-cli's "%#0*x" with width 4 (2 for FID 0) and 10 (8 for a zero value): 0x06, 0x00000001, 00000000.
    private static string Fid(byte fid) => fid == 0 ? "00" : $"0x{fid:x2}";

    private static string Dword(ulong v) => v == 0 ? "00000000" : $"0x{v:x8}";
}
