using System.Numerics;

namespace PolledNvme.Queues;

/// <summary>
/// Carves DMA buffers out of 2 MiB hugepage chunks (SPDK env / ixy memory.c style). Each chunk
/// is mapped for the device once, as a whole; buffers are power-of-two size classes from
/// 64 B to 2 MiB, naturally aligned up to 4 KiB, so a buffer of up to one page never crosses a
/// page and nothing crosses a chunk (queue rings and PRP list pages stay physically
/// contiguous). Larger buffers get a dedicated, whole-mapped region. Freed slots go back to a
/// per-class free list; every Allocate hands out a new <see cref="DmaBuffer"/> handle, so a
/// disposed handle never comes back to life over a reused slot. Allocation takes a lock:
/// allocate up front, not per I/O. The driver accepts a buffer only on the controller whose
/// allocator made it (a reference compare on submit).
/// </summary>
public sealed partial class DmaAllocator : IDisposable
{
    private const int MinClassShift = 6;                  // 64 B: one cache line
    private const int MaxClassShift = 21;                 // 2 MiB: one hugepage
    private const int PageSize = 4096;

    private readonly IDmaMapper _mapper;
    private readonly DmaAllocatorOptions _options;
    private readonly object _lock = new();
    private readonly Stack<FreeSlot>[] _free = new Stack<FreeSlot>[MaxClassShift + 1];
    private readonly List<(PinnedPages Pages, ulong Iova)> _chunks = new();
    private readonly HashSet<DmaBuffer> _live = new(ReferenceEqualityComparer.Instance);
    private PinnedPages? _current;
    private ulong _currentIova;
    private int _currentUsed;
    private bool _hugepagesUnavailable;
    private bool _disposed;

    /// <summary>Creates an allocator whose memory is made reachable through <paramref name="mapper"/>.</summary>
    public DmaAllocator(IDmaMapper mapper, DmaAllocatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(mapper);
        _mapper = mapper;
        _options = options ?? new DmaAllocatorOptions();
        for (int i = 0; i < _free.Length; i++)
            _free[i] = new Stack<FreeSlot>();
    }

    /// <summary>A pooled slot of a size class, waiting for its next handle.</summary>
    private readonly record struct FreeSlot(nint Address, ulong Iova);

    /// <summary>Who uses this memory (e.g. the controller's address), for error messages; null when not set.</summary>
    internal string? OwnerName { get; set; }

    /// <summary>
    /// False once any memory had to come from the locked 4 KiB-page fallback because no
    /// hugepages were free; true while all memory is hugepages.
    /// </summary>
    public bool UsesHugepages { get; private set; } = true;

    /// <summary>Human-readable description of where the memory comes from.</summary>
    public string MemoryKind => UsesHugepages
        ? "2 MiB hugepages"
        : "locked 4 KiB pages (fallback: no free hugepages; reserve them with scripts/setup-hugepages.sh)";

    /// <summary>Total bytes mapped for the device.</summary>
    public long MappedBytes { get; private set; }

    /// <summary>
    /// A zeroed buffer of <paramref name="length"/> bytes. Up to 4 KiB it does not cross a
    /// 4 KiB page; up to 2 MiB it lies in one chunk; above that it is one dedicated region.
    /// </summary>
    public DmaBuffer Allocate(int length) => Allocate(length, pageAligned: false);

    /// <summary>
    /// A zeroed buffer of <paramref name="length"/> bytes starting on a 4 KiB page boundary, as
    /// queue rings and PRP list pages must (NVMe Base 2.0 §3.1.4.9-10, §5.4).
    /// </summary>
    public DmaBuffer AllocatePageAligned(int length) => Allocate(length, pageAligned: true);

