using System.Runtime.CompilerServices;

namespace PolledNvme.Queues;

/// <summary>
/// Describes a data buffer with Physical Region Page entries (NVMe Base 2.0 §4.1.1.1,
/// Figs 84-87): PRP1 may start anywhere dword aligned in a page; PRP2 is the second page when
/// two pages suffice, otherwise the address of a PRP list whose last entry chains to the next
/// list page when one page of entries is not enough. List pages come from a pool allocated
/// once per queue, one run of pages per request slot, so building never allocates or locks.
/// </summary>
internal sealed unsafe class PrpBuilder : IDisposable
{
    private readonly DmaBuffer _lists;
    private readonly ulong* _listBase;
    private readonly int _pageShift;
    private readonly int _pageSize;
    private readonly int _entriesPerPage;
    private readonly int _listPagesPerSlot;
    private readonly int _slots;

    /// <summary>Memory page size (CC.MPS) the entries are built for.</summary>
    public int PageSize => _pageSize;

    /// <summary>Largest transfer one command may describe (from MDTS), in bytes.</summary>
    public int MaxTransferBytes { get; }

    /// <summary>PRP list pages reserved per request slot.</summary>
    public int ListPagesPerSlot => _listPagesPerSlot;

    /// <summary>
    /// Reserves list pages for <paramref name="slots"/> requests, each able to describe
    /// <paramref name="maxTransferBytes"/> starting at any dword-aligned offset.
    /// </summary>
    public PrpBuilder(DmaAllocator allocator, int pageSize, int maxTransferBytes, int slots)
    {
        ArgumentNullException.ThrowIfNull(allocator);
        if (pageSize < 4096 || !int.IsPow2(pageSize))
            throw new ArgumentOutOfRangeException(nameof(pageSize), $"The memory page size must be a power of two of at least 4096 bytes (CC.MPS); got {pageSize}.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxTransferBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slots);
        _pageSize = pageSize;
        _pageShift = int.Log2(pageSize);
        _entriesPerPage = pageSize / sizeof(ulong);
        MaxTransferBytes = maxTransferBytes;
        _slots = slots;
        _listPagesPerSlot = ListPagesFor(MaxDataPages(maxTransferBytes) - 1);
        long bytes = (long)_listPagesPerSlot * pageSize * slots;
        if (bytes > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(maxTransferBytes), $"{slots} slots of {_listPagesPerSlot} PRP list pages need {bytes} bytes, more than one allocation can hold; lower the queue depth or the maximum transfer size.");
        _lists = allocator.AllocatePageAligned(Math.Max((int)bytes, pageSize));
        if ((_lists.Iova & (ulong)(pageSize - 1)) != 0)
            throw new DmaMemoryException($"PRP list memory at IOVA 0x{_lists.Iova:X} is not aligned to the {pageSize}-byte memory page size.");
        _listBase = (ulong*)_lists.Pointer;
    }

    /// <summary>Data pages a transfer of <paramref name="bytes"/> can touch when it starts mid-page.</summary>
    private int MaxDataPages(int bytes) => (int)(((long)bytes + _pageSize - 1) >> _pageShift) + 1;

    /// <summary>List pages needed for <paramref name="entries"/> list entries (each full page but the last gives one entry to the chain pointer).</summary>
    private int ListPagesFor(int entries)
    {
        if (entries <= 1)
            return 0;
        int pages = 1;
        while (entries > _entriesPerPage)
        {
            entries -= _entriesPerPage - 1;
            pages++;
        }
        return pages;
    }

    /// <summary>
    /// Fills PRP1/PRP2 of <paramref name="command"/> for <paramref name="length"/> bytes of
    /// <paramref name="buffer"/> starting at <paramref name="offset"/>, using request slot
    /// <paramref name="slot"/>'s list pages. Throws when the range is outside the buffer, not
    /// dword aligned, or longer than <see cref="MaxTransferBytes"/>: never truncates.
    /// </summary>
    public void Build(int slot, DmaBuffer buffer, int offset, int length, ref SubmissionEntry command)
    {
        if ((uint)offset > (uint)buffer.Length || (uint)length > (uint)(buffer.Length - offset))
            ThrowRange(offset, length, buffer.Length);
        Build(slot, buffer.IovaAt(offset), length, ref command);
    }

    /// <summary>Fills PRP1/PRP2 for <paramref name="length"/> IOVA-contiguous bytes at <paramref name="iova"/>.</summary>
    public void Build(int slot, ulong iova, int length, ref SubmissionEntry command)
    {
        if ((uint)slot >= (uint)_slots)
            throw new ArgumentOutOfRangeException(nameof(slot), $"Slot {slot} is outside the {_slots} reserved PRP list slots.");
        if ((iova & 3) != 0)
            ThrowAlignment(iova);
        if (length <= 0 || length > MaxTransferBytes)
            ThrowLength(length);

        ulong pageMask = (ulong)_pageSize - 1;
        command.Prp1 = iova;
        long firstPageBytes = _pageSize - (long)(iova & pageMask);
        if (length <= firstPageBytes)
        {
            command.Prp2 = 0;
            return;
        }
        ulong nextPage = (iova & ~pageMask) + (ulong)_pageSize;
        int remainingPages = (int)((length - firstPageBytes + _pageSize - 1) >> _pageShift);
        if (remainingPages == 1)
        {
            command.Prp2 = nextPage;
            return;
        }

        // A PRP list: entries for pages 2..n; a full page's last entry points to the next list page.
        int listPage = slot * _listPagesPerSlot;
        ulong* entry = _listBase + (long)listPage * _entriesPerPage;
        command.Prp2 = _lists.IovaAt(listPage << _pageShift);
        int left = remainingPages;
        while (true)
        {
            int room = left > _entriesPerPage ? _entriesPerPage - 1 : left;
            for (int i = 0; i < room; i++)
            {
                entry[i] = nextPage;
                nextPage += (ulong)_pageSize;
            }
            left -= room;
            if (left == 0)
                return;
            listPage++;
            entry[_entriesPerPage - 1] = _lists.IovaAt(listPage << _pageShift);
            entry = _listBase + (long)listPage * _entriesPerPage;
        }
    }

    /// <summary>
    /// Sets MPTR (CDW4-5) to <paramref name="offset"/> in the separate metadata buffer: with PRPs it is one physically
    /// contiguous, dword-aligned buffer (NVMe Base 2.0 §4.1.2), which a <see cref="DmaBuffer"/> is.
    /// </summary>
    public static void SetMetadataPointer(DmaBuffer metadata, int offset, int length, ref SubmissionEntry command)
    {
        if ((uint)offset > (uint)metadata.Length || (uint)length > (uint)(metadata.Length - offset))
            ThrowRange(offset, length, metadata.Length);
        ulong iova = metadata.IovaAt(offset);
        if ((iova & 3) != 0)
            ThrowAlignment(iova);
        command.MetadataPointer = iova;
    }

    /// <summary>Returns the list pages to the allocator.</summary>
    public void Dispose() => _lists.Dispose();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowRange(int offset, int length, int bufferLength) => throw new ArgumentOutOfRangeException(
        nameof(length), $"Bytes [{offset}, {(long)offset + length}) are outside the {bufferLength}-byte DMA buffer.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowAlignment(ulong iova) => throw new ArgumentException(
        $"PRP entries must be dword aligned (NVMe Base §4.1.1.1); IOVA 0x{iova:X} is not.", "iova");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowLength(int length) => throw new ArgumentOutOfRangeException(
        nameof(length), $"A single command can transfer 1..{MaxTransferBytes} bytes (MDTS); {length} bytes asked. Split the I/O.");
}
