using System.Runtime.InteropServices;
using PolledNvme.Driver.Spec;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// <c>pnvme id-ctrl</c>: Identify Controller (CNS 01h) with nvme-cli's fields, order, text and
/// JSON types (every field of its <c>id-ctrl</c>, then the power state descriptors: <c>ps N</c>
/// lines, <c>psds</c> in JSON); <c>-H</c> decodes the bit fields, <c>-b</c> / <c>-o binary</c>
/// dumps the 4096-byte page, <c>-v</c> adds the vendor specific area.
/// </summary>
internal static class IdCtrlCommand
{
    internal static readonly ToolSpec Spec = new("id-ctrl", "pnvme id-ctrl <device> [OPTIONS]",
        "Identify Controller (CNS 01h): the controller's capabilities, with nvme-cli's field names.",
        [
            ToolContext.Device,
            CliOption.Flag("vendor-specific", 'v', "also dump the vendor specific area"),
            ToolContext.OutputFormat, ToolContext.RawBinary,
            CliOption.Flag("human-readable", 'H', "decode the bit fields"),
        ]);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Run(Spec, args, stdout, a =>
    {
        var device = ToolContext.DeviceOf(a);
        var format = ToolContext.OutputOf(a);
        using var controller = ToolContext.Open(device);
        byte[] page = ToolContext.IdentifyPage(controller, IdentifyCns.Controller, 0);
        Print(stdout, page, format, a.Has("human-readable"), a.Has("vendor-specific"));
        return Cli.ExitOk;
    });

