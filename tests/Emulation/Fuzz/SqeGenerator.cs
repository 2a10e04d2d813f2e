using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>
/// Builds the commands: structured ones (every opcode the controller knows, valid or broken in
/// one field), wild ones (random fields in every dword), and unknown opcodes. Data pointers are
/// built here (PRP1/PRP2 and PRP lists in the list region, scattered or contiguous, chained
/// across list pages) and then sometimes broken. Everything comes from one seeded Random.
/// </summary>
internal sealed partial class SqeGenerator(FuzzState state, Random random)
{
    private const uint AllNamespaces = 0xFFFF_FFFF;
    private readonly AddressPicker _addresses = new(state, random);
    private int _nextListPage;   // bump allocation of list pages within one batch

    private ControllerModel Model => state.Model;
    private FuzzMemory Memory => state.Memory;
    private int PageSize => Model.PageSize;

    /// <summary>A new batch: its PRP lists may reuse the list region.</summary>
    public void BeginBatch() => _nextListPage = 0;

    private bool Chance(int percent) => random.Next(100) < percent;

    private uint NextUInt32() => (uint)random.NextInt64(0, 1L << 32);

    /// <summary>A namespace id: mostly an active one, else 0, broadcast, one past the last, or random.</summary>
    private uint PickNamespaceId(int validPercent = 85)
    {
        if (Chance(validPercent))
            return (uint)random.Next(1, Model.Namespaces.Length + 1);
        return random.Next(5) switch
        {
            0 => 0,
            1 => AllNamespaces,
            2 => (uint)Model.Namespaces.Length + 1,
            3 => 0xFFFF_FFFE,
            _ => NextUInt32(),
        };
    }

    /// <summary>The next free memory page of the list region for this batch (its IOVA and host address), or false when used up.</summary>
    private unsafe bool TakeListPage(out ulong iova, out ulong* host)
    {
        var lists = Memory.Lists;
        int offset = lists.AlignedOffset(0, PageSize) + _nextListPage * PageSize;
        iova = 0;
        host = null;
        if (offset + PageSize > lists.Length)
            return false;
        _nextListPage++;
        iova = lists.Iova + (ulong)offset;
        host = (ulong*)(lists.Host + offset);
        return true;
    }

    /// <summary>
    /// Points <paramref name="e"/>'s PRP1/PRP2 at <paramref name="bytes"/> bytes starting at
    /// <paramref name="start"/>: PRP2 unused, the second page, or a PRP list (at a random qword
    /// offset of a list page, so lists chain) whose entries follow on contiguously or scatter over
    /// the data region. Then, with <paramref name="breakPercent"/>, breaks one element.
    /// </summary>
    private unsafe string PointAt(ref SubmissionEntry e, ulong start, int bytes, int breakPercent)
    {
        ulong mask = (ulong)PageSize - 1;
        e.Prp1 = start;
        e.Prp2 = Chance(50) ? 0 : _addresses.NextUInt64();   // unused PRP2: any value
        long first = PageSize - (long)(start & mask);
        string shape;
        if (bytes <= first)
            shape = "prp1";
        else
        {
            bool scatter = Chance(30);
            ulong next = (start & ~mask) + (ulong)PageSize;
            int pages = (int)((bytes - first + PageSize - 1) / PageSize);
            if (pages == 1)
            {
                e.Prp2 = scatter ? _addresses.DataPage() : next;
                shape = "prp2";
            }
            else if (!BuildList(ref e, next, pages, scatter, out shape))
            {
                e.Prp2 = _addresses.Wild(deviceReads: true);
                shape = "list-wild";
            }
            shape += scatter ? "-scatter" : "";
        }
        if (Chance(breakPercent))
            shape += Break(ref e, bytes);
        return shape;
    }

    private unsafe bool BuildList(ref SubmissionEntry e, ulong next, int pages, bool scatter, out string shape)
    {
        shape = "list";
        if (!TakeListPage(out ulong listIova, out ulong* list))
            return false;
        int slots = PageSize / 8;
        // Start the list mid-page now and then: fewer slots, so the last one chains to another list page.
        int offset = Chance(30) ? random.Next(slots) : 0;
        e.Prp2 = listIova + (ulong)offset * 8;
        int slot = offset;
        for (int p = 0; p < pages; p++)
        {
            if (slot == slots - 1 && pages - p > 1)
            {
                if (!TakeListPage(out ulong nextIova, out ulong* nextList))
                    return false;
                list[slot] = nextIova;
                list = nextList;
                slot = 0;
                shape = "list-chained";
            }
            list[slot++] = scatter ? _addresses.DataPage() : next;
            next += (ulong)PageSize;
        }
        return true;
    }

