using System.Globalization;
using System.Net;
using System.Text;

namespace PolledNvme.Driver.Tcp;

/// <summary>
/// Where an NVMe/TCP controller is and how to talk to it: the device string
/// <c>tcp:ADDR[:PORT]/SUBNQN[,key=value...]</c> parsed (<see cref="Parse"/>), or built in code.
/// ADDR is an IPv4 address, a bracketed IPv6 address (<c>[::1]</c>) or a host name; PORT
/// defaults to 4420 (the NVMe/TCP I/O port; 8009 for a discovery controller). Keys:
/// <c>hostnqn=</c>, <c>hostid=</c> (a UUID), <c>hdgst=0|1</c> and <c>ddgst=0|1</c> (header and
/// data digests, CRC-32C), <c>kato=SECONDS</c> (Keep Alive Timeout; 0 disables keep-alive),
/// <c>queues=N</c> (I/O queues asked for), <c>qsize=N</c> (largest I/O queue, entries),
/// <c>sqflow=0|1</c> (0 disables SQ flow control: reads then end with a C2HData carrying
/// SUCCESS and no response capsule). A key given twice, an unknown key or a bad value is
/// refused with an <see cref="ArgumentException"/> naming it.
/// </summary>
public sealed record NvmeTcpOptions
{
    /// <summary>The device string scheme.</summary>
    public const string Scheme = "tcp";

    /// <summary>The well-known NQN of a discovery controller (NVMe Base 2.0 §3.1.3.4).</summary>
    public const string DiscoveryNqn = "nqn.2014-08.org.nvmexpress.discovery";

    /// <summary>The IANA port of NVMe/TCP I/O controllers.</summary>
    public const int DefaultPort = 4420;

    /// <summary>The IANA port of NVMe/TCP discovery controllers.</summary>
    public const int DefaultDiscoveryPort = 8009;

    /// <summary>Longest NQN in UTF-8 bytes (NVMe Base 2.0 §4.5).</summary>
    public const int MaxNqnBytes = 223;

    private const string AcceptedKeys = "hostnqn, hostid, hdgst, ddgst, kato, queues, qsize, sqflow";

    /// <summary>The target's address: an IP address or a host name.</summary>
    public required string Host { get; init; }

    /// <summary>The target's TCP port (TRSVCID).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>The subsystem to connect to (SUBNQN).</summary>
    public required string SubsystemNqn { get; init; }

    /// <summary>This host's NQN; null: /etc/nvme/hostnqn when present (as nvme-cli), else one derived from this machine's id.</summary>
    public string? HostNqn { get; init; }

    /// <summary>This host's identifier; null: /etc/nvme/hostid, or the UUID in the host NQN, or one derived from it.</summary>
    public Guid? HostId { get; init; }

    /// <summary>Header digest (CRC-32C over every PDU header).</summary>
    public bool HeaderDigest { get; init; }

    /// <summary>Data digest (CRC-32C over the data of every PDU): what protects data in flight over TCP.</summary>
    public bool DataDigest { get; init; }

    /// <summary>Keep Alive Timeout sent in the admin Connect (whole seconds); zero disables keep-alive. Default 10 s.</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>I/O queues to ask for (Set Features Number of Queues); null: the controller options' <see cref="NvmeControllerOptions.RequestedIoQueues"/>.</summary>
    public int? IoQueues { get; init; }

    /// <summary>The largest I/O queue (entries, SQSIZE + 1) this host creates; null: the controller's CAP.MQES + 1.</summary>
    public int? MaxQueueEntries { get; init; }

    /// <summary>SQ flow control (default on, as Linux and SPDK hosts do); off lets a read end with a C2HData that carries SUCCESS.</summary>
    public bool SqFlowControl { get; init; } = true;

    /// <summary>How long a TCP connect and the ICReq/ICResp exchange may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>True for the discovery controller's NQN.</summary>
    public bool IsDiscovery => SubsystemNqn == DiscoveryNqn;

