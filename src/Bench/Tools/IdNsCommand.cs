using System.Runtime.InteropServices;
using PolledNvme.Driver.Spec;
using static PolledNvme.Bench.Tools.Bit;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// <c>pnvme id-ns</c>: Identify Namespace (CNS 00h) with nvme-cli's fields, order, text and JSON
/// types (nvmcap as a decimal string, nguid and eui64 as hex strings, lbafs); <c>-H</c> decodes
/// the bit fields and spells out the LBA formats, <c>-b</c> dumps the page. The PI side of the
/// formats (PIF, STS: CNS 05h) is <c>pnvme nvm-id-ns</c>, as in nvme-cli.
/// </summary>
internal static class IdNsCommand
{
    internal static readonly ToolSpec Spec = new("id-ns", "pnvme id-ns <device> [OPTIONS]",
        "Identify Namespace (CNS 00h): size, capabilities and LBA formats of a namespace, with nvme-cli's field names.\nThe protection information formats of each LBA format (PIF, STS) are shown by pnvme nvm-id-ns.",
        [
            ToolContext.Device, ToolContext.NamespaceId,
            CliOption.Flag("force", '\0', "not supported: namespaces that are allocated but not attached"),
            CliOption.Flag("vendor-specific", 'v', "also dump the vendor specific area"),
            ToolContext.RawBinary, ToolContext.OutputFormat,
            CliOption.Flag("human-readable", 'H', "decode the bit fields"),
        ]);

    // nvme-cli writes the JSON members in a different order than the text lines.
    private static readonly string[] JsonOrder =
    [
        "nsze", "ncap", "nuse", "nsfeat", "nlbaf", "flbas", "mc", "dpc", "dps", "nmic", "rescap", "fpi", "dlfeat",
        "nawun", "nawupf", "nacwu", "nabsn", "nabo", "nabspf", "noiob", "nvmcap", "nsattr", "nvmsetid",
        "npwg", "npwa", "npdg", "npda", "nows", "mssrl", "mcl", "msrc", "nulbaf", "anagrpid", "endgid", "eui64", "nguid",
    ];

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Run(Spec, args, stdout, a =>
    {
        var device = ToolContext.DeviceOf(a);
        var format = ToolContext.OutputOf(a);
        uint? nsidAsked = ToolContext.NamespaceIdOf(a);
        if (a.Has("force"))
            throw new Options.UsageException("--force", "allocated but unattached namespaces (CNS 11h) do not exist on the controllers pnvme drives");
        using var controller = ToolContext.Open(device, c => ToolContext.PickNamespace(c, nsidAsked));
        uint nsid = ToolContext.PickNamespace(controller, nsidAsked).Id;
        byte[] page = ToolContext.IdentifyPage(controller, IdentifyCns.Namespace, nsid);
        Print(stdout, nsid, page, format, a.Has("human-readable"), a.Has("vendor-specific"));
        return Cli.ExitOk;
    });

