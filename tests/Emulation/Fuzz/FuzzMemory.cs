using System.IO.Hashing;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>
/// Every piece of host memory the fuzzer shows the controller, each a <see cref="GuardedRegion"/>:
/// rings (admin and one slot per I/O queue id), the data, tail, metadata and list regions that
/// commands point into, the oracle's own buffers, a canary region that is mapped but never
/// named by any command, and a retired region that was mapped and then unmapped (its IOVA is
/// stale, its host pages keep a canary). The fuzzer translates IOVAs with its own table, so its
/// PRP oracle does not share code with the controller's.
/// </summary>
internal sealed unsafe class FuzzMemory : IDisposable
{
    /// <summary>Largest memory page size (CAP.MPSMAX = 4): every ring and list can be aligned to it.</summary>
    public const int MaxPageSize = 64 * 1024;
    /// <summary>Largest admin queue the fuzzer enables.</summary>
    public const int MaxAdminEntries = 64;
    /// <summary>PRP list space: two list pages per command of a batch at the largest page size.</summary>
    private const int ListPages = 2 * 8;

    private readonly List<GuardedRegion> _regions = [];
    private GuardedRegion[] _mapped = [];
    private ulong _canaryHash;
    private ulong _retiredHash;

    public FuzzMemory(NvmeTransport transport, int ioQueuePairs, int maxQueueEntries, int maxTransferBytes, Random random)
    {
        try
        {
            AdminSq = Add(transport, "admin SQ", MaxAdminEntries * SubmissionEntry.Size + MaxPageSize);
            AdminCq = Add(transport, "admin CQ", MaxAdminEntries * CompletionEntry.Size + MaxPageSize);
            IoSq = new GuardedRegion[ioQueuePairs + 1];
            IoCq = new GuardedRegion[ioQueuePairs + 1];
            for (int q = 1; q <= ioQueuePairs; q++)
            {
                IoSq[q] = Add(transport, $"I/O SQ {q} slot", maxQueueEntries * SubmissionEntry.Size + MaxPageSize);
                IoCq[q] = Add(transport, $"I/O CQ {q} slot", maxQueueEntries * CompletionEntry.Size + MaxPageSize);
            }
            Data = Add(transport, "data", 2 * maxTransferBytes + 2 * MaxPageSize);
            Tail = Add(transport, "tail", GuardedRegion.HostPage);
            Metadata = Add(transport, "metadata", maxTransferBytes / 512 * 64 + MaxPageSize);
            Lists = Add(transport, "lists", (ListPages + 1) * MaxPageSize);
            OracleData = Add(transport, "oracle data", maxTransferBytes + MaxPageSize);
            OracleMetadata = Add(transport, "oracle metadata", maxTransferBytes / 512 * 64 + GuardedRegion.HostPage);
            OracleLists = Add(transport, "oracle lists", 3 * MaxPageSize);
            ShadowDoorbells = Add(transport, "shadow doorbells", 2 * MaxPageSize);
            EventIndexes = Add(transport, "EventIdx", 2 * MaxPageSize);
            Canary = Add(transport, "canary", 8 * GuardedRegion.HostPage);
            Retired = Add(transport, "retired", 4 * GuardedRegion.HostPage);
            random.NextBytes(Data.Span);
            random.NextBytes(Tail.Span);
            random.NextBytes(Metadata.Span);
            random.NextBytes(Canary.Span);
            random.NextBytes(Retired.Span);
            _canaryHash = XxHash3.HashToUInt64(Canary.Span);
            _retiredHash = XxHash3.HashToUInt64(Retired.Span);
            Retired.Unmap();
            _mapped = _regions.Where(r => r.IsMapped).OrderBy(r => r.Iova).ToArray();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public GuardedRegion AdminSq { get; }
    public GuardedRegion AdminCq { get; }
    /// <summary>Ring slot of I/O submission queue id q (index q; 0 unused).</summary>
    public GuardedRegion[] IoSq { get; }
    public GuardedRegion[] IoCq { get; }
    /// <summary>Where transfers go: room for two largest transfers at the largest page size.</summary>
    public GuardedRegion Data { get; }
    /// <summary>One page: the last bytes of a mapping, with the unmapped IOVA guard page right after.</summary>
    public GuardedRegion Tail { get; }
    /// <summary>Separate metadata (MPTR).</summary>
    public GuardedRegion Metadata { get; }
    /// <summary>PRP lists, Dataset Management ranges and feature buffers the fuzzer builds; commands never write here.</summary>
    public GuardedRegion Lists { get; }
    public GuardedRegion OracleData { get; }
    public GuardedRegion OracleMetadata { get; }
    public GuardedRegion OracleLists { get; }
    /// <summary>Mapped, never named by a command: it must never change.</summary>
    public GuardedRegion Canary { get; }
    /// <summary>Doorbell Buffer Config's two buffers (room for a memory-page-aligned page of slots at any MPS).</summary>
    public GuardedRegion ShadowDoorbells { get; }
    public GuardedRegion EventIndexes { get; }
    /// <summary>Mapped once, then unmapped: its IOVA is stale and its pages must never change.</summary>
    public GuardedRegion Retired { get; }

    private GuardedRegion Add(NvmeTransport transport, string name, int length)
    {
        var region = new GuardedRegion(transport, name, length);
        _regions.Add(region);
        return region;
    }

    /// <summary>The host address of <paramref name="length"/> bytes at <paramref name="iova"/>, or null unless one mapped region holds them all.</summary>
    public byte* Translate(ulong iova, ulong length)
    {
        var table = _mapped;
        int lo = 0, hi = table.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var r = table[mid];
            if (iova < r.Iova)
                hi = mid - 1;
            else if (iova >= r.IovaEnd)
                lo = mid + 1;
            else
                return length <= r.IovaEnd - iova ? r.Host + (iova - r.Iova) : null;
        }
        return null;
    }

    /// <summary>The region a host address lies in (for canaries), or null.</summary>
    public GuardedRegion? RegionOf(byte* host)
    {
        foreach (var r in _regions)
            if (host >= r.Host && host < r.Host + r.Length)
                return r;
        return null;
    }

    /// <summary>
    /// Whether the range lies in memory commands may name (data, tail, metadata, lists) rather
    /// than in the fuzzer's own (rings, oracle buffers, canary region).
    /// </summary>
    public bool IsCommandMemory(HostRange range)
        => RegionOf((byte*)range.Host) is { } r && (r == Data || r == Tail || r == Metadata || r == Lists)
            && range.End <= (nint)(r.Host + r.Length);

    /// <summary>Which untouchable region changed, or null when both still hold their canaries.</summary>
    public string? CheckCanaryRegions()
    {
        if (XxHash3.HashToUInt64(Canary.Span) != _canaryHash)
            return $"the canary region (IOVA 0x{Canary.Iova:X}, mapped but never named by a command) changed: the device wrote where no command pointed";
        if (XxHash3.HashToUInt64(Retired.Span) != _retiredHash)
            return $"the retired region (IOVA 0x{Retired.Iova:X}, unmapped) changed: the device wrote through a stale mapping";
        return null;
    }

    public void Dispose()
    {
        foreach (var r in _regions)
            r.Dispose();
    }
}
