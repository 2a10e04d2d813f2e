using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PolledNvme.Queues;

/// <summary>
/// One locked, never-moving run of host pages: 2 MiB hugepages (mmap MAP_HUGETLB, like SPDK
/// and ixy) or, when allowed, ordinary pages pinned with mlock. All syscalls for DMA memory
/// live here.
/// </summary>
internal sealed unsafe class PinnedPages : IDisposable
{
    /// <summary>Size of one hugepage, the allocation unit (x86-64 default hugepage size).</summary>
    public const int HugepageSize = 2 << 20;

    /// <summary>Start of the pages.</summary>
    public nint Address { get; private set; }

    /// <summary>Length in bytes, a multiple of <see cref="HugepageSize"/>.</summary>
    public nuint Length { get; }

    /// <summary>True when the memory is hugepages; false for the locked 4 KiB-page fallback.</summary>
    public bool IsHugepages { get; }

    private PinnedPages(nint address, nuint length, bool hugepages)
    {
        Address = address;
        Length = length;
        IsHugepages = hugepages;
    }

    /// <summary>Maps and locks <paramref name="length"/> bytes (rounded up to 2 MiB).</summary>
    public static PinnedPages Allocate(nuint length, bool allowFallback)
    {
        length = (length + HugepageSize - 1) & ~(nuint)(HugepageSize - 1);
        void* p = mmap(null, (size_t)length, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB | MAP_POPULATE, -1, 0);
        if (p != MAP_FAILED)
            return new PinnedPages((nint)p, length, hugepages: true);
        int hugeErrno = errno;
        if (!allowFallback)
            throw new DmaMemoryException(
                $"Could not map {length} bytes of 2 MiB hugepages for DMA ({Describe(hugeErrno)}; "
                + $"{ReservedHugepages()}). Reserve hugepages with scripts/setup-hugepages.sh or "
                + "'echo N > /proc/sys/vm/nr_hugepages' (N x 2 MiB), or allow the locked 4 KiB-page "
                + "fallback (DmaAllocatorOptions.AllowNonHugepageFallback) where an IOMMU or the emulated controller makes contiguity irrelevant.",
                hugeErrno);

        p = mmap(null, (size_t)length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED)
        {
            int e = errno;
            throw new DmaMemoryException($"Could not map {length} bytes of ordinary pages for DMA ({Describe(e)}).", e);
        }
        if (mlock(p, (size_t)length) != 0)
        {
            int e = errno;
            munmap(p, (size_t)length);
            throw new DmaMemoryException(
                $"Could not lock {length} bytes of DMA memory with mlock ({Describe(e)}): the locked-memory "
                + "limit is too low. Raise it with 'ulimit -l unlimited' (or memlock in /etc/security/limits.conf), "
                + "or reserve hugepages with scripts/setup-hugepages.sh.", e);
        }
        return new PinnedPages((nint)p, length, hugepages: false);
    }

    /// <summary>Unlocks and unmaps the pages.</summary>
    public void Dispose()
    {
        if (Address == 0)
            return;
        if (!IsHugepages)
            munlock((void*)Address, (size_t)Length);
        munmap((void*)Address, (size_t)Length);
        Address = 0;
    }

    private static string Describe(int e) => e switch
    {
        12 => "ENOMEM",
        1 => "EPERM",
        11 => "EAGAIN",
        22 => "EINVAL",
        _ => $"errno {e}",
    } + $" ({e})";

    private static string ReservedHugepages()
    {
        try
        {
            string free = File.ReadAllText("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages").Trim();
            string total = File.ReadAllText("/proc/sys/vm/nr_hugepages").Trim();
            return $"nr_hugepages = {total}, free 2 MiB hugepages = {free}";
        }
        catch (IOException)
        {
            return "the hugepage counters in /proc and /sys could not be read";
        }
        catch (UnauthorizedAccessException)
        {
            return "the hugepage counters in /proc and /sys could not be read";
        }
    }
}
