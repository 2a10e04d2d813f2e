using PolledNvme.Queues;

namespace PolledNvme.Emulation;

/// <summary>
/// The emulated controller's IOMMU: the only host memory the device may touch is what the host
/// mapped here. IOVAs are handed out from <see cref="IovaBase"/> upwards with an unmapped guard
/// page between mappings, so they never equal the host virtual addresses (a host that puts a
/// virtual address into a PRP is caught) and an overrun past a mapping never lands in another.
/// Map/Unmap (host side, rare) take a lock and publish a new immutable table; the device reads
/// the table with one volatile load and a binary search, without locks or allocation.
/// </summary>
internal sealed class DmaAddressSpace : IDmaMapper
{
    /// <summary>First IOVA handed out.</summary>
    public const ulong IovaBase = 0x1_0000_0000;
    private const ulong PageSize = 4096;

    private readonly record struct Mapping(ulong Iova, nint Host, ulong Length);

    private readonly object _writeLock = new();
    private Mapping[] _mappings = [];
    private ulong _nextIova = IovaBase;

    /// <summary>Number of live mappings.</summary>
    public int Count => Volatile.Read(ref _mappings).Length;

    /// <summary>Maps <paramref name="length"/> bytes at page-aligned <paramref name="address"/>; returns its IOVA.</summary>
    public ulong Map(nint address, nuint length)
    {
        if (address == 0)
            throw new ArgumentException("DMA map: the address is null.", nameof(address));
        if (((ulong)address & (PageSize - 1)) != 0)
            throw new ArgumentException($"DMA map: address 0x{address:X} is not 4 KiB aligned (IDmaMapper.Map needs page-aligned memory).", nameof(address));
        if (length == 0)
            throw new ArgumentException("DMA map: the length is zero.", nameof(length));
        ulong rounded = ((ulong)length + PageSize - 1) & ~(PageSize - 1);
        lock (_writeLock)
        {
            var current = _mappings;
            foreach (var m in current)
                if ((ulong)address < (ulong)m.Host + m.Length && (ulong)m.Host < (ulong)address + rounded)
                    throw new ArgumentException($"DMA map: host range 0x{address:X}+0x{rounded:X} overlaps the mapping at IOVA 0x{m.Iova:X}.", nameof(address));
            ulong iova = _nextIova;
            _nextIova += rounded + PageSize;   // guard page
            var next = new Mapping[current.Length + 1];
            current.CopyTo(next, 0);
            next[^1] = new Mapping(iova, address, rounded);   // IOVAs only grow: the table stays sorted
            Volatile.Write(ref _mappings, next);
            return iova;
        }
    }

    /// <summary>Removes the mapping that starts at <paramref name="iova"/>.</summary>
    public void Unmap(ulong iova, nuint length)
    {
        lock (_writeLock)
        {
            var current = _mappings;
            int index = Array.FindIndex(current, m => m.Iova == iova);
            if (index < 0)
                throw new ArgumentException($"DMA unmap: IOVA 0x{iova:X} is not the start of a mapping.", nameof(iova));
            ulong rounded = ((ulong)length + PageSize - 1) & ~(PageSize - 1);
            if (rounded != current[index].Length)
                throw new ArgumentException($"DMA unmap: length 0x{length:X} does not match the mapping's 0x{current[index].Length:X} bytes at IOVA 0x{iova:X}.", nameof(length));
            var next = new Mapping[current.Length - 1];
            Array.Copy(current, 0, next, 0, index);
            Array.Copy(current, index + 1, next, index, current.Length - index - 1);
            Volatile.Write(ref _mappings, next);
        }
    }

    /// <summary>Removes every mapping (controller disposal).</summary>
    public void Clear()
    {
        lock (_writeLock)
            Volatile.Write(ref _mappings, []);
    }

    /// <summary>
    /// The host address of <paramref name="length"/> bytes at <paramref name="iova"/>, or 0 when
    /// any byte of the range lies outside a single mapping.
    /// </summary>
    public nint Translate(ulong iova, ulong length)
    {
        var table = Volatile.Read(ref _mappings);
        int lo = 0, hi = table.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            ref readonly var m = ref table[mid];
            if (iova < m.Iova)
                hi = mid - 1;
            else if (iova - m.Iova >= m.Length)
                lo = mid + 1;
            else
            {
                ulong offset = iova - m.Iova;
                return length <= m.Length - offset ? m.Host + (nint)offset : 0;
            }
        }
        return 0;
    }
}
