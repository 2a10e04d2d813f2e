using System.Runtime.CompilerServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Emulation;

/// <summary>
/// The device side of a completion queue (NVMe Base 2.0 §4.1, §4.2.4): the device owns the tail
/// and the phase tag, the host owns the head through its doorbell.
/// </summary>
internal sealed unsafe class EmulatedCompletionQueue(ushort id, int size, CompletionEntry* ring, uint* headDoorbell)
{
    /// <summary>Queue identifier.</summary>
    public readonly ushort Id = id;
    /// <summary>Entries in the ring.</summary>
    public readonly int Size = size;
    private readonly CompletionEntry* _ring = ring;
    private uint* _headDoorbell = headDoorbell;   // the MMIO register, or the shadow doorbell after Doorbell Buffer Config
    private uint* _eventIndex;                    // null until Doorbell Buffer Config
    private int _tail;
    private int _head;
    private bool _phase = true;   // the first lap posts phase 1 (§4.2.4: the host zeroes the ring)

    /// <summary>Submission queues that post here (a CQ with SQs cannot be deleted).</summary>
    public int AttachedSubmissionQueues;

    /// <summary>Create I/O CQ CDW11.IEN: completions raise interrupt <see cref="InterruptVector"/>.</summary>
    public bool InterruptsEnabled;

    /// <summary>Create I/O CQ CDW11.IV.</summary>
    public ushort InterruptVector;

    /// <summary>EventIdx updates so far (the sleeping device re-checks its doorbells after any).</summary>
    public int EventIndexWrites;

    private bool _interruptPending;   // entries posted since the last interrupt decision
    private bool _signalled;          // the interrupt was signalled and the host has not caught up since

    /// <summary>
    /// Whether the entries posted since the last call need an interrupt: unless the host has
    /// consumed all of them already (its head, read after a full fence, is our tail), it may be
    /// asleep or about to sleep without having seen the last ones. Not "only when the host had caught
    /// up before the first of them": a host polling during a long pass consumes its first entries,
    /// catches up, arms and sleeps while the pass posts more, and would never be woken. Linux and
    /// SPDK keep interrupts enabled and coalesce nothing; one decision per pass (and the Armed mask
    /// in <see cref="RaiseInterrupt"/>) is the cheap aggregation an emulator can afford (an eventfd
    /// write is a system call).
    /// </summary>
    public bool TakeInterrupt()
    {
        if (!_interruptPending)
            return false;
        _interruptPending = false;
        Interlocked.MemoryBarrier();   // our entry stores before the head load (the host: head store, fence, entry load)
        return Volatile.Read(ref *_headDoorbell) != (uint)_tail;
    }

    /// <summary>
    /// The host's head as its doorbell says now (the idle device thread watches it), and whether
    /// the host is waking up for entries it has not consumed yet: this queue signalled its
    /// interrupt for them (the host was asleep, or about to sleep). Device thread only.
    /// </summary>
    public uint PeekHead(out bool hostWaking)
    {
        uint head = Volatile.Read(ref *_headDoorbell);
        if (head == (uint)_tail)
            _signalled = false;   // caught up: whatever comes next is a new story
        hostWaking = _signalled;
        return head;
    }

    /// <summary>
    /// End of a device pass: signals <paramref name="vector"/> when <see cref="TakeInterrupt"/> says
    /// the host may be asleep and the host armed it (a masked, unarmed vector sends nothing: the host
    /// is polling and re-checks the queue, after its own fence, before it sleeps).
    /// </summary>
    public void RaiseInterrupt(EventFd? vector)
    {
        // TakeInterrupt fences our entry stores before the loads that follow (the head, then
        // Armed); the host stores Armed, fences, then re-checks the CQ: one of us sees the other.
        if (TakeInterrupt() && vector is { Armed: true })
        {
            vector.Signal();
            _signalled = true;
        }
    }

    /// <summary>Reads the head doorbell; an out-of-range value (Invalid Doorbell Write Value) is ignored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RefreshHead()
    {
        uint head = Volatile.Read(ref *_headDoorbell);
        if (head < (uint)Size)
        {
            // EventIdx as QEMU writes it: the head last read, so the host rings MMIO once it moves past it.
            if (_eventIndex != null && head != (uint)_head)
            {
                Volatile.Write(ref *_eventIndex, head);
                EventIndexWrites++;
            }
            _head = (int)head;
        }
    }

    /// <summary>
    /// Doorbell Buffer Config (§5.9): from now on the head is read from <paramref name="shadowHead"/>
    /// in host memory, which starts at the head the device knows (as QEMU does), and EventIdx is
    /// written to <paramref name="eventIndex"/>.
    /// </summary>
    public void UseShadowDoorbell(uint* shadowHead, uint* eventIndex)
    {
        RefreshHead();
        Volatile.Write(ref *shadowHead, (uint)_head);
        Volatile.Write(ref *eventIndex, (uint)_head);
        _eventIndex = eventIndex;
        _headDoorbell = shadowHead;
    }

