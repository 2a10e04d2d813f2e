using System.Runtime.InteropServices;
using PolledNvme.Driver.Spec;
using static PolledNvme.Bench.Tools.Bit;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// <c>pnvme nvm-id-ns</c>: the NVM command set Identify Namespace (CNS 05h, CSI 00h) as nvme-cli
/// shows it: LBSTM, PIC and each LBA format's protection information format (PIF) and storage
/// tag size (STS), <c>(in use)</c> on the current one. Where nvme-cli 2.3 labels STS "lbads" and
/// marks the format in use from the low 4 FLBAS bits only, this prints <c>sts</c> and uses all 6.
/// </summary>
internal static class NvmIdNsCommand
{
    internal static readonly ToolSpec Spec = new("nvm-id-ns", "pnvme nvm-id-ns <device> [OPTIONS]",
        "NVM Command Set Identify Namespace (CNS 05h): protection information capabilities and, per LBA format, the PI format (16b/32b/64b guard) and storage tag size.",
        [
            ToolContext.Device, ToolContext.NamespaceId,
            CliOption.Of("uuid-index", 'U', "NUM", "not supported: UUID index 0 only"),
            ToolContext.OutputFormat,
            CliOption.Flag("verbose", 'v', "decode the fields"),
        ]);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Run(Spec, args, stdout, a =>
    {
        var device = ToolContext.DeviceOf(a);
        var format = ToolContext.OutputOf(a);
        uint? nsidAsked = ToolContext.NamespaceIdOf(a);
        if (a.Number("uuid-index", 127) != 0)
            throw new Options.UsageException("--uuid-index", "the controllers pnvme drives report no UUID list (CTRATT bit 9): only index 0");
        using var controller = ToolContext.Open(device, c => ToolContext.PickNamespace(c, nsidAsked));
        uint nsid = ToolContext.PickNamespace(controller, nsidAsked).Id;
        byte[] ns = ToolContext.IdentifyPage(controller, IdentifyCns.Namespace, nsid);
        byte[] nvm = ToolContext.IdentifyPage(controller, IdentifyCns.CommandSetNamespace, nsid, csi: 0);
        Print(stdout, nsid, ns, nvm, format, a.Has("verbose"));
        return Cli.ExitOk;
    });

    /// <summary>Prints a raw CNS 05h page (<paramref name="nvmPage"/>) with the formats of its CNS 00h page.</summary>
    public static void Print(TextWriter o, uint nsid, byte[] nsPage, byte[] nvmPage, ToolOutput format, bool verbose)
    {
        if (format == ToolOutput.Binary)
        {
            ToolContext.WriteBinary(o, nvmPage);
            return;
        }
        var ns = MemoryMarshal.Read<IdentifyNamespace>(nsPage);
        var nvm = MemoryMarshal.Read<NvmIdentifyNamespace>(nvmPage);
        if (format == ToolOutput.Json)
        {
            ToolContext.WriteJson(o, w =>
            {
                w.WriteStartObject();
                w.WriteNumber("lbstm", nvm.Lbstm);
                w.WriteNumber("pic", nvm.Pic);
                w.WriteStartArray("elbafs");
                for (int i = 0; i <= ns.Nlbaf && i < IdentifyNamespace.MaxLbaFormats; i++)
                {
                    var e = nvm.GetExtendedLbaFormat(i);
                    w.WriteStartObject();
                    w.WriteNumber("sts", e.StorageTagSize);
                    w.WriteNumber("pif", e.ProtectionFormat);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return;
        }
        o.WriteLine($"NVMe NVM Identify Namespace {nsid}:");
        o.WriteLine($"lbstm : {CliText.Hex(nvm.Lbstm)}");
        o.WriteLine($"pic   : {CliText.Hex(nvm.Pic)}");
        if (verbose)
        {
            CliText.Bits(o, nvm.Pic,
                Reserved(7, 3),
                Flag(2, "Storage Tag Check Read"),
                Flag(1, "16b Guard Protection Information Storage Tag Mask"),
                Flag(0, "16b Guard Protection Information Storage Tag"));
        }
        for (int i = 0; i <= ns.Nlbaf + ns.Nulbaf && i < IdentifyNamespace.MaxLbaFormats; i++)
        {
            var e = nvm.GetExtendedLbaFormat(i);
            string mark = i == ns.FormatIndex ? "(in use)" : "";
            if (verbose)
            {
                string pif = e.ProtectionFormat switch { 0 => "16b Guard", 1 => "32b Guard", 2 => "64b Guard", _ => "Reserved" };
                o.WriteLine($"Extended LBA Format {i,2} : Protection Information Format: {pif}({e.ProtectionFormat}) - Storage Tag Size (MSB): {e.StorageTagSize,-2} {mark}");
            }
            else
            {
                o.WriteLine($"elbaf {i,2} : pif:{e.ProtectionFormat} sts:{e.StorageTagSize,-2} {mark}");
            }
        }
    }
}
