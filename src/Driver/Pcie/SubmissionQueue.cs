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
    private int _rungTail;                     // tail value last published (doorbell or shadow doorbell)
    private uint* _shadowTail;                 // Doorbell Buffer Config: host memory the controller reads; null when off
    private uint* _eventIndex;                 // written by the controller: ring the MMIO doorbell when a tail update passes it
    private bool _alwaysRing;                  // admin queue: shadow kept current, MMIO rung every time
    private long _mmioWrites;
    private DoorbellWake? _deviceWake;
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

    /// <summary>
    /// Publishes the shadow tail to the controller, if it moved: one volatile MMIO store, or with
    /// shadow doorbells a store to the shadow doorbell and the MMIO store only when the
    /// controller's EventIdx asks for it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RingDoorbell()
    {
        int tail = _tail;
        int old = _rungTail;
        if (tail == old)
            return;
        _rungTail = tail;
        if (_shadowTail != null && !ShadowDoorbellNeedsMmio(_shadowTail, _eventIndex, tail, old, _alwaysRing))
            return;
        // The volatile store is a release: the entry bytes are visible before the doorbell.
        Volatile.Write(ref *_tailDoorbell, (uint)tail);
        _mmioWrites++;
        _deviceWake?.AfterHostWrite();   // a software device asleep on its register page (null on hardware)
    }

    /// <summary>
    /// Writes <paramref name="value"/> to a shadow doorbell and says whether the MMIO doorbell must be
    /// rung too (§5.9: EventIdx). The full fence orders the shadow store before the EventIdx load:
    /// either the controller sees the new value when it re-reads the shadow after updating
    /// EventIdx, or we see its new EventIdx and ring.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool ShadowDoorbellNeedsMmio(uint* shadow, uint* eventIndex, int value, int old, bool alwaysRing)
    {
        Volatile.Write(ref *shadow, (uint)value);
        Interlocked.MemoryBarrier();
        return alwaysRing || ShadowDoorbells.NeedEvent(Volatile.Read(ref *eventIndex), value, old);
    }

    /// <summary>
    /// Switches this queue to shadow doorbells at <paramref name="shadowTail"/>/<paramref name="eventIndex"/>
    /// (after Doorbell Buffer Config, or at queue creation while it is in force); the shadow gets
    /// the current tail. <paramref name="alwaysRing"/> keeps the MMIO doorbell rung on every update.
    /// </summary>
    public void AttachShadow(uint* shadowTail, uint* eventIndex, bool alwaysRing)
    {
        Volatile.Write(ref *shadowTail, (uint)_rungTail);
        _eventIndex = eventIndex;
        _alwaysRing = alwaysRing;
        _shadowTail = shadowTail;
    }

    /// <summary>Back to MMIO doorbells only (the controller was reset: its Doorbell Buffer Config is gone).</summary>
    public void DetachShadow()
    {
        _shadowTail = null;
        _eventIndex = null;
        _alwaysRing = false;
    }

    /// <summary>Whether updates go to a shadow doorbell.</summary>
    public bool UsesShadow => _shadowTail != null;

    /// <summary>The sleeping software device to wake after an MMIO doorbell write, or null.</summary>
    public DoorbellWake? DeviceWake
    {
        get => _deviceWake;
        set => _deviceWake = value;
    }

    /// <summary>MMIO tail doorbell writes so far (each is a VM exit under a hypervisor).</summary>
    public long MmioDoorbellWrites => _mmioWrites;

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