    /// <summary>Prints a raw Identify Namespace page in <paramref name="format"/>.</summary>
    public static void Print(TextWriter o, uint nsid, byte[] page, ToolOutput format, bool human, bool vendorSpecific)
    {
        if (format == ToolOutput.Binary)
        {
            ToolContext.WriteBinary(o, page);
            return;
        }
        var ns = MemoryMarshal.Read<IdentifyNamespace>(page);
        var fields = Fields(ns);
        if (format == ToolOutput.Json)
        {
            var byName = fields.ToDictionary(f => f.Name);
            ToolContext.WriteJson(o, w =>
            {
                w.WriteStartObject();
                IdField.WriteJson(w, JsonOrder.Where(byName.ContainsKey).Select(n => byName[n]));
                w.WriteStartArray("lbafs");
                for (int i = 0; i <= ns.Nlbaf && i < IdentifyNamespace.MaxLbaFormats; i++)
                {
                    var f = ns.GetLbaFormat(i);
                    w.WriteStartObject();
                    w.WriteNumber("ms", f.MetadataSize);
                    w.WriteNumber("ds", f.DataSizeShift);
                    w.WriteNumber("rp", f.RelativePerformance);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                if (vendorSpecific)
                    w.WriteString("vs", Convert.ToHexStringLower(ns.VendorSpecific));
                w.WriteEndObject();
            });
            return;
        }
        o.WriteLine($"NVME Identify Namespace {nsid}:");
        IdField.WriteText(o, fields, 8, human);
        int inUse = ns.FormatIndex;
        for (int i = 0; i <= ns.Nlbaf + ns.Nulbaf && i < IdentifyNamespace.MaxLbaFormats; i++)
        {
            var f = ns.GetLbaFormat(i);
            string mark = i == inUse ? "(in use)" : "";
            if (human)
            {
                string rp = f.RelativePerformance switch { 3 => "Degraded", 2 => "Good", 1 => "Better", _ => "Best" };
                o.WriteLine($"LBA Format {i,2} : Metadata Size: {f.MetadataSize,-3} bytes - Data Size: {1L << f.DataSizeShift,-2} bytes - Relative Performance: {CliText.Hex((ulong)f.RelativePerformance)} {rp} {mark}");
            }
            else
            {
                o.WriteLine($"lbaf {i,2} : ms:{f.MetadataSize,-3} lbads:{f.DataSizeShift,-2} rp:{CliText.Hex((ulong)f.RelativePerformance)} {mark}");
            }
        }
        if (vendorSpecific)
        {
            o.WriteLine("vs[]:");
            CliText.HexDump(o, ns.VendorSpecific);
        }
    }

    /// <summary>The fields in nvme-cli's text order (NPWG..NOWS only when NSFEAT bit 4 says they are valid).</summary>
    public static List<IdField> Fields(IdentifyNamespace ns)
    {
        var list = new List<IdField>
        {
            IdField.Hex("nsze", ns.Nsze),
            IdField.Hex("ncap", ns.Ncap),
            IdField.Hex("nuse", ns.Nuse),
            IdField.Hex("nsfeat", ns.Nsfeat, Decode(ns.Nsfeat,
                Reserved(7, 5),
                Choice(4, "NPWG, NPWA, NPDG, NPDA and NOWS are valid", "NPWG, NPWA, NPDG, NPDA and NOWS are not valid"),
                Choice(3, "Non-zero NGUID and EUI64 are never reused", "Non-zero NGUID and EUI64 may be reused"),
                Flag(2, "Deallocated or Unwritten Logical Block error"),
                Choice(1, "NAWUN, NAWUPF and NACWU apply to the namespace", "AWUN, AWUPF and ACWU apply to the namespace"),
                Flag(0, "Thin Provisioning"))),
            IdField.Dec("nlbaf", ns.Nlbaf),
            IdField.Hex("flbas", ns.Flbas, Decode(ns.Flbas,
                Reserved(7, 7),
                Field(6, 5, "Current LBA Format, most significant 2 bits"),
                Choice(4, "Metadata transferred at the end of the data LBA (extended LBA)", "Metadata transferred in a separate buffer"),
                Field(3, 0, "Current LBA Format, least significant 4 bits"))),
            IdField.Hex("mc", ns.Mc, Decode(ns.Mc,
                Reserved(7, 2),
                Flag(1, "Metadata in a separate buffer (MPTR)"),
                Flag(0, "Metadata as part of an extended data LBA"))),
            IdField.Hex("dpc", ns.Dpc, Decode(ns.Dpc,
                Reserved(7, 5),
                Flag(4, "Protection Information in the last bytes of metadata"),
                Flag(3, "Protection Information in the first bytes of metadata"),
                Flag(2, "Protection Information Type 3"),
                Flag(1, "Protection Information Type 2"),
                Flag(0, "Protection Information Type 1"))),
            IdField.Hex("dps", ns.Dps, Decode(ns.Dps,
                Reserved(7, 4),
                Choice(3, "Protection Information in the first bytes of metadata", "Protection Information in the last bytes of metadata"),
                Text(2, 0, t => t == 0 ? "Protection Information Disabled" : t <= 3 ? $"Protection Information Type {t} Enabled" : "Reserved"))),
            IdField.Hex("nmic", ns.Nmic, Decode(ns.Nmic,
                Reserved(7, 1),
                Choice(0, "Namespace may be attached to several controllers", "Namespace is private to one controller"))),
            IdField.Hex("rescap", ns.Rescap, Decode(ns.Rescap,
                Choice(7, "Ignore Existing Key as defined in NVMe 1.3 and later", "Ignore Existing Key as defined in NVMe 1.2.1 and earlier"),
                Flag(6, "Exclusive Access - All Registrants"),
                Flag(5, "Write Exclusive - All Registrants"),
                Flag(4, "Exclusive Access - Registrants Only"),
                Flag(3, "Write Exclusive - Registrants Only"),
                Flag(2, "Exclusive Access"),
                Flag(1, "Write Exclusive"),
                Flag(0, "Persist Through Power Loss"))),
            IdField.Hex("fpi", ns.Fpi, Decode(ns.Fpi,
                Flag(7, "Format Progress Indicator"),
                Text(6, 0, t => $"Format remaining: {t}%"))),
            IdField.Dec("dlfeat", ns.Dlfeat, Decode(ns.Dlfeat,
                Reserved(7, 5),
                Choice(4, "Guard of deallocated blocks is the CRC of their data", "Guard of deallocated blocks is FFFFh"),
                Flag(3, "Deallocate (DEAC) in Write Zeroes"),
                Text(2, 0, t => t switch { 1 => "Deallocated blocks read as 00h", 2 => "Deallocated blocks read as FFh", 0 => "What deallocated blocks read as is not reported", _ => "Reserved" }))),
            IdField.Dec("nawun", ns.Nawun),
            IdField.Dec("nawupf", ns.Nawupf),
            IdField.Dec("nacwu", ns.Nacwu),
            IdField.Dec("nabsn", ns.Nabsn),
            IdField.Dec("nabo", ns.Nabo),
            IdField.Dec("nabspf", ns.Nabspf),
            IdField.Dec("noiob", ns.Noiob),
            IdField.Wide("nvmcap", ns.Nvmcap),
        };
        if ((ns.Nsfeat & 0x10) != 0)
        {
            list.Add(IdField.Dec("npwg", ns.Npwg));
            list.Add(IdField.Dec("npwa", ns.Npwa));
            list.Add(IdField.Dec("npdg", ns.Npdg));
            list.Add(IdField.Dec("npda", ns.Npda));
            list.Add(IdField.Dec("nows", ns.Nows));
        }
        list.AddRange(
        [
            IdField.Dec("mssrl", ns.Mssrl),
            IdField.Dec("mcl", ns.Mcl),
            IdField.Dec("msrc", ns.Msrc),
            IdField.Dec("nulbaf", ns.Nulbaf),
            IdField.Dec("anagrpid", ns.Anagrpid),
            IdField.Dec("nsattr", ns.Nsattr) with { Label = "nsattr\t" },
            IdField.Dec("nvmsetid", ns.Nvmsetid),
            IdField.Dec("endgid", ns.Endgid),
            IdField.Str("nguid", Convert.ToHexStringLower(ns.NguidBytes)),
            IdField.Str("eui64", Convert.ToHexStringLower(ns.Eui64Bytes)),
        ]);
        return list;
    }

    private static Action<TextWriter> Decode(ulong value, params Bit[] bits) => o => CliText.Bits(o, value, bits);
}
