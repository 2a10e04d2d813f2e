using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;
using PolledNvme.Driver.Spec;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// <c>pnvme id-ns</c>: Identify Namespace (CNS 00h) with the NVM command set page (CNS 05h)
/// merged in, decoded field by field like <c>nvme id-ns -H</c>; each LBA format with MS, LBADS,
/// RP and, from ELBAF, PIF and STS; "(in use)" on the current one.
/// </summary>
internal static class IdNsCommand
{
    public const string Usage = """
        usage: pnvme id-ns --device DEV [--namespace-id N] [--output-format normal|json]
        Prints Identify Namespace (CNS 00h) and the NVM command set fields (CNS 05h: LBSTM, PIC,
        ELBAF with PIF and STS) decoded bit by bit; "(in use)" marks the current LBA format.
        exit codes: 0 ok; 1 the device or the command failed; 2 usage
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Guard("id-ns", stderr, () =>
    {
        if (args.Contains("--help")) { stdout.WriteLine(Usage); return Cli.ExitOk; }
        var a = new ArgReader(args, ToolContext.CommonValueFlags, [], ToolContext.CommonAliases);
        var (device, format, nsidFlag) = ToolContext.Common(a);
        using var controller = ToolContext.Open(DeviceSpec.ParseController(device), probe => ToolContext.PickNamespace(probe, nsidFlag));
        uint nsid = ToolContext.PickNamespace(controller, nsidFlag).Id;
        var ns = ToolContext.Identify<IdentifyNamespace>(controller, IdentifyCns.Namespace, nsid);
        bool elbas = controller.Identify.ExtendedLbaFormatsSupported;
        var nvm = elbas ? ToolContext.Identify<NvmIdentifyNamespace>(controller, IdentifyCns.CommandSetNamespace, nsid, csi: 0) : default;
        if (format == OutputFormat.Json) WriteJson(stdout, nsid, ns, nvm, elbas);
        else WriteHuman(stdout, nsid, ns, nvm, elbas);
        return Cli.ExitOk;
    });

    private static void WriteJson(TextWriter stdout, uint nsid, IdentifyNamespace ns, NvmIdentifyNamespace nvm, bool elbas)
        => ToolContext.WriteJson(stdout, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("nsid", nsid);
            w.WriteNumber("nsze", ns.Nsze);
            w.WriteNumber("ncap", ns.Ncap);
            w.WriteNumber("nuse", ns.Nuse);
            w.WriteNumber("nsfeat", ns.Nsfeat);
            w.WriteNumber("nlbaf", ns.Nlbaf);
            w.WriteNumber("flbas", ns.Flbas);
            w.WriteNumber("mc", ns.Mc);
            w.WriteNumber("dpc", ns.Dpc);
            w.WriteNumber("dps", ns.Dps);
            w.WriteNumber("nmic", ns.Nmic);
            w.WriteNumber("dlfeat", ns.Dlfeat);
            w.WriteNumber("nawun", ns.Nawun);
            w.WriteNumber("eui64", ns.Eui64);
            if (elbas)
            {
                w.WriteNumber("lbstm", nvm.Lbstm);
                w.WriteNumber("pic", nvm.Pic);
            }
            w.WriteStartArray("lbafs");
            for (int i = 0; i < ns.FormatCount; i++)
            {
                var f = ns.GetLbaFormat(i);
                w.WriteStartObject();
                w.WriteNumber("ms", f.MetadataSize);
                w.WriteNumber("ds", f.DataSizeShift);
                w.WriteNumber("rp", f.RelativePerformance);
                if (elbas)
                {
                    var e = nvm.GetExtendedLbaFormat(i);
                    w.WriteNumber("pif", e.ProtectionFormat);
                    w.WriteNumber("sts", e.StorageTagSize);
                }
                w.WriteBoolean("in_use", i == ns.FormatIndex);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });

    private static void WriteHuman(TextWriter o, uint nsid, IdentifyNamespace ns, NvmIdentifyNamespace nvm, bool elbas)
    {
        o.WriteLine($"NVME Identify Namespace {nsid}:");
        o.WriteLine($"nsze    : 0x{ns.Nsze:x}");
        o.WriteLine($"ncap    : 0x{ns.Ncap:x}");
        o.WriteLine($"nuse    : 0x{ns.Nuse:x}");
        o.WriteLine($"nsfeat  : 0x{ns.Nsfeat:x}");
        Bit(o, 2, 2, (ns.Nsfeat >> 2) & 1, (ns.Nsfeat & 4) != 0 ? "Deallocated or unwritten block error (DULBE) supported" : "Deallocated or unwritten block error (DULBE) not supported");
        o.WriteLine($"nlbaf   : {ns.Nlbaf}");
        o.WriteLine($"flbas   : 0x{ns.Flbas:x}");
        Bit(o, 6, 5, (ns.Flbas >> 5) & 3, "Current LBA format index, upper 2 bits");
        Bit(o, 4, 4, (ns.Flbas >> 4) & 1, ns.ExtendedMetadata ? "Metadata at the end of each block (extended LBA)" : "Metadata in a separate buffer");
        Bit(o, 3, 0, ns.Flbas & 0xF, "Current LBA format index, lower 4 bits");
        o.WriteLine($"mc      : 0x{ns.Mc:x}");
        Bit(o, 1, 1, (ns.Mc >> 1) & 1, (ns.Mc & 2) != 0 ? "Separate metadata buffer (MPTR) supported" : "Separate metadata buffer (MPTR) not supported");
        Bit(o, 0, 0, ns.Mc & 1, (ns.Mc & 1) != 0 ? "Extended LBA metadata supported" : "Extended LBA metadata not supported");
        o.WriteLine($"dpc     : 0x{ns.Dpc:x}");
        Bit(o, 4, 4, (ns.Dpc >> 4) & 1, $"PI in the last bytes of metadata {Supported(ns.Dpc, 4)}");
        Bit(o, 3, 3, (ns.Dpc >> 3) & 1, $"PI in the first bytes of metadata {Supported(ns.Dpc, 3)}");
        Bit(o, 2, 2, (ns.Dpc >> 2) & 1, $"PI type 3 {Supported(ns.Dpc, 2)}");
        Bit(o, 1, 1, (ns.Dpc >> 1) & 1, $"PI type 2 {Supported(ns.Dpc, 1)}");
        Bit(o, 0, 0, ns.Dpc & 1, $"PI type 1 {Supported(ns.Dpc, 0)}");
        o.WriteLine($"dps     : 0x{ns.Dps:x}");
        Bit(o, 3, 3, (ns.Dps >> 3) & 1, ns.PiFirst ? "PI in the first bytes of metadata" : "PI in the last bytes of metadata");
        Bit(o, 2, 0, ns.Dps & 7, ns.PiType == 0 ? "Protection information disabled" : $"Protection information type {ns.PiType} enabled");
        o.WriteLine($"nmic    : 0x{ns.Nmic:x}");
        o.WriteLine($"dlfeat  : 0x{ns.Dlfeat:x}");
        Bit(o, 4, 4, (ns.Dlfeat >> 4) & 1, (ns.Dlfeat & 0x10) != 0 ? "Guard of deallocated blocks is the CRC of the data read" : "Guard of deallocated blocks is FFFFh");
        Bit(o, 3, 3, (ns.Dlfeat >> 3) & 1, (ns.Dlfeat & 8) != 0 ? "Write Zeroes may deallocate (DEAC) " : "Write Zeroes deallocate (DEAC) not supported");
        Bit(o, 2, 0, ns.Dlfeat & 7, (ns.Dlfeat & 7) switch { 1 => "Deallocated blocks read as 00h", 2 => "Deallocated blocks read as FFh", _ => "Deallocated block contents not reported" });
        o.WriteLine($"nawun   : {ns.Nawun}");
        o.WriteLine($"eui64   : {ns.Eui64:x16}");
        if (elbas)
        {
            o.WriteLine($"lbstm   : 0x{nvm.Lbstm:x16}");
            o.WriteLine($"pic     : 0x{nvm.Pic:x}");
            Bit(o, 2, 2, (nvm.Pic >> 2) & 1, $"Storage tag check on read {Supported(nvm.Pic, 2)}");
            Bit(o, 1, 1, (nvm.Pic >> 1) & 1, $"16b guard PI storage tag mask {Supported(nvm.Pic, 1)}");
            Bit(o, 0, 0, nvm.Pic & 1, $"16b guard PI with storage tag {Supported(nvm.Pic, 0)}");
        }
        for (int i = 0; i < ns.FormatCount; i++)
        {
            var f = ns.GetLbaFormat(i);
            string rp = f.RelativePerformance switch { 0 => "Best", 1 => "Better", 2 => "Good", _ => "Degraded" };
            string pi = "";
            if (elbas)
            {
                var e = nvm.GetExtendedLbaFormat(i);
                string pif = e.ProtectionFormat switch { 0 => "16b Guard", 1 => "32b Guard", 2 => "64b Guard", _ => "Qualified" };
                pi = $" - PIF: {pif}({e.ProtectionFormat}) - STS: {e.StorageTagSize}";
            }
            o.WriteLine($"LBA Format {i,2} : Metadata Size: {f.MetadataSize,-3} bytes - Data Size: {f.BlockSize,-5} bytes (LBADS {f.DataSizeShift}) - Relative Performance: {f.RelativePerformance:x} {rp}{pi}{(i == ns.FormatIndex ? " (in use)" : "")}");
        }
    }

    private static string Supported(int field, int bit) => ((field >> bit) & 1) != 0 ? "supported" : "not supported";

    private static void Bit(TextWriter o, int high, int low, int value, string meaning)
        => o.WriteLine($"  [{high}:{low}] : 0x{value:x}\t{meaning}");
}
