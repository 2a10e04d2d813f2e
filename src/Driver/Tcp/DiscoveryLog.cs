using System.Buffers.Binary;
using System.Text;

namespace PolledNvme.Driver.Tcp;

/// <summary>
/// One Discovery Log Page entry (NVMe Base 2.0 §5.16.1.23, Fig 262): a subsystem port the
/// discovery controller refers to. Text fields are as stored, with the trailing NULs and spaces
/// removed. The numeric fields keep their spec codes; names for them belong to whoever prints.
/// </summary>
public sealed record DiscoveryLogEntry
{
    /// <summary>Bytes per entry.</summary>
    public const int Size = 1024;

    /// <summary>TRTYPE: 1 RDMA, 2 Fibre Channel, 3 TCP, 254 intra-host.</summary>
    public byte TransportType { get; init; }
    /// <summary>ADRFAM: 1 IPv4, 2 IPv6, 3 InfiniBand, 4 Fibre Channel, 254 intra-host.</summary>
    public byte AddressFamily { get; init; }
    /// <summary>SUBTYPE: 1 referral to a discovery service, 2 NVM subsystem, 3 current discovery subsystem.</summary>
    public byte SubsystemType { get; init; }
    /// <summary>TREQ: secure channel [1:0], SQ flow control disable supported [2].</summary>
    public byte TransportRequirements { get; init; }
    /// <summary>PORTID.</summary>
    public ushort PortId { get; init; }
    /// <summary>CNTLID (FFFFh: dynamic controller model).</summary>
    public ushort ControllerId { get; init; }
    /// <summary>ASQSZ: the largest admin submission queue.</summary>
    public ushort AdminMaxSqSize { get; init; }
    /// <summary>EFLAGS: duplicate returned information [0], explicit persistent connection [1], no CDC connectivity [2].</summary>
    public ushort EntryFlags { get; init; }
    /// <summary>TRSVCID: the port number as text for TCP.</summary>
    public string TransportServiceId { get; init; } = "";
    /// <summary>SUBNQN.</summary>
    public string SubsystemNqn { get; init; } = "";
    /// <summary>TRADDR: the address as text.</summary>
    public string TransportAddress { get; init; } = "";
    /// <summary>TSAS for TCP: SECTYPE (0 none, 1 TLS 1.2, 2 TLS 1.3).</summary>
    public byte TcpSecurityType { get; init; }
    /// <summary>The whole TSAS field (256 bytes, transport specific).</summary>
    public byte[] TransportSpecificAddress { get; init; } = [];

    /// <summary>The device string that opens this entry's subsystem with <c>NvmeController.Open</c> (TCP entries).</summary>
    public string DeviceString => AddressFamily == 2 ? $"tcp:[{TransportAddress}]:{TransportServiceId}/{SubsystemNqn}" : $"tcp:{TransportAddress}:{TransportServiceId}/{SubsystemNqn}";

    /// <summary>Decodes one 1024-byte entry.</summary>
    public static DiscoveryLogEntry Parse(ReadOnlySpan<byte> entry)
    {
        if (entry.Length < Size)
            throw new ArgumentException($"A discovery log entry is {Size} bytes; got {entry.Length}.", nameof(entry));
        return new DiscoveryLogEntry
        {
            TransportType = entry[0],
            AddressFamily = entry[1],
            SubsystemType = entry[2],
            TransportRequirements = entry[3],
            PortId = BinaryPrimitives.ReadUInt16LittleEndian(entry[4..]),
            ControllerId = BinaryPrimitives.ReadUInt16LittleEndian(entry[6..]),
            AdminMaxSqSize = BinaryPrimitives.ReadUInt16LittleEndian(entry[8..]),
            EntryFlags = BinaryPrimitives.ReadUInt16LittleEndian(entry[10..]),
            TransportServiceId = Text(entry.Slice(32, 32)),
            SubsystemNqn = Text(entry.Slice(256, 256)),
            TransportAddress = Text(entry.Slice(512, 256)),
            TcpSecurityType = entry[768],
            TransportSpecificAddress = entry.Slice(768, 256).ToArray(),
        };
    }

    /// <summary>Encodes the entry (the inverse of <see cref="Parse"/>; tests and tools build logs with it).</summary>
    public void Write(Span<byte> entry)
    {
        entry[..Size].Clear();
        entry[0] = TransportType;
        entry[1] = AddressFamily;
        entry[2] = SubsystemType;
        entry[3] = TransportRequirements;
        BinaryPrimitives.WriteUInt16LittleEndian(entry[4..], PortId);
        BinaryPrimitives.WriteUInt16LittleEndian(entry[6..], ControllerId);
        BinaryPrimitives.WriteUInt16LittleEndian(entry[8..], AdminMaxSqSize);
        BinaryPrimitives.WriteUInt16LittleEndian(entry[10..], EntryFlags);
        WriteText(entry.Slice(32, 32), TransportServiceId, (byte)' ');
        WriteText(entry.Slice(256, 256), SubsystemNqn, 0);
        WriteText(entry.Slice(512, 256), TransportAddress, (byte)' ');
        TransportSpecificAddress.AsSpan(0, Math.Min(256, TransportSpecificAddress.Length)).CopyTo(entry.Slice(768, 256));
        entry[768] = TcpSecurityType;
    }

    private static string Text(ReadOnlySpan<byte> field)
    {
        int nul = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? field : field[..nul]).TrimEnd(' ');
    }

    private static void WriteText(Span<byte> field, string value, byte pad)
    {
        field.Fill(pad);
        Encoding.UTF8.GetBytes(value.AsSpan(0, Math.Min(value.Length, field.Length)), field);
    }
}

/// <summary>The Discovery Log Page (Fig 261): generation counter, record format and entries.</summary>
/// <param name="GenerationCounter">GENCTR: changes whenever the log changes.</param>
/// <param name="RecordFormat">RECFMT: 0 is the only defined format.</param>
/// <param name="Entries">The entries (NUMREC of them).</param>
public sealed record DiscoveryLog(ulong GenerationCounter, ushort RecordFormat, IReadOnlyList<DiscoveryLogEntry> Entries)
{
    /// <summary>Bytes of the log header before the first entry.</summary>
    public const int HeaderSize = 1024;
}
