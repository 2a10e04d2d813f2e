using System.Runtime.CompilerServices;

namespace PolledNvme.Queues;

/// <summary>
/// A completion queue ring (NVMe Base 2.0 §3.3.1, §4.2.4): the controller posts entries and
/// flips the phase tag each lap; the host polls the phase tag at the head, consumes, and
/// publishes its head through the CQ head doorbell once per batch. Used by one thread only.
/// </summary>
internal sealed unsafe class CompletionQueue
{
    // Hot fields first. The controller writes the ring; we only read it.
    private readonly CompletionEntry* _ring;
    private readonly int _entries;
    private int _head;
    private ushort _phase;                     // phase tag value that marks a new entry (starts at 1)
    private QueueDoorbell _doorbell;           // the head doorbell (MMIO or shadow)
    // ---- not touched per I/O below this line ----
    private readonly DmaBuffer _memory;

    /// <summary>Queue identifier (0 = admin).</summary>
    public ushort Id { get; }

    /// <summary>Number of slots in the ring.</summary>
    public int Entries => _entries;

    /// <summary>IOVA of the ring, for ACQ or Create I/O Completion Queue PRP1.</summary>
    public ulong Iova => _memory.Iova;

    /// <summary>Current head slot.</summary>
    public int Head => _head;

    /// <summary>The phase tag value an entry must carry to be new.</summary>
    public bool ExpectedPhase => _phase != 0;

    /// <summary>Wraps a ring of <paramref name="entries"/> 16-byte entries in <paramref name="memory"/> (zeroed) with its head doorbell at <paramref name="doorbellOffset"/>.</summary>
    public CompletionQueue(ushort id, DmaBuffer memory, int entries, RegisterWindow registers, int doorbellOffset)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentOutOfRangeException.ThrowIfLessThan(entries, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(entries, 65536);
        if (memory.Length < entries * CompletionEntry.Size)
            throw new ArgumentException($"A {entries}-entry completion queue needs {entries * CompletionEntry.Size} bytes; the buffer has {memory.Length}.", nameof(memory));
        if (doorbellOffset < 0 || doorbellOffset + 4 > registers.Length)
            throw new ArgumentOutOfRangeException(nameof(doorbellOffset), $"Doorbell offset 0x{doorbellOffset:X} lies outside the {registers.Length}-byte register window.");
        Id = id;
        _memory = memory;
        _ring = (CompletionEntry*)memory.Pointer;
        _entries = entries;
        _doorbell = new QueueDoorbell(registers.Pointer32(doorbellOffset));
        Reset();
    }

    /// <summary>
    /// If the entry at the head is new (its phase tag matches), copies it out, advances the head
    /// (flipping the expected phase on wrap) and returns true. The status word is read first,
    /// with a volatile (acquire) read, so the rest of the entry is read only after the device
    /// finished writing it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryDequeue(out CompletionEntry entry)
    {
        CompletionEntry* slot = _ring + _head;
        ushort statusAndPhase = Volatile.Read(ref slot->StatusAndPhase);
        if ((statusAndPhase & 1) != _phase)
        {
            Unsafe.SkipInit(out entry);
            return false;
        }
        entry = *slot;
        entry.StatusAndPhase = statusAndPhase;
        int next = _head + 1;
        if (next == _entries)
        {
            next = 0;
            _phase ^= 1;
        }
        _head = next;
        return true;
    }

    /// <summary>True if the entry at the head is new, without consuming it.</summary>
    public bool HasEntry => (Volatile.Read(ref _ring[_head].StatusAndPhase) & 1) == _phase;

    /// <summary>
    /// Publishes the head to the controller, if it moved since the last time
    /// (<see cref="QueueDoorbell.Publish"/>: MMIO, or the shadow doorbell and MMIO only when EventIdx asks).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RingDoorbell() => _doorbell.Publish(_head);

    /// <summary>Switches to shadow doorbells (<see cref="QueueDoorbell.AttachShadow"/>); the shadow gets the current head.</summary>
    public void AttachShadow(uint* shadowHead, uint* eventIndex, bool alwaysRing) => _doorbell.AttachShadow(shadowHead, eventIndex, alwaysRing);

    /// <summary>Back to MMIO doorbells only.</summary>
    public void DetachShadow() => _doorbell.DetachShadow();

    /// <summary>The sleeping software device to wake after an MMIO doorbell write, or null.</summary>
    public DoorbellWake? DeviceWake
    {
        get => _doorbell.DeviceWake;
        set => _doorbell.DeviceWake = value;
    }

    /// <summary>MMIO head doorbell writes so far.</summary>
    public long MmioDoorbellWrites => _doorbell.MmioWrites;

    /// <summary>Zeroes the ring and starts again at slot 0 with phase 1 (§4.2.4: a new queue's entries are all phase 0).</summary>
    public void Reset()
    {
        _memory.Span.Slice(0, _entries * CompletionEntry.Size).Clear();
        _head = 0;
        _doorbell.Reset();
        _phase = 1;
    }
}
