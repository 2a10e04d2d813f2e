namespace PolledNvme.Driver.Vfio;

/// <summary>
/// Hands out I/O virtual addresses for DMA mappings from the ranges the IOMMU accepts
/// (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE; the MSI window at 0xFEE00000 is outside them).
/// First fit over a sorted free list, coalescing on release. Called when DMA memory is
/// mapped or unmapped, never per I/O, so a list is fine.
/// </summary>
internal sealed class IovaAllocator
{
    /// <summary>Smallest unit handed out: the 4 KiB page every IOMMU supports.</summary>
    public const ulong PageSize = 4096;

    // Free ranges as [start, end) sorted by start, never adjacent (coalesced).
    private readonly List<(ulong Start, ulong End)> _free = new();

    /// <summary>Creates an allocator over inclusive ranges [start, end] (the kernel's form).</summary>
    /// <exception cref="ArgumentException">No range, a range with end &lt; start, or overlapping ranges.</exception>
    public IovaAllocator(IEnumerable<(ulong Start, ulong EndInclusive)> usableRanges)
    {
        ArgumentNullException.ThrowIfNull(usableRanges);
        foreach ((ulong start, ulong endInclusive) in usableRanges)
        {
            if (endInclusive < start)
                throw new ArgumentException($"IOVA range [0x{start:x}, 0x{endInclusive:x}] ends before it starts.", nameof(usableRanges));
            // Whole pages only; page 0 is never handed out so that IOVA 0 always means "not mapped".
            ulong alignedStart = Math.Max(AlignUp(start, PageSize), PageSize);
            ulong alignedEnd = endInclusive == ulong.MaxValue ? ulong.MaxValue & ~(PageSize - 1) : (endInclusive + 1) & ~(PageSize - 1);
            if (alignedEnd > alignedStart) InsertFree(alignedStart, alignedEnd, nameof(usableRanges));
        }
        if (_free.Count == 0) throw new ArgumentException("No usable IOVA range of at least one 4 KiB page.", nameof(usableRanges));
    }

    /// <summary>Bytes still available for mappings.</summary>
    public ulong FreeBytes
    {
        get
        {
            ulong total = 0;
            foreach ((ulong start, ulong end) in _free) total += end - start;
            return total;
        }
    }

    /// <summary>
    /// Reserves <paramref name="length"/> bytes (rounded up to whole pages) at an IOVA aligned
    /// to <paramref name="alignment"/> (a power of two, at least a page).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Zero length or a bad alignment.</exception>
    /// <exception cref="InvalidOperationException">No free range is large enough.</exception>
    public ulong Allocate(ulong length, ulong alignment = PageSize)
    {
        ArgumentOutOfRangeException.ThrowIfZero(length);
        if (alignment < PageSize || (alignment & (alignment - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "IOVA alignment must be a power of two of at least 4096.");
        ulong size = AlignUp(length, PageSize);
        for (int i = 0; i < _free.Count; i++)
        {
            (ulong start, ulong end) = _free[i];
            ulong iova = AlignUp(start, alignment);
            if (iova < start || iova >= end || end - iova < size) continue;
            ulong allocatedEnd = iova + size;
            _free.RemoveAt(i);
            if (allocatedEnd < end) _free.Insert(i, (allocatedEnd, end));
            if (start < iova) _free.Insert(i, (start, iova));
            return iova;
        }
        throw new InvalidOperationException(
            $"No free IOVA range of {size} bytes aligned to {alignment} ({FreeBytes} bytes free in {_free.Count} ranges): unmap DMA memory that is no longer used.");
    }

    /// <summary>Returns a range from <see cref="Allocate"/>.</summary>
    /// <exception cref="ArgumentException">The range is not page aligned or overlaps free space (double free).</exception>
    public void Free(ulong iova, ulong length)
    {
        ArgumentOutOfRangeException.ThrowIfZero(length);
        if ((iova & (PageSize - 1)) != 0)
            throw new ArgumentException($"IOVA 0x{iova:x} is not page aligned, so it was not handed out by this allocator.", nameof(iova));
        InsertFree(iova, iova + AlignUp(length, PageSize), nameof(iova));
    }

    private void InsertFree(ulong start, ulong end, string paramName)
    {
        int i = 0;
        while (i < _free.Count && _free[i].Start < start) i++;
        if ((i > 0 && _free[i - 1].End > start) || (i < _free.Count && _free[i].Start < end))
            throw new ArgumentException($"IOVA range [0x{start:x}, 0x{end:x}) overlaps a range that is already free.", paramName);
        bool joinPrevious = i > 0 && _free[i - 1].End == start;
        bool joinNext = i < _free.Count && _free[i].Start == end;
        if (joinPrevious && joinNext)
        {
            _free[i - 1] = (_free[i - 1].Start, _free[i].End);
            _free.RemoveAt(i);
        }
        else if (joinPrevious) _free[i - 1] = (_free[i - 1].Start, end);
        else if (joinNext) _free[i] = (start, _free[i].End);
        else _free.Insert(i, (start, end));
    }

    private static ulong AlignUp(ulong value, ulong alignment)
    {
        ulong aligned = (value + alignment - 1) & ~(alignment - 1);
        return aligned < value ? value & ~(alignment - 1) : aligned;
    }
}
