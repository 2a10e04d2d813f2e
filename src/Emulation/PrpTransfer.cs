using System.Runtime.CompilerServices;
using PolledNvme.Driver.Spec;

namespace PolledNvme.Emulation;

/// <summary>
/// Resolves a command's data pointer (PRP1/PRP2 and PRP lists, NVMe Base 2.0 §4.1.1) into host
/// segments through the DMA address space, then copies between them and a contiguous buffer.
/// Resolving checks every page before any byte moves, so a bad pointer fails the command with
/// no partial transfer. One instance per controller, reused by every command (device thread only).
/// </summary>
internal sealed unsafe class PrpTransfer
{
    private readonly DmaAddressSpace _dma;
    private readonly nint[] _segmentAddress;
    private readonly int[] _segmentLength;
    private int _segmentCount;

    /// <summary>Creates a walker able to describe transfers of up to <paramref name="maxBytes"/> bytes.</summary>
    public PrpTransfer(DmaAddressSpace dma, int maxBytes)
    {
        _dma = dma;
        int capacity = maxBytes / 4096 + 2;
        _segmentAddress = new nint[capacity];
        _segmentLength = new int[capacity];
    }

    /// <summary>Total bytes described by the last successful <see cref="Resolve"/>.</summary>
    public int Length { get; private set; }

    /// <summary>
    /// Walks PRP1/PRP2 for <paramref name="length"/> bytes with memory page size
    /// <paramref name="pageSize"/> (CC.MPS). Returns Success, PRP Offset Invalid, or Data Transfer
    /// Error when a page or list lies outside the DMA mappings.
    /// </summary>
    public NvmeStatus Resolve(ulong prp1, ulong prp2, int length, int pageSize)
    {
        _segmentCount = 0;
        Length = 0;
        if (length == 0)
            return NvmeStatus.Success;
        ulong pageMask = (ulong)pageSize - 1;
        // PRP1 may start anywhere in a page but must be dword aligned (§4.1.1, PRP Entry layout).
        if ((prp1 & 3) != 0)
            return NvmeStatus.PrpOffsetInvalid;
        int first = (int)Math.Min((ulong)length, (ulong)pageSize - (prp1 & pageMask));
        if (!Add(prp1, first))
            return NvmeStatus.DataTransferError;
        int remaining = length - first;
        if (remaining == 0)
            return Done(length);
        if (remaining <= pageSize)
        {
            // PRP2 is the second (and last) page: offset must be zero.
            if ((prp2 & pageMask) != 0)
                return NvmeStatus.PrpOffsetInvalid;
            return Add(prp2, remaining) ? Done(length) : NvmeStatus.DataTransferError;
        }

        // PRP2 points to a PRP list, which may start mid-page (qword aligned); the last entry of a
        // list page points to the next list page (page aligned) when more than one page remains.
        ulong list = prp2;
        while (true)
        {
            if ((list & 7) != 0)
                return NvmeStatus.PrpOffsetInvalid;
            int entries = (int)(((ulong)pageSize - (list & pageMask)) / 8);
            // Only the entries this transfer needs are read (as QEMU does): the rest of the list's
            // memory page is not the command's, and may lie outside every mapping.
            int needed = (int)Math.Min(entries, ((long)remaining + pageSize - 1) / pageSize);
            nint listHost = _dma.Translate(list, (ulong)needed * 8);
            if (listHost == 0)
                return NvmeStatus.DataTransferError;
            ulong* entry = (ulong*)listHost;
            for (int i = 0; i < needed; i++)
            {
                ulong value = entry[i];
                if (i == entries - 1 && remaining > pageSize)
                {
                    // The pointer to the next list page is itself an entry of a list: offset 0 (NVMe Base 2.0 Fig 87).
                    if ((value & pageMask) != 0)
                        return NvmeStatus.PrpOffsetInvalid;
                    list = value;
                    break;
                }
                if ((value & pageMask) != 0)
                    return NvmeStatus.PrpOffsetInvalid;
                int chunk = Math.Min(remaining, pageSize);
                if (!Add(value, chunk))
                    return NvmeStatus.DataTransferError;
                remaining -= chunk;
                if (remaining == 0)
                    return Done(length);
            }
        }
    }

    /// <summary>Copies the resolved host segments into <paramref name="destination"/> (exactly <see cref="Length"/> bytes).</summary>
    public void CopyFromHost(Span<byte> destination)
    {
        int offset = 0;
        for (int i = 0; i < _segmentCount; i++)
        {
            new ReadOnlySpan<byte>((void*)_segmentAddress[i], _segmentLength[i]).CopyTo(destination.Slice(offset));
            offset += _segmentLength[i];
        }
    }

    /// <summary>Copies <paramref name="source"/> (exactly <see cref="Length"/> bytes) into the resolved host segments.</summary>
    public void CopyToHost(ReadOnlySpan<byte> source)
    {
        int offset = 0;
        for (int i = 0; i < _segmentCount; i++)
        {
            source.Slice(offset, _segmentLength[i]).CopyTo(new Span<byte>((void*)_segmentAddress[i], _segmentLength[i]));
            offset += _segmentLength[i];
        }
    }

    private NvmeStatus Done(int length)
    {
        Length = length;
        return NvmeStatus.Success;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Add(ulong iova, int length)
    {
        nint host = _dma.Translate(iova, (ulong)length);
        if (host == 0)
            return false;
        int last = _segmentCount - 1;
        if (last >= 0 && _segmentAddress[last] + _segmentLength[last] == host)
        {
            _segmentLength[last] += length;   // physically adjacent pages: one copy
            return true;
        }
        if (_segmentCount == _segmentAddress.Length)
            return false;
        _segmentAddress[_segmentCount] = host;
        _segmentLength[_segmentCount] = length;
        _segmentCount++;
        return true;
    }
}
