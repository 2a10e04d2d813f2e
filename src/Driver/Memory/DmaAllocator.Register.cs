using System.Buffers;

namespace PolledNvme.Queues;

/// <summary>Registration of an application's own memory (SPDK's spdk_mem_register): mapped once, carved with Slice.</summary>
public sealed partial class DmaAllocator
{
    /// <summary><see cref="DmaBuffer.SizeClass"/> of a registered region.</summary>
    internal const int RegisteredClass = -2;

    private readonly List<Registration> _registered = new();

    /// <summary>A registered region: its pin (held until the region is returned) and its mapping.</summary>
    private readonly record struct Registration(nint Address, nuint Length, ulong Iova, MemoryHandle Pin);

    /// <summary>
    /// Registers the application's own memory for DMA and returns it as a <see cref="DmaBuffer"/>
    /// of this controller (an arena: carve it with <see cref="DmaBuffer.Slice"/> and do I/O at
    /// offsets inside it). The memory is pinned (<see cref="Memory{T}.Pin"/>, held until the
    /// buffer's memory is given back) and mapped with the transport's <see cref="IDmaMapper"/>
    /// once, as one IOVA range; its bytes are left as they are. The device can reach exactly
    /// these bytes, so the region must start on a 4 KiB page boundary and be a whole number of
    /// 4 KiB pages (an IOMMU maps pages: anything less would expose the neighbouring bytes).
    /// Typical sources: <c>GC.AllocateArray&lt;byte&gt;(n, pinned: true)</c> sliced to its first
    /// page boundary, or a <see cref="MemoryManager{T}"/> over native memory. The returned buffer
    /// follows every <see cref="DmaBuffer"/> rule: refused by other controllers, dead once
    /// disposed, and its memory stays mapped and pinned until the last command using it (or any
    /// slice of it) completed. Do not free or reuse the memory yourself before then. Registration
    /// takes the allocator's lock and a mapping call: do it at start-up, not per I/O.
    /// </summary>
    /// <exception cref="ArgumentException">The memory is empty, not page aligned, not a whole number of pages, cannot be pinned, or overlaps memory already registered or allocated here.</exception>
    /// <exception cref="ObjectDisposedException">The allocator (its controller) was disposed.</exception>
    public unsafe DmaBuffer Register(Memory<byte> memory)
    {
        if (memory.IsEmpty)
            throw new ArgumentException("The memory to register is empty; register at least one 4 KiB page.", nameof(memory));
        if (memory.Length % PageSize != 0)
            throw new ArgumentException($"Registered memory must be a whole number of 4 KiB pages (the device reaches memory by page); got {memory.Length} bytes. Trim it to {memory.Length / PageSize * PageSize} bytes.", nameof(memory));
        MemoryHandle pin = memory.Pin();
        nint address = (nint)pin.Pointer;
        try
        {
            if (address == 0)
                throw new ArgumentException("The memory could not be pinned (its MemoryManager returned no address from Pin): register memory that stays at one address.", nameof(memory));
            if (address % PageSize != 0)
                throw new ArgumentException($"Registered memory must start on a 4 KiB page boundary (the device reaches memory by page); it starts at 0x{address:X}, {address % PageSize} bytes past one. " +
                    $"Slice it from offset {(PageSize - address % PageSize) % PageSize} (allocate {PageSize} bytes more to make room).", nameof(memory));
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                ThrowIfOverlaps(address, (nuint)memory.Length);
                ulong iova = _mapper.Map(address, (nuint)memory.Length);
                _registered.Add(new Registration(address, (nuint)memory.Length, iova, pin));
                MappedBytes += memory.Length;
                var buffer = new DmaBuffer(this, address, memory.Length, memory.Length, iova, RegisteredClass);
                _live.Add(buffer);
                return buffer;
            }
        }
        catch
        {
            pin.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The largest part of <paramref name="memory"/> that <see cref="Register"/> accepts: it
    /// starts at the first 4 KiB page boundary inside and holds whole pages (empty when none
    /// fits). The address is read now, so use it on memory that does not move (a pinned array,
    /// native memory); <see cref="Register"/> checks again.
    /// </summary>
    public static unsafe Memory<byte> PageAlignedPart(Memory<byte> memory)
    {
        using MemoryHandle pin = memory.Pin();
        int skip = (int)((PageSize - (nint)pin.Pointer % PageSize) % PageSize);
        if (pin.Pointer == null || skip >= memory.Length)
            return Memory<byte>.Empty;
        return memory.Slice(skip, (memory.Length - skip) / PageSize * PageSize);
    }

    private void ThrowIfOverlaps(nint address, nuint length)
    {
        static bool Overlap(nint a, nuint aLength, nint b, nuint bLength) => (nuint)a < (nuint)b + bLength && (nuint)b < (nuint)a + aLength;
        foreach (Registration r in _registered)
            if (Overlap(address, length, r.Address, r.Length))
                throw new ArgumentException($"The memory at 0x{address:X} ({length} bytes) overlaps memory already registered at 0x{r.Address:X} ({r.Length} bytes): register a region once and slice it.", "memory");
        foreach ((PinnedPages pages, _) in _chunks)
            if (Overlap(address, length, pages.Address, pages.Length))
                throw new ArgumentException($"The memory at 0x{address:X} ({length} bytes) is the allocator's own DMA memory (a DmaBuffer's): use that buffer (or a Slice of it) instead of registering it.", "memory");
    }

    /// <summary>Unmaps and unpins a registered region whose buffer was disposed and whose last lease ended (under the lock).</summary>
    private void ReturnRegistered(DmaBuffer buffer)
    {
        int index = _registered.FindIndex(r => r.Iova == buffer.Iova);
        if (index < 0)
            return;
        Registration r = _registered[index];
        _registered.RemoveAt(index);
        _mapper.Unmap(r.Iova, r.Length);
        MappedBytes -= (long)r.Length;
        r.Pin.Dispose();
    }

    /// <summary>On Dispose (under the lock): every registered region is unmapped and unpinned.</summary>
    private void UnmapAllRegistered()
    {
        foreach (Registration r in _registered)
        {
            try
            {
                _mapper.Unmap(r.Iova, r.Length);
            }
            catch (ObjectDisposedException)
            {
                // The transport (and its address space) is already gone.
            }
            r.Pin.Dispose();
        }
        _registered.Clear();
    }
}