    /// <summary>
    /// Parses <c>tcp:ADDR[:PORT]/SUBNQN[,key=value...]</c>. Without <c>/SUBNQN</c> the string
    /// names a discovery controller (port 8009 unless given), as <c>pnvme discover</c> takes it.
    /// </summary>
    /// <exception cref="ArgumentException">The string is malformed; the message names the part or key and what is accepted.</exception>
    public static NvmeTcpOptions Parse(string address)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        const string Form = "tcp:ADDR[:PORT]/SUBNQN[,key=value...] (e.g. tcp:127.0.0.1:4420/nqn.2024-01.io.example:ns1,ddgst=1)";
        if (!address.StartsWith(Scheme + ":", StringComparison.Ordinal))
            throw new ArgumentException($"'{address}' is not an NVMe/TCP device string: expected {Form}.", nameof(address));
        string rest = address[(Scheme.Length + 1)..];
        string[] parts = rest.Split(',');
        string target = parts[0];
        int slash = target.IndexOf('/');
        string endpoint = slash < 0 ? target : target[..slash];
        string? nqn = slash < 0 ? null : target[(slash + 1)..];
        if (nqn is { Length: 0 })
            throw new ArgumentException($"'{address}': the subsystem NQN after '/' is empty; expected {Form}.", nameof(address));
        (string host, int? port) = ParseEndpoint(endpoint, address, Form);
        var options = new NvmeTcpOptions
        {
            Host = host,
            Port = port ?? (nqn is null ? DefaultDiscoveryPort : DefaultPort),
            SubsystemNqn = nqn ?? DiscoveryNqn,
        };
        CheckNqn(options.SubsystemNqn, "the subsystem NQN");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 1; i < parts.Length; i++)
        {
            string part = parts[i];
            int eq = part.IndexOf('=');
            if (eq <= 0)
                throw new ArgumentException($"'{part}' in '{address}' is not key=value; accepted keys: {AcceptedKeys}.", nameof(address));
            string key = part[..eq], value = part[(eq + 1)..];
            if (!seen.Add(key))
                throw new ArgumentException($"key '{key}' is given twice in '{address}'; give each key once.", nameof(address));
            options = Apply(options, key, value);
        }
        return options;
    }

    /// <summary>The device string these options stand for (keys only where they differ from the defaults).</summary>
    public override string ToString()
    {
        var s = new StringBuilder(Scheme).Append(':');
        s.Append(Host.Contains(':') ? $"[{Host}]" : Host).Append(':').Append(Port.ToString(CultureInfo.InvariantCulture));
        if (!IsDiscovery)
            s.Append('/').Append(SubsystemNqn);
        if (HostNqn is not null) s.Append(",hostnqn=").Append(HostNqn);
        if (HostId is { } id) s.Append(",hostid=").Append(id.ToString("D"));
        if (HeaderDigest) s.Append(",hdgst=1");
        if (DataDigest) s.Append(",ddgst=1");
        if (KeepAliveTimeout != TimeSpan.FromSeconds(10)) s.Append(",kato=").Append(((int)KeepAliveTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture));
        if (IoQueues is { } q) s.Append(",queues=").Append(q.ToString(CultureInfo.InvariantCulture));
        if (MaxQueueEntries is { } e) s.Append(",qsize=").Append(e.ToString(CultureInfo.InvariantCulture));
        if (!SqFlowControl) s.Append(",sqflow=0");
        return s.ToString();
    }

    /// <summary>Checks the options a constructor got in code the way <see cref="Parse"/> checks a string.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Host, nameof(Host));
        if (Port is < 1 or > 65535)
            throw new ArgumentException($"Port {Port} is not a TCP port (1-65535).", nameof(Port));
        CheckNqn(SubsystemNqn, "the subsystem NQN");
        if (HostNqn is not null)
            CheckNqn(HostNqn, "hostnqn");
        if (KeepAliveTimeout < TimeSpan.Zero || KeepAliveTimeout > TimeSpan.FromSeconds(65535) || KeepAliveTimeout.Ticks % TimeSpan.TicksPerSecond != 0)
            throw new ArgumentException($"KeepAliveTimeout {KeepAliveTimeout} must be whole seconds, 0 (off) to 65535.", nameof(KeepAliveTimeout));
        if (IoQueues is < 1 or > 65535)
            throw new ArgumentException($"IoQueues {IoQueues} must be 1-65535.", nameof(IoQueues));
        if (MaxQueueEntries is < 2 or > 65536)
            throw new ArgumentException($"MaxQueueEntries {MaxQueueEntries} must be 2-65536.", nameof(MaxQueueEntries));
        if (ConnectTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"ConnectTimeout {ConnectTimeout} must be positive.", nameof(ConnectTimeout));
    }

    private static (string Host, int? Port) ParseEndpoint(string endpoint, string address, string form)
    {
        string host;
        string? port = null;
        if (endpoint.StartsWith('['))
        {
            int close = endpoint.IndexOf(']');
            if (close < 0)
                throw new ArgumentException($"'{address}': the IPv6 address has no closing ']'; expected {form}.", nameof(address));
            host = endpoint[1..close];
            string after = endpoint[(close + 1)..];
            if (after.Length > 0)
            {
                if (after[0] != ':')
                    throw new ArgumentException($"'{address}': expected ':PORT' after the IPv6 address, found '{after}'.", nameof(address));
                port = after[1..];
            }
            if (!IPAddress.TryParse(host, out IPAddress? v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
                throw new ArgumentException($"'{address}': '{host}' is not an IPv6 address.", nameof(address));
        }
        else
        {
            int colon = endpoint.IndexOf(':');
            if (colon >= 0 && endpoint.IndexOf(':', colon + 1) >= 0)
                throw new ArgumentException($"'{address}': write an IPv6 address in brackets, e.g. tcp:[::1]:4420/NQN.", nameof(address));
            host = colon < 0 ? endpoint : endpoint[..colon];
            port = colon < 0 ? null : endpoint[(colon + 1)..];
        }
        if (host.Length == 0)
            throw new ArgumentException($"'{address}' names no address; expected {form}.", nameof(address));
        if (port is null)
            return (host, null);
        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 1 or > 65535)
            throw new ArgumentException($"'{address}': port '{port}' is not a TCP port (1-65535).", nameof(address));
        return (host, p);
    }

    private static NvmeTcpOptions Apply(NvmeTcpOptions o, string key, string value) => key switch
    {
        "hostnqn" => o with { HostNqn = CheckNqn(value, "hostnqn") },
        "hostid" => o with { HostId = Guid.TryParseExact(value, "D", out Guid id) ? id : throw Bad(key, value, "a UUID, e.g. 4c4c4544-0039-3510-804c-c6c04f4e3632") },
        "hdgst" => o with { HeaderDigest = Flag(key, value) },
        "ddgst" => o with { DataDigest = Flag(key, value) },
        "kato" => o with { KeepAliveTimeout = TimeSpan.FromSeconds(Range(key, value, 0, 65535)) },
        "queues" => o with { IoQueues = Range(key, value, 1, 65535) },
        "qsize" => o with { MaxQueueEntries = Range(key, value, 2, 65536) },
        "sqflow" => o with { SqFlowControl = Flag(key, value) },
        _ => throw new ArgumentException($"unknown key '{key}'; accepted keys: {AcceptedKeys}.", "address"),
    };

    private static string CheckNqn(string nqn, string what)
    {
        int bytes = Encoding.UTF8.GetByteCount(nqn);
        if (!nqn.StartsWith("nqn.", StringComparison.Ordinal) || bytes > MaxNqnBytes || nqn.Any(char.IsControl) || nqn.Contains(','))
            throw new ArgumentException($"{what} '{nqn}' is not an NQN: it starts with 'nqn.', has at most {MaxNqnBytes} UTF-8 bytes and no commas or control characters (e.g. nqn.2014-08.org.nvmexpress:uuid:...).", "address");
        return nqn;
    }

    private static bool Flag(string key, string value) => value switch
    {
        "1" => true,
        "0" => false,
        _ => throw Bad(key, value, "0 or 1"),
    };

    private static int Range(string key, string value, int min, int max)
        => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max ? n : throw Bad(key, value, $"{min}-{max}");

    private static ArgumentException Bad(string key, string value, string accepted) => new($"{key}: '{value}' is not valid; accepted: {accepted}.", "address");
}