    /// <summary>True when one more entry would overwrite an entry the host has not consumed.</summary>
    public bool IsFull
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            int next = _tail + 1 == Size ? 0 : _tail + 1;
            if (next != _head)
                return false;
            RefreshHead();
            return next == _head;
        }
    }

    /// <summary>
    /// Posts one completion. DW0-DW2 are written first; DW3 (command id, status and the phase tag)
    /// last, in one release store, so a host that sees the new phase sees the whole entry.
    /// </summary>
    public void Post(uint result, ushort sqHead, ushort sqId, ushort commandId, NvmeStatus status)
    {
        if (InterruptsEnabled)
            _interruptPending = true;
        CompletionEntry* entry = _ring + _tail;
        entry->Result = result;
        entry->Dw1 = 0;
        entry->SqHead = sqHead;
        entry->SqId = sqId;
        uint dw3 = commandId | ((uint)((status.Value << 1) | (_phase ? 1 : 0)) << 16);
        Volatile.Write(ref *(uint*)&entry->CommandId, dw3);
        if (++_tail == Size)
        {
            _tail = 0;
            _phase = !_phase;
        }
    }
}

/// <summary>
/// The device side of a submission queue (NVMe Base 2.0 §4.1): the host owns the tail through its
/// doorbell, the device owns the head and reports it in every completion.
/// </summary>
internal sealed unsafe class EmulatedSubmissionQueue(ushort id, int size, SubmissionEntry* ring, uint* tailDoorbell, EmulatedCompletionQueue completionQueue)
{
    /// <summary>Queue identifier.</summary>
    public readonly ushort Id = id;
    /// <summary>Entries in the ring.</summary>
    public readonly int Size = size;
    /// <summary>Where completions go.</summary>
    public readonly EmulatedCompletionQueue CompletionQueue = completionQueue;
    private readonly SubmissionEntry* _ring = ring;
    private uint* _tailDoorbell = tailDoorbell;   // the MMIO register, or the shadow doorbell after Doorbell Buffer Config
    private readonly uint* _mmioTail = tailDoorbell;
    private uint* _eventIndex;                    // null until Doorbell Buffer Config
    private bool _waitingForKick;                 // shadow mode: idle until the host writes the MMIO doorbell
    private int _tail;

    /// <summary>An MMIO value the host never writes (tails are below the queue size): any write changes it.</summary>
    private const uint NoKick = uint.MaxValue;

    /// <summary>EventIdx updates so far (the sleeping device re-checks its doorbells after any).</summary>
    public int EventIndexWrites;

    /// <summary>Next entry to fetch.</summary>
    public int Head { get; private set; }

    /// <summary>Reads the tail doorbell; returns whether entries are waiting. Out-of-range values are ignored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool HasWork()
    {
        if (_eventIndex != null)
            return HasShadowWork();
        ReadTail();
        return _tail != Head;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ReadTail()
    {
        uint tail = Volatile.Read(ref *_tailDoorbell);
        if (tail < (uint)Size)
        {
            // EventIdx as QEMU writes it: the tail last read; the host rings MMIO when its next tail passes it.
            if (_eventIndex != null && tail != (uint)_tail)
            {
                Volatile.Write(ref *_eventIndex, tail);
                EventIndexWrites++;
            }
            _tail = (int)tail;
        }
    }

    /// <summary>
    /// Under Doorbell Buffer Config the device reads the shadow tail only while it is busy, as a
    /// real controller (and QEMU) does: once it has caught up it publishes EventIdx and waits for
    /// an MMIO doorbell write. So a host that skips an MMIO write the EventIdx rule demands
    /// stalls here, as it would on hardware, instead of being rescued by a device that polls.
    /// </summary>
    private bool HasShadowWork()
    {
        if (_waitingForKick)
        {
            if (Volatile.Read(ref *_mmioTail) == NoKick)
                return false;
            _waitingForKick = false;
        }
        ReadTail();
        if (_tail != Head)
            return true;
        // Caught up. Arm the kick first, then publish EventIdx = the tail read, then look once more:
        // a host that wrote the shadow before it saw this EventIdx has not rung, and is seen here.
        Volatile.Write(ref *_mmioTail, NoKick);
        Volatile.Write(ref *_eventIndex, (uint)_tail);
        EventIndexWrites++;
        Interlocked.MemoryBarrier();
        ReadTail();
        if (_tail != Head)
            return true;
        _waitingForKick = true;
        return false;
    }

    /// <summary>
    /// Doorbell Buffer Config (§5.9): from now on the tail is read from <paramref name="shadowTail"/>
    /// in host memory, which starts at the tail the device knows (as QEMU does), and EventIdx is
    /// written to <paramref name="eventIndex"/>.
    /// </summary>
    public void UseShadowDoorbell(uint* shadowTail, uint* eventIndex)
    {
        HasWork();
        Volatile.Write(ref *shadowTail, (uint)_tail);
        Volatile.Write(ref *eventIndex, (uint)_tail);
        _eventIndex = eventIndex;
        _tailDoorbell = shadowTail;
    }

    /// <summary>Copies the entry at the head out of the ring and advances the head.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Fetch(out SubmissionEntry entry)
    {
        entry = _ring[Head];
        Head = Head + 1 == Size ? 0 : Head + 1;
    }

    /// <summary>Whether an entry with <paramref name="commandId"/> sits between head and tail (submitted, not yet fetched).</summary>
    public bool IsPending(ushort commandId)
    {
        HasWork();
        for (int i = Head; i != _tail; i = i + 1 == Size ? 0 : i + 1)
            if (_ring[i].CommandId == commandId)
                return true;
        return false;
    }
}
