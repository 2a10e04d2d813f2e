using System.Buffers.Binary;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Tcp;

/// <summary>
/// Reads an NVMe/TCP discovery controller's log (what <c>nvme discover</c> prints): connects the
/// admin queue to the discovery NQN (KATO 0: it only reads and leaves), enables the controller
/// through Property Set/Get, reads the Discovery log page (70h) — header, entries in pieces,
/// the header again — and retries when the generation counter changed meanwhile, then shuts
/// the controller down and closes the connection. A discovery controller has no I/O queues
/// and no namespaces, so this does not go through <see cref="NvmeController"/>.
/// </summary>
public static class NvmeDiscovery
{
    private const int MaxAttempts = 10;
    private const int EntriesPerRead = 60;   // 60 KiB: within the admin queue's transfer limit

    /// <summary>Reads the discovery log at <paramref name="address"/>: <c>tcp:ADDR[:PORT][/NQN][,keys]</c>; the port defaults to 8009, the NQN to the well-known discovery NQN.</summary>
    /// <exception cref="ArgumentException">The device string is malformed.</exception>
    /// <exception cref="NvmeTcpException">The target cannot be reached or refused the connection.</exception>
    /// <exception cref="NvmeException">The controller failed a command (e.g. the NQN names an NVM subsystem, which has no discovery log).</exception>
    public static DiscoveryLog ReadLog(string address, TimeSpan? timeout = null)
        => ReadLog(NvmeTcpOptions.Parse(address), timeout, address);

    /// <summary>Reads the discovery log of the controller <paramref name="options"/> name.</summary>
    public static DiscoveryLog ReadLog(NvmeTcpOptions options, TimeSpan? timeout = null, string? address = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var transport = new NvmeTcpTransport(options with { KeepAliveTimeout = TimeSpan.Zero }, address);
        using var memory = new DmaAllocator(transport, transport.DefaultMemoryOptions);
        var registers = new ControllerRegisterState(transport);
        TransportQueuePair pair = transport.CreateAdminQueuePair(new QueuePairSettings(0, 32, memory, 4096, EntriesPerRead * DiscoveryLogEntry.Size));
        using var admin = new AdminQueue(transport, pair, registers, memory, timeout ?? TimeSpan.FromSeconds(10));
        transport.ConnectAdminQueue(admin);
        registers.Disable();
        registers.Enable(mps: 0);
        try
        {
            return Read(admin, memory, transport.Address);
        }
        finally
        {
            try
            {
                registers.Shutdown();
            }
            catch (Exception e) when (e is NvmeControllerException or NvmeException)
            {
                // The log is read; a controller that will not shut down cleanly loses nothing.
            }
        }
    }

    private static DiscoveryLog Read(AdminQueue admin, DmaAllocator memory, string address)
    {
        using DmaBuffer buffer = memory.Allocate(EntriesPerRead * DiscoveryLogEntry.Size);
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            (ulong generation, ulong count, ushort format) = ReadHeader(admin, buffer);
            if (format != 0)
                throw new NvmeProtocolException($"{address}: the discovery log has record format {format}; only format 0 is defined.");
            if (count > 4096)
                throw new NvmeProtocolException($"{address}: the discovery log claims {count} records; refusing to read more than 4096.");
            var entries = new List<DiscoveryLogEntry>((int)count);
            while (entries.Count < (int)count)
            {
                int chunk = Math.Min(EntriesPerRead, (int)count - entries.Count);
                int bytes = chunk * DiscoveryLogEntry.Size;
                ulong offset = DiscoveryLog.HeaderSize + (ulong)entries.Count * DiscoveryLogEntry.Size;
                buffer.Span[..bytes].Clear();
                admin.Execute(AdminCommandBuilder.GetLogPage(LogPageId.Discovery, bytes, nsid: 0, offset), buffer, bytes);
                for (int i = 0; i < chunk; i++)
                    entries.Add(DiscoveryLogEntry.Parse(buffer.Span.Slice(i * DiscoveryLogEntry.Size, DiscoveryLogEntry.Size)));
            }
            (ulong after, ulong countAfter, _) = ReadHeader(admin, buffer);
            if (after == generation && countAfter == count)
                return new DiscoveryLog(generation, format, entries);
        }
        throw new NvmeProtocolException($"{address}: the discovery log changed while it was read, {MaxAttempts} times in a row; try again.");
    }

    private static (ulong Generation, ulong Count, ushort Format) ReadHeader(AdminQueue admin, DmaBuffer buffer)
    {
        buffer.Span[..DiscoveryLog.HeaderSize].Clear();
        admin.Execute(AdminCommandBuilder.GetLogPage(LogPageId.Discovery, DiscoveryLog.HeaderSize, nsid: 0), buffer, DiscoveryLog.HeaderSize);
        ReadOnlySpan<byte> header = buffer.Span;
        return (BinaryPrimitives.ReadUInt64LittleEndian(header), BinaryPrimitives.ReadUInt64LittleEndian(header[8..]), BinaryPrimitives.ReadUInt16LittleEndian(header[16..]));
    }
}
