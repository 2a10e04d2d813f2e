namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>
/// Device addresses for data pointers: valid pages and offsets in the regions commands may use,
/// the last bytes of a mapping, the unmapped IOVA pages around mappings, a stale (unmapped) IOVA,
/// misaligned and host-virtual addresses, zero and random values. Never an address inside the
/// rings, the oracle's buffers or the canary region: the device may write what a command names,
/// and the fuzzer relies on those staying its own.
/// </summary>
internal sealed unsafe class AddressPicker(FuzzState state, Random random)
{
    private FuzzMemory Memory => state.Memory;
    private int PageSize => state.Model.PageSize;

    /// <summary>A page-aligned (memory page size) offset into <paramref name="region"/> with <paramref name="bytes"/> after it, or -1.</summary>
    public int PageOffset(GuardedRegion region, int bytes)
    {
        int first = region.AlignedOffset(0, PageSize);
        int last = region.Length - bytes;
        if (last < first)
            return -1;
        int pages = (last - first) / PageSize + 1;
        return first + random.Next(pages) * PageSize;
    }

    /// <summary>The IOVA of a random memory page of the data region.</summary>
    public ulong DataPage()
    {
        int offset = PageOffset(Memory.Data, PageSize);
        return Memory.Data.Iova + (ulong)Math.Max(offset, 0);
    }

    /// <summary>A dword-aligned start in the data region with room for <paramref name="bytes"/>; mostly page aligned.</summary>
    public ulong DataStart(int bytes)
    {
        int offset = PageOffset(Memory.Data, bytes + PageSize);
        if (offset < 0)
            return Memory.Data.Iova;
        int within = random.Next(3) == 0 ? random.Next(PageSize / 4) * 4 : 0;
        return Memory.Data.Iova + (ulong)(offset + within);
    }

    /// <summary>A start in the tail region so that the transfer reaches its last byte, or runs past it into the unmapped IOVA page.</summary>
    public ulong TailStart(int bytes)
    {
        var tail = Memory.Tail;
        int back = random.Next(4) switch
        {
            0 => 4,
            1 => 8 * random.Next(1, 65),
            2 => Math.Min(bytes, tail.Length) & ~3,
            _ => random.Next(1, tail.Length / 4 + 1) * 4,
        };
        return tail.IovaEnd - (ulong)Math.Max(back, 4);
    }

    /// <summary>
    /// Any kind of address: valid ones mostly, then misaligned, unmapped, stale, guard, virtual
    /// and random ones; <paramref name="deviceReads"/> adds qword offsets into the metadata region.
    /// Never the list region: the lists built later in the same batch would change bytes the
    /// oracle already judged a command by.
    /// </summary>
    public ulong Wild(bool deviceReads)
    {
        switch (random.Next(16))
        {
            case 0 or 1 or 2: return DataPage();
            case 3: return DataPage() + (ulong)(random.Next(1, PageSize / 4) * 4);                 // dword aligned, mid page
            case 4: return DataPage() + (ulong)random.Next(1, 4);                                  // not dword aligned
            case 5: return Memory.Tail.IovaEnd - (ulong)(4 * random.Next(1, 17));                 // the last bytes of a mapping
            case 6: return Memory.Tail.IovaEnd + (ulong)(4 * random.Next(0, 1024));               // the unmapped IOVA page after it
            case 7: return Memory.Data.Iova - (ulong)(4 * random.Next(1, 1025));                   // the unmapped IOVA page before a mapping
            case 8: return Memory.Retired.Iova + (ulong)(random.Next(0, Memory.Retired.Length / 4) * 4);   // stale: unmapped after use
            case 9: return 0;
            case 10: return (ulong)Memory.Data.Host + (ulong)(random.Next(0, 16) * 4096);          // a host virtual address
            case 11: return NextUInt64();
            case 12: return NextUInt64() & ~(ulong)(PageSize - 1);
            case 13: return Memory.Metadata.Iova + (ulong)(random.Next(0, Memory.Metadata.Length / PageSize) * PageSize);
            case 14 when deviceReads: return Memory.Metadata.Iova + (ulong)(random.Next(0, Memory.Metadata.Length / 8) * 8);
            default: return ulong.MaxValue - (ulong)random.Next(0, 8192);
        }
    }

    /// <summary>An address no mapping covers, or one that is not dword aligned.</summary>
    public ulong Invalid()
    {
        switch (random.Next(8))
        {
            case 0: return DataPage() + (ulong)random.Next(1, 4);
            case 1: return Memory.Tail.IovaEnd + (ulong)(4 * random.Next(0, 1024));
            case 2: return Memory.Data.Iova - (ulong)(4 * random.Next(1, 1025));
            case 3: return Memory.Retired.Iova + (ulong)(random.Next(0, Memory.Retired.Length / 4) * 4);
            case 4: return 0;
            case 5: return (ulong)Memory.Data.Host;
            case 6: return ulong.MaxValue - (ulong)random.Next(0, 8192);
            default: return NextUInt64() | (1ul << 63);
        }
    }

    public ulong NextUInt64() => (ulong)random.NextInt64() ^ ((ulong)random.Next() << 63);
}