    /// <summary>Breaks one element of a built pointer: PRP1 alignment, PRP2, a list entry, or the list pointer itself.</summary>
    private unsafe string Break(ref SubmissionEntry e, int bytes)
    {
        switch (random.Next(5))
        {
            case 0:
                e.Prp1 += (ulong)random.Next(1, 4);
                return " broken-prp1";
            case 1:
                e.Prp1 = _addresses.Wild(deviceReads: true);
                return " wild-prp1";
            case 2:
                e.Prp2 = _addresses.Wild(deviceReads: true);
                return " wild-prp2";
            case 3:
                e.Prp2 += (ulong)(4 * random.Next(1, 4));
                return " shifted-prp2";
            default:
            {
                // Overwrite an entry of the list PRP2 names (when it is one of ours): misaligned, unmapped, anything.
                byte* host = Memory.Translate(e.Prp2, 8);
                if (host == null || e.Prp2 < Memory.Lists.Iova || e.Prp2 >= Memory.Lists.IovaEnd)
                    return " no-list";
                ulong mask = (ulong)PageSize - 1;
                int slots = (int)(((ulong)PageSize - (e.Prp2 & mask)) / 8);
                int entries = Math.Min(slots, (bytes + PageSize - 1) / PageSize);
                // The last slot of a full list page is the chain pointer: break it often (offset not 0, unmapped).
                int victim = entries == slots && random.Next(2) == 0 ? slots - 1 : random.Next(Math.Max(entries, 1));
                if (Memory.Translate(e.Prp2 + (ulong)victim * 8, 8) == null)
                    return " no-list";
                ((ulong*)host)[victim] = random.Next(3) == 0 ? ((ulong*)host)[victim] + 8 : _addresses.Wild(deviceReads: false);
                return $" broken-list-entry-{victim}";
            }
        }
    }

    /// <summary>A data pointer for <paramref name="bytes"/> bytes: structured in the data region, at the tail of a mapping, or wild.</summary>
    private string DataPointer(ref SubmissionEntry e, int bytes)
    {
        int roll = random.Next(100);
        if (roll < 65)
            return PointAt(ref e, _addresses.DataStart(bytes), bytes, breakPercent: 15);
        if (roll < 78)
            return "tail-" + PointAt(ref e, _addresses.TailStart(bytes), bytes, breakPercent: 10);
        e.Prp1 = _addresses.Wild(deviceReads: false);
        e.Prp2 = _addresses.Wild(deviceReads: true);
        return "wild-pointers";
    }

    /// <summary>A buffer the device reads (range list, feature data) placed in the list region, or a wild pointer.</summary>
    private unsafe string ListBuffer(ref SubmissionEntry e, ReadOnlySpan<byte> content)
    {
        if (Chance(85) && TakeListPage(out ulong iova, out ulong* host))
        {
            // Anywhere dword aligned in the page; a buffer longer than the rest of the page continues in the next one.
            int room = PageSize - content.Length;
            int offset = room > 0 && Chance(40) ? random.Next(room / 4 + 1) * 4 : 0;
            if (offset + content.Length > PageSize && !TakeListPage(out _, out _))
                offset = 0;
            content.CopyTo(new Span<byte>((byte*)host + offset, content.Length));
            string shape = PointAt(ref e, iova + (ulong)offset, content.Length, breakPercent: 5);
            return "listbuf-" + shape;
        }
        e.Prp1 = _addresses.Wild(deviceReads: true);
        e.Prp2 = _addresses.Wild(deviceReads: true);
        return "wild-buffer";
    }

    /// <summary>Fills every dword with random bits (keeping what the caller fixes afterwards).</summary>
    private unsafe void Randomize(ref SubmissionEntry e)
    {
        fixed (SubmissionEntry* p = &e)
            random.NextBytes(new Span<byte>(p, SubmissionEntry.Size));
    }
}
