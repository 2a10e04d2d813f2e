namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>Host bytes a command lets the device touch: data it may read or write, or a PRP list / buffer it reads.</summary>
internal readonly record struct HostRange(nint Host, int Length)
{
    public nint End => Host + Length;
}

/// <summary>
/// The fuzzer's own reading of a PRP data pointer (NVMe Base 2.0 §4.1.1), written from the spec
/// and not from the controller: PRP1 dword aligned, any offset; PRP2 the second page (offset 0)
/// or a qword-aligned PRP list; every list entry, the chain pointer in a list page's last slot
/// included, has offset 0; every byte inside one DMA mapping. It walks in the same order a
/// device does, so its first error is the status the command must report for its pointer.
/// </summary>
internal static unsafe class PrpOracle
{
    /// <summary>
    /// Walks PRP1/PRP2 for <paramref name="length"/> bytes with memory page size
    /// <paramref name="pageSize"/>. Adds the data pages to <paramref name="data"/> and the list
    /// bytes read to <paramref name="lists"/> (also when the walk fails part way).
    /// </summary>
    /// <returns>Success, PrpOffsetInvalid or DataTransferError.</returns>
    public static Outcome Walk(FuzzMemory memory, ulong prp1, ulong prp2, int length, int pageSize, List<HostRange> data, List<HostRange> lists)
    {
        if (length <= 0)
            return Outcome.Success;
        ulong mask = (ulong)pageSize - 1;
        if ((prp1 & 3) != 0)
            return Outcome.PrpOffsetInvalid;
        int first = (int)Math.Min((ulong)length, (ulong)pageSize - (prp1 & mask));
        if (!Add(memory, prp1, first, data))
            return Outcome.DataTransferError;
        int remaining = length - first;
        if (remaining == 0)
            return Outcome.Success;
        if (remaining <= pageSize)
        {
            if ((prp2 & mask) != 0)
                return Outcome.PrpOffsetInvalid;
            return Add(memory, prp2, remaining, data) ? Outcome.Success : Outcome.DataTransferError;
        }
        if ((prp2 & 7) != 0)
            return Outcome.PrpOffsetInvalid;
        ulong list = prp2;
        while (true)
        {
            // Only the entries this transfer needs are read: the rest of the list page is not the command's.
            int slots = (int)(((ulong)pageSize - (list & mask)) / 8);
            int pagesLeft = (int)(((long)remaining + pageSize - 1) / pageSize);
            bool chains = pagesLeft > slots;
            int used = chains ? slots : pagesLeft;
            byte* listHost = memory.Translate(list, (ulong)used * 8);
            if (listHost == null)
                return Outcome.DataTransferError;
            lists.Add(new HostRange((nint)listHost, used * 8));
            ulong* entry = (ulong*)listHost;
            for (int i = 0; i < used; i++)
            {
                ulong value = entry[i];
                if ((value & mask) != 0)
                    return Outcome.PrpOffsetInvalid;
                if (chains && i == used - 1)
                {
                    list = value;
                    break;
                }
                int chunk = Math.Min(remaining, pageSize);
                if (!Add(memory, value, chunk, data))
                    return Outcome.DataTransferError;
                remaining -= chunk;
            }
            if (!chains)
                return Outcome.Success;
        }
    }

    private static bool Add(FuzzMemory memory, ulong iova, int length, List<HostRange> data)
    {
        byte* host = memory.Translate(iova, (ulong)length);
        if (host == null)
            return false;
        data.Add(new HostRange((nint)host, length));
        return true;
    }

    /// <summary>Copies the bytes the ranges describe, in order, into <paramref name="destination"/> (the data a device would read).</summary>
    public static void Gather(List<HostRange> ranges, Span<byte> destination)
    {
        int offset = 0;
        foreach (var r in ranges)
        {
            int n = Math.Min(r.Length, destination.Length - offset);
            new ReadOnlySpan<byte>((void*)r.Host, n).CopyTo(destination[offset..]);
            offset += n;
            if (offset == destination.Length)
                return;
        }
    }
}