    private DmaBuffer Allocate(int length, bool pageAligned)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int classLength = pageAligned ? Math.Max(length, PageSize) : length;
            DmaBuffer buffer = classLength > PinnedPages.HugepageSize ? AllocateLarge(classLength, length) : AllocateClass(classLength, length);
            _live.Add(buffer);
            buffer.Span.Clear();
            return buffer;
        }
    }

    private static int SizeClassOf(int length) => Math.Max(MinClassShift, BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)length)));

    private DmaBuffer AllocateClass(int classLength, int length)
    {
        int shift = SizeClassOf(classLength);
        int size = 1 << shift;
        if (_free[shift].TryPop(out FreeSlot pooled))
            return new DmaBuffer(this, pooled.Address, length, size, pooled.Iova, shift);
        int alignment = Math.Min(size, PageSize);
        int offset = (_currentUsed + alignment - 1) & ~(alignment - 1);
        if (_current is null || offset + size > PinnedPages.HugepageSize)
        {
            (_current, _currentIova) = MapChunk(PinnedPages.HugepageSize);
            offset = 0;
        }
        _currentUsed = offset + size;
        return new DmaBuffer(this, _current.Address + offset, length, size, _currentIova + (ulong)offset, shift);
    }

    private DmaBuffer AllocateLarge(int classLength, int length)
    {
        (PinnedPages pages, ulong iova) = MapChunk((nuint)classLength);
        return new DmaBuffer(this, pages.Address, length, classLength, iova, -1);
    }

    private (PinnedPages, ulong) MapChunk(nuint length)
    {
        PinnedPages pages;
        if (_hugepagesUnavailable)
            pages = PinnedPages.Allocate(length, allowFallback: true);
        else
        {
            pages = PinnedPages.Allocate(length, _options.AllowNonHugepageFallback);
            _hugepagesUnavailable = !pages.IsHugepages;
        }
        // Fallback memory is only 4 KiB-page locked; remember it so callers can report it.
        if (!pages.IsHugepages)
            UsesHugepages = false;
        ulong iova;
        try
        {
            iova = _mapper.Map(pages.Address, pages.Length);
        }
        catch
        {
            pages.Dispose();
            throw;
        }
        _chunks.Add((pages, iova));
        MappedBytes += (long)pages.Length;
        return (pages, iova);
    }

    /// <summary>
    /// Takes back the slot of <paramref name="buffer"/>, which is disposed and no longer used by
    /// any command (called exactly once per handle, from any thread).
    /// </summary>
    internal void Return(DmaBuffer buffer)
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            if (!_live.Remove(buffer))
            {
                // Returned twice: pushing the slot again would give it two owners. Never expected; counted for tests.
                StrayReturns++;
                return;
            }
            if (buffer.SizeClass >= 0)
            {
                _free[buffer.SizeClass].Push(new FreeSlot(buffer.SlotAddress, buffer.Iova));
                return;
            }
            if (buffer.SizeClass == RegisteredClass)
            {
                ReturnRegistered(buffer);
                return;
            }
            // Dedicated region: give it back to the OS.
            for (int i = 0; i < _chunks.Count; i++)
            {
                if (_chunks[i].Iova != buffer.Iova)
                    continue;
                (PinnedPages pages, ulong iova) = _chunks[i];
                _mapper.Unmap(iova, pages.Length);
                MappedBytes -= (long)pages.Length;
                pages.Dispose();
                _chunks.RemoveAt(i);
                return;
            }
        }
    }

    /// <summary>Slots of the size class that holds <paramref name="length"/> bytes waiting in the pool (tests).</summary>
    internal int PooledSlots(int length)
    {
        lock (_lock)
            return _free[SizeClassOf(length)].Count;
    }

    /// <summary>Returns of a handle that was not live (a lease accounting bug if ever non-zero; tests assert 0).</summary>
    internal int StrayReturns { get; private set; }

    /// <summary>
    /// Unmaps and frees all memory; every buffer from this allocator becomes disposed and
    /// unusable, also one a command still holds (dispose queue pairs first: that fails their
    /// outstanding commands after the controller stopped using the memory).
    /// </summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            foreach (DmaBuffer b in _live)
                b.Kill();
            _live.Clear();
            foreach ((PinnedPages pages, ulong iova) in _chunks)
            {
                try
                {
                    _mapper.Unmap(iova, pages.Length);
                }
                catch (ObjectDisposedException)
                {
                    // The transport (and its address space) is already gone; freeing the memory is all that is left.
                }
                pages.Dispose();
            }
            _chunks.Clear();
            UnmapAllRegistered();
            _current = null;
            MappedBytes = 0;
        }
    }
}
