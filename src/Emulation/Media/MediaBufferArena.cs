using System.Numerics;
using PolledNvme.Uring;

namespace PolledNvme.Emulation.Media;

/// <summary>
/// The asynchronous data path's media buffers: one page-aligned arena (registered with the media
/// ring once, so READ_FIXED/WRITE_FIXED need no page pinning per I/O) handed out in runs of
/// 4 KiB pages, first fit, tracked by a bitmap. A command takes one run for its whole media
/// transfer (data pages first, page aligned for O_DIRECT, then its metadata) and gives it back
/// when its media I/O has ended. No allocation, no lock: the device thread alone uses it.
/// </summary>
internal sealed unsafe class MediaBufferArena : IDisposable
{
    /// <summary>Bytes per page of the arena.</summary>
    public const int PageSize = 4096;

    private readonly AlignedBuffer _memory;
    private readonly ulong[] _used;   // bit i: page i is taken (bits past the last page are set)

    /// <summary>Allocates an arena of <paramref name="pages"/> pages.</summary>
    public MediaBufferArena(int pages)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pages);
        Pages = pages;
        _memory = new AlignedBuffer((nuint)pages * PageSize, PageSize);
        _used = new ulong[(pages + 63) / 64];
        if (pages % 64 != 0)
            _used[^1] = ulong.MaxValue << (pages % 64);
    }

    /// <summary>Pages in the arena.</summary>
    public int Pages { get; }

    /// <summary>Pages handed out now.</summary>
    public int PagesInUse { get; private set; }

    /// <summary>The arena as one iovec (its registration).</summary>
    public IoVec AsIoVec() => _memory.AsIoVec();

    /// <summary>The first byte of page <paramref name="page"/>.</summary>
    public byte* PageAddress(int page) => (byte*)_memory.Pointer + (nint)page * PageSize;

    /// <summary>Pages needed for <paramref name="bytes"/> bytes.</summary>
    public static int PagesFor(long bytes) => (int)((bytes + PageSize - 1) / PageSize);

    /// <summary>Takes the first run of <paramref name="count"/> free pages; false (and -1) when there is none now.</summary>
    public bool TryAllocate(int count, out int first)
    {
        first = -1;
        if (count <= 0 || count > Pages - PagesInUse)
            return false;
        int run = 0, start = 0;
        for (int w = 0; w < _used.Length; w++)
        {
            ulong used = _used[w];
            if (used == ulong.MaxValue)
            {
                run = 0;
                continue;
            }
            if (used == 0)
            {
                if (run == 0)
                    start = w * 64;
                run += 64;
                if (run >= count)
                    return Take(start, count, out first);
                continue;
            }
            for (int bit = 0; bit < 64; bit++)
            {
                if ((used & (1UL << bit)) != 0)
                {
                    run = 0;
                    // Skip the rest of a set stretch at once.
                    ulong rest = ~used >> bit;
                    if (rest == 0)
                        break;
                    bit += BitOperations.TrailingZeroCount(rest) - 1;
                    continue;
                }
                if (run == 0)
                    start = w * 64 + bit;
                if (++run >= count)
                    return Take(start, count, out first);
            }
        }
        return false;
    }

    /// <summary>Gives back the run of <paramref name="count"/> pages at <paramref name="first"/>.</summary>
    public void Free(int first, int count)
    {
        for (int page = first; page < first + count; page++)
            _used[page >> 6] &= ~(1UL << (page & 63));
        PagesInUse -= count;
    }

    private bool Take(int start, int count, out int first)
    {
        for (int page = start; page < start + count; page++)
            _used[page >> 6] |= 1UL << (page & 63);
        PagesInUse += count;
        first = start;
        return true;
    }

    /// <summary>Frees the memory; the ring must no longer use it (unregistered or drained).</summary>
    public void Dispose() => _memory.Dispose();
}
