using System.Runtime.InteropServices;
using PolledNvme.Driver.Transport;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>
/// Host memory the fuzzer hands to the device: pages from mmap with an inaccessible (PROT_NONE)
/// page on each side, mapped into the controller's DMA space. A device access that strays past
/// the region faults at once instead of silently landing in the test's heap.
/// </summary>
internal sealed unsafe class GuardedRegion : IDisposable
{
    /// <summary>Host page size (the granularity of mmap, mprotect and the controller's DMA map).</summary>
    public const int HostPage = 4096;
    private const int ProtNone = 0;

    private byte* _reservation;
    private readonly nuint _reservedLength;
    private readonly NvmeTransport _transport;

    /// <summary>Reserves <paramref name="length"/> bytes (rounded up to pages) between two guard pages and maps them for DMA.</summary>
    public GuardedRegion(NvmeTransport transport, string name, int length)
    {
        _transport = transport;
        Name = name;
        Length = (length + HostPage - 1) & ~(HostPage - 1);
        _reservedLength = (nuint)(Length + 2 * HostPage);
        void* p = mmap(null, (size_t)_reservedLength, ProtNone, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            throw new InvalidOperationException($"fuzzer region '{name}': mmap of {_reservedLength} bytes failed (errno {Marshal.GetLastPInvokeError()}).");
        _reservation = (byte*)p;
        Host = _reservation + HostPage;
        if (mprotect(Host, (size_t)(nuint)Length, PROT_READ | PROT_WRITE) != 0)
        {
            int e = Marshal.GetLastPInvokeError();
            munmap(_reservation, (size_t)_reservedLength);
            throw new InvalidOperationException($"fuzzer region '{name}': mprotect failed (errno {e}).");
        }
        Iova = transport.Map((nint)Host, (nuint)Length);
        IsMapped = true;
    }

    /// <summary>What the fuzzer uses the region for (in messages).</summary>
    public string Name { get; }

    /// <summary>First usable byte (the page before it is PROT_NONE).</summary>
    public byte* Host { get; }

    /// <summary>Usable bytes (the page after them is PROT_NONE).</summary>
    public int Length { get; }

    /// <summary>The region's device address (still reported after <see cref="Unmap"/>: then it is a stale IOVA).</summary>
    public ulong Iova { get; }

    /// <summary>Whether the controller may reach the region.</summary>
    public bool IsMapped { get; private set; }

    /// <summary>One past the last device address of the region.</summary>
    public ulong IovaEnd => Iova + (ulong)Length;

    public Span<byte> Span => new(Host, Length);

    /// <summary>The first IOVA at or after <paramref name="offset"/> aligned to <paramref name="alignment"/>, as an offset into the region.</summary>
    public int AlignedOffset(int offset, int alignment)
    {
        ulong iova = Iova + (ulong)offset;
        ulong aligned = (iova + (ulong)alignment - 1) & ~((ulong)alignment - 1);
        return offset + (int)(aligned - iova);
    }

    /// <summary>Takes the region out of the device's reach; the host pages stay readable and writable.</summary>
    public void Unmap()
    {
        _transport.Unmap(Iova, (nuint)Length);
        IsMapped = false;
    }

    public bool Contains(ulong iova, ulong length) => iova >= Iova && iova - Iova <= (ulong)Length && length <= (ulong)Length - (iova - Iova);

    /// <summary>Releases the pages. Only after the controller is gone: it may still hold the mapping.</summary>
    public void Dispose()
    {
        if (_reservation != null)
        {
            munmap(_reservation, (size_t)_reservedLength);
            _reservation = null;
        }
    }
}
