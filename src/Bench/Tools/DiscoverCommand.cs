using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;
using PolledNvme.Driver.Tcp;

namespace PolledNvme.Bench.Tools;

/// <summary>
/// <c>pnvme discover tcp:ADDR[:PORT]</c>: reads an NVMe/TCP discovery controller's log (log page
/// 70h) and prints it as <c>nvme discover</c> does (nvme-cli 2.3 with libnvme 1.3: the same
/// record lines and names, <c>-o json</c> the same JSON). nvme-cli's <c>-t tcp -a ADDR -s PORT</c>
/// form works too. The port defaults to 8009 (the discovery port), as in nvme-cli.
/// </summary>
internal static class DiscoverCommand
{
    private static readonly ToolSpec Spec = new("discover", "pnvme discover tcp:ADDR[:PORT][,hostnqn=..,hdgst=1,...] [OPTIONS]",
        "Discovery log (log page 70h) of an NVMe/TCP discovery controller: the subsystems and ports it refers to.",
        [
            ToolContext.Device,
            CliOption.Of("transport", 't', "TRTYPE", "transport type (tcp), with --traddr instead of the device string"),
            CliOption.Of("traddr", 'a', "TRADDR", "the discovery controller's address"),
            CliOption.Of("trsvcid", 's', "TRSVCID", "its port (default 8009)"),
            CliOption.Of("hostnqn", 'q', "HOSTNQN", "this host's NQN"),
            CliOption.Of("hostid", 'I', "HOSTID", "this host's ID (a UUID)"),
            CliOption.Of("nqn", 'n', "NQN", "the discovery subsystem's NQN (default nqn.2014-08.org.nvmexpress.discovery)"),
            ToolContext.OutputFormatText,
        ]);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => ToolContext.Run(Spec, args, stdout, a =>
    {
        string device = DeviceOf(a);
        ToolOutput format = ToolContext.OutputOf(a, binaryAllowed: false);
        DiscoveryLog log = NvmeDiscovery.ReadLog(device);
        if (format == ToolOutput.Json)
            PrintJson(stdout, log);
        else
            PrintNormal(stdout, log);
        return Cli.ExitOk;
    });

    /// <summary>The device string: the positional one (or --device), or built from nvme-cli's -t/-a/-s/-q/-I/-n.</summary>
    private static string DeviceOf(NvmeCliArgs a)
    {
        string? traddr = a.Get("traddr");
        if (traddr is null)
        {
            if (a.Positionals.Count == 0 && a.Get("device") is null)
                throw new UsageException("<device>", "is required: tcp:ADDR[:PORT] (or nvme-cli's -t tcp -a ADDR [-s PORT])");
            string device = ToolContext.DeviceOf(a).Text!;
            foreach (string flag in new[] { "transport", "trsvcid", "hostnqn", "hostid", "nqn" })
                if (a.Get(flag) is not null)
                    throw new UsageException("--" + flag, "goes with -a/--traddr; with a device string give it as a key (tcp:ADDR:PORT/NQN,hostnqn=...)");
            if (!device.StartsWith(NvmeTcpOptions.Scheme + ":", StringComparison.Ordinal))
                throw new UsageException("<device>", $"'{device}' is not an NVMe/TCP address: discover reads tcp:ADDR[:PORT]");
            return device;
        }
        if (a.Positionals.Count != 0 || a.Get("device") is not null)
            throw new UsageException("--traddr", "give the controller either as a device string or with -a/--traddr, not both");
        string transport = a.Get("transport") ?? throw new UsageException("--transport", "is required with --traddr (tcp)");
        if (transport != "tcp")
            throw new UsageException("--transport", $"'{transport}': pnvme's fabrics transport is tcp");
        string host = traddr.Contains(':') ? $"[{traddr}]" : traddr;
        string port = a.Get("trsvcid") ?? NvmeTcpOptions.DefaultDiscoveryPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string nqn = a.Get("nqn") is { } n ? "/" + n : "";
        string keys = (a.Get("hostnqn") is { } q ? ",hostnqn=" + q : "") + (a.Get("hostid") is { } id ? ",hostid=" + id : "");
        string built = $"tcp:{host}:{port}{nqn}{keys}";
        try
        {
            NvmeTcpOptions.Parse(built);   // checked before anything connects, like a device string
        }
        catch (ArgumentException e)
        {
            throw new UsageException("--traddr", $"-a/-s/-n/-q/-I make {DeviceSpec.Naming(built, DeviceSpec.MessageOf(e))}", e);
        }
        return built;
    }

