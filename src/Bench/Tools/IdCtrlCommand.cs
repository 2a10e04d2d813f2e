using PolledNvme.Bench.Options;
using PolledNvme.Driver.Spec;

namespace PolledNvme.Bench.Tools;

/// <summary><c>pnvme id-ctrl</c>: the Identify Controller page (CNS 01h), nvme-cli's field names.</summary>
internal static class IdCtrlCommand
{
    public const string Usage = """
        usage: pnvme id-ctrl --device DEV [--output-format normal|json]
        Prints the Identify Controller data structure (CNS 01h) with nvme-cli's field names.
        exit codes: 0 ok; 1 the device or the command failed; 2 usage
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Guard("id-ctrl", stderr, () =>
    {
        if (args.Contains("--help")) { stdout.WriteLine(Usage); return Cli.ExitOk; }
        var a = new ArgReader(args, ToolContext.CommonValueFlags, [], ToolContext.CommonAliases);
        var (device, format, _) = ToolContext.Common(a);
        using var controller = ToolContext.Open(device);
        var id = ToolContext.Identify<IdentifyController>(controller, IdentifyCns.Controller, 0);
        var fields = Fields(id);
        if (format == OutputFormat.Json)
        {
            ToolContext.WriteJson(stdout, w =>
            {
                w.WriteStartObject();
                foreach (var (name, value, _) in fields)
                {
                    if (value is string s) w.WriteString(name, s);
                    else w.WriteNumber(name, Convert.ToUInt64(value));
                }
                w.WriteEndObject();
            });
        }
        else
        {
            stdout.WriteLine("NVME Identify Controller:");
            foreach (var (name, value, hex) in fields)
                stdout.WriteLine($"{name,-9} : {(value is string s ? s : hex ? $"0x{Convert.ToUInt64(value):x}" : Convert.ToUInt64(value).ToString())}");
        }
        return Cli.ExitOk;
    });

    /// <summary>The fields in page order: name, value, shown in hex.</summary>
    public static List<(string Name, object Value, bool Hex)> Fields(in IdentifyController id)
    {
        uint ver = id.Ver;
        return
        [
            ("vid", id.Vid, true),
            ("ssvid", id.Ssvid, true),
            ("sn", id.SerialNumber, false),
            ("mn", id.ModelNumber, false),
            ("fr", id.FirmwareRevision, false),
            ("rab", id.Rab, false),
            ("ieee", Ieee(id), true),
            ("cmic", id.Cmic, false),
            ("mdts", id.Mdts, false),
            ("cntlid", id.Cntlid, true),
            ("ver", ver, true),
            ("oaes", id.Oaes, true),
            ("ctratt", id.Ctratt, true),
            ("cntrltype", id.Cntrltype, false),
            ("oacs", id.Oacs, true),
            ("acl", id.Acl, false),
            ("aerl", id.Aerl, false),
            ("frmw", id.Frmw, true),
            ("lpa", id.Lpa, true),
            ("elpe", id.Elpe, false),
            ("npss", id.Npss, false),
            ("wctemp", id.Wctemp, false),
            ("cctemp", id.Cctemp, false),
            ("sqes", id.Sqes, true),
            ("cqes", id.Cqes, true),
            ("maxcmd", id.Maxcmd, false),
            ("nn", id.Nn, false),
            ("oncs", id.Oncs, true),
            ("fuses", id.Fuses, true),
            ("fna", id.Fna, true),
            ("vwc", id.Vwc, true),
            ("awun", id.Awun, false),
            ("awupf", id.Awupf, false),
            ("sgls", id.Sgls, true),
            ("subnqn", id.SubsystemNqn, false),
        ];
    }

    private static unsafe uint Ieee(IdentifyController id)
        => (uint)(id.Ieee[0] | id.Ieee[1] << 8 | id.Ieee[2] << 16);
}
