using System.Runtime.CompilerServices;

namespace PolledNvme.Queues;

/// <summary>
/// A submission queue ring (NVMe Base 2.0 §3.3.1, §4.1): the host writes entries at the tail
/// and publishes the tail through the SQ tail doorbell; the controller reports how far it has
/// fetched (the SQ head) in every completion. Used by one thread only.
/// </summary>
internal sealed unsafe class SubmissionQueue
{
    // Hot fields first. The ring lives in DMA memory the controller reads; only we write it.
    private readonly SubmissionEntry* _ring;
    private readonly uint* _tailDoorbell;      // device register; written only with a volatile store
    private readonly int _entries;
    private int _tail;                         // next slot we write (shadow tail)
    private int _head;                         // last SQ head the controller reported in a CQE
    private int _rungTail;                     // tail value last written to the doorbell
    // ---- not touched per I/O below this line ----
    private readonly DmaBuffer _memory;

    /// <summary>Queue identifier (0 = admin).</summary>
    public ushort Id { get; }

    /// <summary>Number of slots in the ring; at most <c>Entries - 1</c> can be in use (§4.1.1: full when tail + 1 == head).</summary>
    public int Entries => _entries;

    /// <summary>IOVA of the ring, for ASQ or Create I/O Submission Queue PRP1.</summary>
    public ulong Iova => _memory.Iova;

    /// <summary>Wraps a ring of <paramref name="entries"/> 64-byte entries in <paramref name="memory"/> with its tail doorbell at <paramref name="doorbellOffset"/>.</summary>
    public SubmissionQueue(ushort id, DmaBuffer memory, int entries, RegisterWindow registers, int doorbellOffset)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentOutOfRangeException.ThrowIfLessThan(entries, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(entries, 65536);
        if (memory.Length < entries * SubmissionEntry.Size)
            throw new ArgumentException($"A {entries}-entry submission queue needs {entries * SubmissionEntry.Size} bytes; the buffer has {memory.Length}.", nameof(memory));
        if (doorbellOffset < 0 || doorbellOffset + 4 > registers.Length)
            throw new ArgumentOutOfRangeException(nameof(doorbellOffset), $"Doorbell offset 0x{doorbellOffset:X} lies outside the {registers.Length}-byte register window.");
        Id = id;
        _memory = memory;
        _ring = (SubmissionEntry*)memory.Pointer;
        _entries = entries;
        _tailDoorbell = registers.Pointer32(doorbellOffset);
    }

    /// <summary>Entries written but not yet reported as fetched by the controller.</summary>
    public int Pending => (_tail - _head + _entries) % _entries;

    /// <summary>True when one more entry would make tail == head (§4.1.1 "full").</summary>
    public bool IsFull
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            int next = _tail + 1;
            if (next == _entries)
                next = 0;
            return next == _head;
        }
    }

    /// <summary>Current shadow tail (slot the next entry goes into).</summary>
    public int Tail => _tail;

    /// <summary>
    /// Copies <paramref name="entry"/> into the tail slot and advances the shadow tail. The
    /// controller sees it only after <see cref="RingDoorbell"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Enqueue(in SubmissionEntry entry)
    {
        if (IsFull)
            ThrowFull();
        _ring[_tail] = entry;
        int next = _tail + 1;
        _tail = next == _entries ? 0 : next;
    }

    /// <summary>Publishes the shadow tail to the controller (one volatile MMIO store), if it moved.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RingDoorbell()
    {
        int tail = _tail;
        if (tail == _rungTail)
            return;
        _rungTail = tail;
        // The volatile store is a release: the entry bytes are visible before the doorbell.
        Volatile.Write(ref *_tailDoorbell, (uint)tail);
    }

    /// <summary>Records the SQ head the controller reported in a completion entry (CQE DW2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void UpdateHead(ushort head)
    {
        if (head < _entries)
            _head = head;
    }

    /// <summary>Forgets all entries (after a controller reset or queue re-creation).</summary>
    public void Reset()
    {
        _tail = 0;
        _head = 0;
        _rungTail = 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowFull() => throw new InvalidOperationException(
        $"Submission queue {Id} is full ({_entries - 1} entries not yet fetched by the controller, head {_head}, tail {_tail}).");
}