    /// <summary>The text <c>nvme discover</c> prints.</summary>
    public static void PrintNormal(TextWriter o, DiscoveryLog log)
    {
        o.WriteLine();
        o.WriteLine($"Discovery Log Number of Records {log.Entries.Count}, Generation counter {log.GenerationCounter}");
        for (int i = 0; i < log.Entries.Count; i++)
        {
            DiscoveryLogEntry e = log.Entries[i];
            o.WriteLine($"=====Discovery Log Entry {i}======");
            o.WriteLine($"trtype:  {DiscoveryNames.TransportType(e.TransportType)}");
            o.WriteLine($"adrfam:  {(e.TransportAddress.Length > 0 ? DiscoveryNames.AddressFamily(e.AddressFamily) : "")}");
            o.WriteLine($"subtype: {DiscoveryNames.SubsystemType(e.SubsystemType)}");
            o.WriteLine($"treq:    {DiscoveryNames.Requirements(e.TransportRequirements)}");
            o.WriteLine($"portid:  {e.PortId}");
            o.WriteLine($"trsvcid: {e.TransportServiceId}");
            o.WriteLine($"subnqn:  {e.SubsystemNqn}");
            o.WriteLine($"traddr:  {e.TransportAddress}");
            o.WriteLine($"eflags:  {DiscoveryNames.EntryFlags(e.EntryFlags)}");
            foreach ((string key, string value) in DiscoveryNames.TransportFields(e))
                o.WriteLine($"{key}{value}");
        }
    }

    /// <summary>The JSON <c>nvme discover -o json</c> prints.</summary>
    public static void PrintJson(TextWriter o, DiscoveryLog log) => ToolContext.WriteJson(o, w =>
    {
        w.WriteStartObject();
        w.WriteNumber("genctr", log.GenerationCounter);
        w.WriteStartArray("records");
        foreach (DiscoveryLogEntry e in log.Entries)
        {
            w.WriteStartObject();
            w.WriteString("trtype", DiscoveryNames.TransportType(e.TransportType));
            w.WriteString("adrfam", DiscoveryNames.AddressFamily(e.AddressFamily));
            w.WriteString("subtype", DiscoveryNames.SubsystemType(e.SubsystemType));
            w.WriteString("treq", DiscoveryNames.Requirements(e.TransportRequirements));
            w.WriteNumber("portid", e.PortId);
            w.WriteString("trsvcid", e.TransportServiceId);
            w.WriteString("subnqn", e.SubsystemNqn);
            w.WriteString("traddr", e.TransportAddress);
            w.WriteString("eflags", DiscoveryNames.EntryFlags(e.EntryFlags));
            foreach ((string key, string value) in DiscoveryNames.TransportFields(e))
            {
                string name = key.TrimEnd(':', ' ');
                if (name == "rdma_pkey")
                    w.WriteNumber(name, Convert.ToUInt16(value, 16));
                else
                    w.WriteString(name, value);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    });
}

/// <summary>The names libnvme 1.3 gives the discovery log's codes (what nvme-cli prints); "unrecognized" otherwise.</summary>
internal static class DiscoveryNames
{
    private const string Unrecognized = "unrecognized";

    public static string TransportType(byte code) => code switch
    {
        1 => "rdma",
        2 => "fc",
        3 => "tcp",
        254 => "loop",
        _ => Unrecognized,
    };

    public static string AddressFamily(byte code) => code switch
    {
        0 => "pci",
        1 => "ipv4",
        2 => "ipv6",
        3 => "infiniband",
        4 => "fibre-channel",
        _ => Unrecognized,
    };

    public static string SubsystemType(byte code) => code switch
    {
        1 => "discovery subsystem referral",
        2 => "nvme subsystem",
        3 => "current discovery subsystem",
        _ => Unrecognized,
    };

    public static string Requirements(byte code) => code switch
    {
        0 => "not specified",
        1 => "required",
        2 => "not required",
        4 => "not specified, sq flow control disable supported",
        _ => Unrecognized,
    };

    /// <summary>EFLAGS: DUPRETINFO bit 0, EPCSD bit 1, NCC bit 2.</summary>
    public static string EntryFlags(ushort flags)
    {
        if (flags > 7)
            return Unrecognized;
        if (flags == 0)
            return "none";
        var parts = new List<string>(3);
        if ((flags & 2) != 0) parts.Add("explicit discovery connections");
        if ((flags & 1) != 0) parts.Add("duplicate discovery information");
        if ((flags & 4) != 0) parts.Add("no cdc connectivity");
        return string.Join(", ", parts);
    }

    /// <summary>The per-transport lines after eflags: sectype for TCP, the four RDMA fields for RDMA.</summary>
    public static IEnumerable<(string Key, string Value)> TransportFields(DiscoveryLogEntry e)
    {
        if (e.TransportType == 3)
        {
            yield return ("sectype: ", e.TcpSecurityType switch { 0 => "none", 1 => "tls", 2 => "tls13", _ => Unrecognized });
        }
        else if (e.TransportType == 1 && e.TransportSpecificAddress.Length >= 10)
        {
            byte[] t = e.TransportSpecificAddress;
            yield return ("rdma_prtype: ", t[1] switch { 1 => "not specified", 2 => "infiniband", 3 => "roce", 4 => "roce-v2", 5 => "iwarp", _ => Unrecognized });
            yield return ("rdma_qptype: ", t[0] switch { 1 => "connected", 2 => "datagram", _ => Unrecognized });
            yield return ("rdma_cms:    ", t[2] == 1 ? "rdma-cm" : Unrecognized);
            yield return ("rdma_pkey: ", $"0x{t[8] | (t[9] << 8):x4}");
        }
    }
}
