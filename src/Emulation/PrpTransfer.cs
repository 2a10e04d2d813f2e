using System.Runtime.CompilerServices;
using PolledNvme.Driver.Spec;

namespace PolledNvme.Emulation;

/// <summary>
/// Resolves a command's data pointer (PRP1/PRP2 and PRP lists, NVMe Base 2.0 §4.1.1) into host
/// segments through the DMA address space, then moves bytes between them and the device: as a
/// stream, front to back (<see cref="Read"/>, <see cref="Write"/>, <see cref="TryTake"/>), so the
/// PI pass can work on the host's pages in place.
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
        Rewind();
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
        Rewind();
        Read(destination[..Length]);
    }

    /// <summary>Copies <paramref name="source"/> (exactly <see cref="Length"/> bytes) into the resolved host segments.</summary>
    public void CopyToHost(ReadOnlySpan<byte> source)
    {
        Rewind();
        Write(source[..Length]);
    }

    // The stream position over the resolved segments: the transfer is read or written front to
    // back, block by block, without a contiguous copy of it (PrpTransfer.Rewind starts over).
    private int _cursorSegment;
    private int _cursorOffset;

    /// <summary>Puts the stream position at the first byte of the transfer.</summary>
    public void Rewind()
    {
        _cursorSegment = 0;
        _cursorOffset = 0;
    }

    /// <summary>Bytes from the stream position to the end of its segment (what <see cref="TryTake"/> can give in one span).</summary>
    public int ContiguousBytes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _cursorSegment < _segmentCount ? _segmentLength[_cursorSegment] - _cursorOffset : 0;
    }

    /// <summary>The next <paramref name="length"/> host bytes as one span, when they lie in one segment; advances past them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryTake(int length, out Span<byte> span)
    {
        if (length > ContiguousBytes)
        {
            span = default;
            return false;
        }
        span = new Span<byte>((byte*)_segmentAddress[_cursorSegment] + _cursorOffset, length);
        Advance(length);
        return true;
    }

    /// <summary>Copies the next <paramref name="destination"/>.Length host bytes into it.</summary>
    public void Read(Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            int n = Step(destination.Length);
            new ReadOnlySpan<byte>((byte*)_segmentAddress[_cursorSegment] + _cursorOffset, n).CopyTo(destination);
            destination = destination[n..];
            Advance(n);
        }
    }

    /// <summary>Copies <paramref name="source"/> into the next host bytes.</summary>
    public void Write(ReadOnlySpan<byte> source)
    {
        while (!source.IsEmpty)
        {
            int n = Step(source.Length);
            source[..n].CopyTo(new Span<byte>((byte*)_segmentAddress[_cursorSegment] + _cursorOffset, n));
            source = source[n..];
            Advance(n);
        }
    }

    /// <summary>Whether the next host bytes equal <paramref name="expected"/>; advances past them either way.</summary>
    public bool Matches(ReadOnlySpan<byte> expected)
    {
        bool equal = true;
        while (!expected.IsEmpty)
        {
            int n = Step(expected.Length);
            equal &= new ReadOnlySpan<byte>((byte*)_segmentAddress[_cursorSegment] + _cursorOffset, n).SequenceEqual(expected[..n]);
            expected = expected[n..];
            Advance(n);
        }
        return equal;
    }

    /// <summary>How many of <paramref name="wanted"/> bytes the current segment holds; past the transfer's end is a bug of the caller.</summary>
    private int Step(int wanted)
    {
        int n = Math.Min(wanted, ContiguousBytes);
        if (n == 0)
            throw new InvalidOperationException($"the device moved more than the {Length} bytes the command's PRPs describe.");
        return n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Advance(int length)
    {
        _cursorOffset += length;
        if (_cursorOffset == _segmentLength[_cursorSegment])
        {
            _cursorSegment++;
            _cursorOffset = 0;
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