    /// <summary>Prints a raw Identify Controller page in <paramref name="format"/> (tests feed it pages nvme-cli printed too).</summary>
    public static void Print(TextWriter o, byte[] page, ToolOutput format, bool human, bool vendorSpecific)
    {
        if (format == ToolOutput.Binary)
        {
            ToolContext.WriteBinary(o, page);
            return;
        }
        var id = MemoryMarshal.Read<IdentifyController>(page);
        var fields = Fields(id);
        if (format == ToolOutput.Json)
        {
            ToolContext.WriteJson(o, w =>
            {
                w.WriteStartObject();
                // nvme-cli leaves subnqn out of the JSON when it is empty.
                IdField.WriteJson(w, fields.Where(f => f.Name != "subnqn" || ((string)f.Json).Length > 0));
                w.WriteStartArray("psds");
                for (int i = 0; i <= id.Npss; i++)
                {
                    var ps = id.GetPowerState(i);
                    w.WriteStartObject();
                    w.WriteNumber("max_power", ps.Mp);
                    w.WriteNumber("flags", ps.Flags);
                    w.WriteNumber("entry_lat", ps.Enlat);
                    w.WriteNumber("exit_lat", ps.Exlat);
                    w.WriteNumber("read_tput", ps.Rrt);
                    w.WriteNumber("read_lat", ps.Rrl);
                    w.WriteNumber("write_tput", ps.Rwt);
                    w.WriteNumber("write_lat", ps.Rwl);
                    w.WriteNumber("idle_power", ps.Idlp);
                    w.WriteNumber("idle_scale", ps.IdlePowerScale);
                    w.WriteNumber("active_power", ps.Actp);
                    w.WriteNumber("active_power_work", ps.ActivePowerWorkload);
                    w.WriteNumber("active_scale", ps.ActivePowerScale);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                if (vendorSpecific)
                    w.WriteString("vs", Convert.ToHexStringLower(id.VendorSpecific));
                w.WriteEndObject();
            });
            return;
        }
        o.WriteLine("NVME Identify Controller:");
        IdField.WriteText(o, fields, 10, human);
        for (int i = 0; i <= id.Npss; i++)
            PowerStateLines(o, i, id.GetPowerState(i));
        if (vendorSpecific)
        {
            o.WriteLine("vs[]:");
            CliText.HexDump(o, id.VendorSpecific);
        }
    }

    private static void PowerStateLines(TextWriter o, int index, PowerStateDescriptor ps)
    {
        bool fine = (ps.Flags & PowerStateDescriptor.FlagMaxPowerScale) != 0;
        string mp = fine ? $"{ps.Mp / 10000}.{ps.Mp % 10000:D4}W" : $"{ps.Mp / 100}.{ps.Mp % 100:D2}W";
        string op = (ps.Flags & PowerStateDescriptor.FlagNonOperational) != 0 ? "non-operational" : "operational";
        o.WriteLine($"ps   {index,4} : mp:{mp} {op} enlat:{ps.Enlat} exlat:{ps.Exlat} rrt:{ps.Rrt} rrl:{ps.Rrl}");
        o.WriteLine($"            rwt:{ps.Rwt} rwl:{ps.Rwl} idle_power:{Power(ps.Idlp, ps.IdlePowerScale)} active_power:{Power(ps.Actp, ps.ActivePowerScale)}");
        string workload = ps.ActivePowerWorkload switch
        {
            0 => "-",
            1 => "1MiB 32 RW, 30s idle",
            2 => "80K 128KiB SW",
            _ => "reserved",
        };
        o.WriteLine($"            active_power_workload:{workload}");
    }

    // Power in the unit its 2-bit scale gives (Fig 276): not reported, 0.0001 W, 0.01 W.
    private static string Power(ushort value, int scale) => scale switch
    {
        0 => "-",
        1 => $"{value / 10000}.{value % 10000:D4}W",
        2 => $"{value / 100}.{value % 100:D2}W",
        _ => "reserved",
    };

    /// <summary>The fields in nvme-cli's order.</summary>
    public static List<IdField> Fields(IdentifyController id)
    {
        uint ieee = id.IeeeOui;
        return
        [
            IdField.Hex("vid", id.Vid),
            IdField.Hex("ssvid", id.Ssvid),
            IdField.Str("sn", id.SerialNumberField),
            IdField.Str("mn", id.ModelNumberField),
            IdField.Str("fr", id.FirmwareRevisionField),
            IdField.Dec("rab", id.Rab),
            new IdField("ieee", (ulong)ieee, $"{ieee:x6}"),
            IdField.Hex("cmic", id.Cmic, IdCtrlDecoders.Cmic(id.Cmic)),
            IdField.Dec("mdts", id.Mdts),
            IdField.Hex("cntlid", id.Cntlid),
            IdField.Hex("ver", id.Ver),
            IdField.Hex("rtd3r", id.Rtd3r),
            IdField.Hex("rtd3e", id.Rtd3e),
            IdField.Hex("oaes", id.Oaes, IdCtrlDecoders.Oaes(id.Oaes)),
            IdField.Hex("ctratt", id.Ctratt, IdCtrlDecoders.Ctratt(id.Ctratt)),
            IdField.Hex("rrls", id.Rrls),
            IdField.Dec("cntrltype", id.Cntrltype, IdCtrlDecoders.Cntrltype(id.Cntrltype)),
            IdField.Str("fguid", Uuid(id.FruGuid)),
            IdField.Dec("crdt1", id.Crdt1),
            IdField.Dec("crdt2", id.Crdt2),
            IdField.Dec("crdt3", id.Crdt3),
            IdField.Dec("nvmsr", id.Nvmsr, IdCtrlDecoders.Nvmsr(id.Nvmsr)),
            IdField.Dec("vwci", id.Vwci, IdCtrlDecoders.Vwci(id.Vwci)),
            IdField.Dec("mec", id.Mec, IdCtrlDecoders.Mec(id.Mec)),
            IdField.Hex("oacs", id.Oacs, IdCtrlDecoders.Oacs(id.Oacs)),
            IdField.Dec("acl", id.Acl),
            IdField.Dec("aerl", id.Aerl),
            IdField.Hex("frmw", id.Frmw, IdCtrlDecoders.Frmw(id.Frmw)),
            IdField.Hex("lpa", id.Lpa, IdCtrlDecoders.Lpa(id.Lpa)),
            IdField.Dec("elpe", id.Elpe, o => o.WriteLine($"  [7:0] : {id.Elpe} (0's based)\tError Log Page Entries (ELPE)\n")),
            IdField.Dec("npss", id.Npss, o => o.WriteLine($"  [7:0] : {id.Npss} (0's based)\tNumber of Power States Support (NPSS)\n")),
            IdField.Hex("avscc", id.Avscc, IdCtrlDecoders.Avscc(id.Avscc)),
            IdField.Hex("apsta", id.Apsta, IdCtrlDecoders.Apsta(id.Apsta)),
            IdField.Dec("wctemp", id.Wctemp, Temperature(id.Wctemp, "Warning Composite Temperature Threshold (WCTEMP)")),
            IdField.Dec("cctemp", id.Cctemp, Temperature(id.Cctemp, "Critical Composite Temperature Threshold (CCTEMP)")),
            IdField.Dec("mtfa", id.Mtfa),
            IdField.Dec("hmpre", id.Hmpre),
            IdField.Dec("hmmin", id.Hmmin),
            IdField.Wide("tnvmcap", id.Tnvmcap, o => o.WriteLine($"[127:0] : {id.Tnvmcap}\n\tTotal NVM Capacity (TNVMCAP)\n")),
            IdField.Wide("unvmcap", id.Unvmcap, o => o.WriteLine($"[127:0] : {id.Unvmcap}\n\tUnallocated NVM Capacity (UNVMCAP)\n")),
            IdField.Hex("rpmbs", id.Rpmbs, IdCtrlDecoders.Rpmbs(id.Rpmbs)),
            IdField.Dec("edstt", id.Edstt),
            IdField.Dec("dsto", id.Dsto),
            IdField.Dec("fwug", id.Fwug),
            IdField.Dec("kas", id.Kas),
            IdField.Hex("hctma", id.Hctma, IdCtrlDecoders.Hctma(id.Hctma)),
            IdField.Dec("mntmt", id.Mntmt, Temperature(id.Mntmt, "Minimum Thermal Management Temperature (MNTMT)")),
            IdField.Dec("mxtmt", id.Mxtmt, Temperature(id.Mxtmt, "Maximum Thermal Management Temperature (MXTMT)")),
            IdField.Hex("sanicap", id.Sanicap, IdCtrlDecoders.Sanicap(id.Sanicap)),
            IdField.Dec("hmminds", id.Hmminds),
            IdField.Dec("hmmaxd", id.Hmmaxd),
            IdField.Dec("nsetidmax", id.Nsetidmax),
            IdField.Dec("endgidmax", id.Endgidmax),
            IdField.Dec("anatt", id.Anatt),
            IdField.Dec("anacap", id.Anacap, IdCtrlDecoders.Anacap(id.Anacap)),
            IdField.Dec("anagrpmax", id.Anagrpmax),
            IdField.Dec("nanagrpid", id.Nanagrpid),
            IdField.Dec("pels", id.Pels),
            IdField.Dec("domainid", id.Domainid),
            IdField.Wide("megcap", id.Megcap),
            IdField.Hex("sqes", id.Sqes, IdCtrlDecoders.QueueEntrySizes(id.Sqes, "SQ")),
            IdField.Hex("cqes", id.Cqes, IdCtrlDecoders.QueueEntrySizes(id.Cqes, "CQ")),
            IdField.Dec("maxcmd", id.Maxcmd),
            IdField.Dec("nn", id.Nn),
            IdField.Hex("oncs", id.Oncs, IdCtrlDecoders.Oncs(id.Oncs)),
            IdField.Hex("fuses", id.Fuses, IdCtrlDecoders.Fuses(id.Fuses)),
            IdField.Hex("fna", id.Fna, IdCtrlDecoders.Fna(id.Fna)),
            IdField.Hex("vwc", id.Vwc, IdCtrlDecoders.Vwc(id.Vwc)),
            IdField.Dec("awun", id.Awun),
            IdField.Dec("awupf", id.Awupf),
            IdField.Dec("icsvscc", id.Icsvscc, IdCtrlDecoders.Icsvscc(id.Icsvscc)),
            IdField.Dec("nwpc", id.Nwpc, IdCtrlDecoders.Nwpc(id.Nwpc)),
            IdField.Dec("acwu", id.Acwu),
            IdField.Hex("ocfs", id.Ocfs, IdCtrlDecoders.Ocfs(id.Ocfs)),
            IdField.Hex("sgls", id.Sgls, IdCtrlDecoders.Sgls(id.Sgls)),
            IdField.Dec("mnan", id.Mnan),
            IdField.Wide("maxdna", id.Maxdna),
            IdField.Dec("maxcna", id.Maxcna),
            IdField.Str("subnqn", id.SubsystemNqnField),
            IdField.Dec("ioccsz", id.Ioccsz),
            IdField.Dec("iorcsz", id.Iorcsz),
            IdField.Dec("icdoff", id.Icdoff),
            IdField.Hex("fcatt", id.Fcatt, IdCtrlDecoders.Fcatt(id.Fcatt)),
            IdField.Dec("msdbd", id.Msdbd),
            IdField.Dec("ofcs", id.Ofcs, IdCtrlDecoders.Ofcs(id.Ofcs)),
        ];
    }

    private static Action<TextWriter> Temperature(ushort kelvin, string name)
        => o => o.WriteLine($" [15:0] : {CliText.Kelvin(kelvin)}\t{name}\n");

    /// <summary>A UUID in its usual text form (bytes in page order).</summary>
    public static string Uuid(byte[] b)
        => $"{Convert.ToHexStringLower(b, 0, 4)}-{Convert.ToHexStringLower(b, 4, 2)}-{Convert.ToHexStringLower(b, 6, 2)}-{Convert.ToHexStringLower(b, 8, 2)}-{Convert.ToHexStringLower(b, 10, 6)}";
}
