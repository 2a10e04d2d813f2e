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
    private readonly int _entries;
    private int _tail;                         // next slot we write (shadow tail)
    private int _head;                         // last SQ head the controller reported in a CQE
    private QueueDoorbell _doorbell;           // the tail doorbell (MMIO or shadow)
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
        _doorbell = new QueueDoorbell(registers.Pointer32(doorbellOffset));
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

    /// <summary>
    /// Publishes the tail to the controller, if it moved (<see cref="QueueDoorbell.Publish"/>: MMIO,
    /// or the shadow doorbell and MMIO only when EventIdx asks).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RingDoorbell() => _doorbell.Publish(_tail);

    /// <summary>Switches this queue to shadow doorbells (<see cref="QueueDoorbell.AttachShadow"/>); the shadow gets the current tail.</summary>
    public void AttachShadow(uint* shadowTail, uint* eventIndex, bool alwaysRing) => _doorbell.AttachShadow(shadowTail, eventIndex, alwaysRing);

    /// <summary>Back to MMIO doorbells only (the controller was reset: its Doorbell Buffer Config is gone).</summary>
    public void DetachShadow() => _doorbell.DetachShadow();

    /// <summary>Whether updates go to a shadow doorbell.</summary>
    public bool UsesShadow => _doorbell.UsesShadow;

    /// <summary>The sleeping software device to wake after an MMIO doorbell write, or null.</summary>
    public DoorbellWake? DeviceWake
    {
        get => _doorbell.DeviceWake;
        set => _doorbell.DeviceWake = value;
    }

    /// <summary>MMIO tail doorbell writes so far (each is a VM exit under a hypervisor).</summary>
    public long MmioDoorbellWrites => _doorbell.MmioWrites;

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
        _doorbell.Reset();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowFull() => throw new InvalidOperationException(
        $"Submission queue {Id} is full ({_entries - 1} entries not yet fetched by the controller, head {_head}, tail {_tail}).");
}
