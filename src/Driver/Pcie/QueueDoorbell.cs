using System.Runtime.CompilerServices;

namespace PolledNvme.Queues;

/// <summary>
/// One queue's doorbell as the host publishes it (an SQ tail or a CQ head): the MMIO register,
/// or under Doorbell Buffer Config (NVMe Base 2.0 §5.9) the shadow slot, with the MMIO store
/// only when the controller's EventIdx asks for it; after an MMIO store, the wake-up of a
/// software device asleep on its register page. A mutable struct held as a field of its ring,
/// so the hot path has no extra indirection. Used by the ring's thread only.
/// </summary>
internal unsafe struct QueueDoorbell(uint* register)
{
    private readonly uint* _register = register;   // device register; written only with a volatile store
    private int _rung;                              // value last published (register or shadow)
    private uint* _shadow;                          // Doorbell Buffer Config: host memory the controller reads; null when off
    private uint* _eventIndex;                      // written by the controller: ring MMIO when an update passes it
    private bool _alwaysRing;                       // admin queue: shadow kept current, MMIO rung every time
    private long _mmioWrites;

    /// <summary>The sleeping software device to wake after an MMIO doorbell write, or null (hardware).</summary>
    public DoorbellWake? DeviceWake;

    /// <summary>
    /// Publishes <paramref name="value"/> if it moved: one volatile MMIO store (a release: the ring
    /// bytes written before are visible first), or with shadow doorbells the shadow store and the
    /// MMIO store only when EventIdx asks for it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Publish(int value)
    {
        int old = _rung;
        if (value == old)
            return;
        _rung = value;
        if (_shadow != null && !ShadowNeedsMmio(value, old))
            return;
        Volatile.Write(ref *_register, (uint)value);
        _mmioWrites++;
        DeviceWake?.AfterHostWrite();
    }

    /// <summary>
    /// Writes the shadow and says whether the MMIO doorbell must be rung too. The full fence orders
    /// the shadow store before the EventIdx load: either the controller sees the new value when it
    /// re-reads the shadow after updating EventIdx, or we see its new EventIdx and ring.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly bool ShadowNeedsMmio(int value, int old)
    {
        Volatile.Write(ref *_shadow, (uint)value);
        Interlocked.MemoryBarrier();
        return _alwaysRing || ShadowDoorbells.NeedEvent(Volatile.Read(ref *_eventIndex), value, old);
    }

    /// <summary>
    /// Switches to shadow doorbells at <paramref name="shadow"/>/<paramref name="eventIndex"/> (after
    /// Doorbell Buffer Config, or at queue creation while it is in force); the shadow gets the value
    /// last published. <paramref name="alwaysRing"/> keeps the MMIO doorbell rung on every update.
    /// </summary>
    public void AttachShadow(uint* shadow, uint* eventIndex, bool alwaysRing)
    {
        Volatile.Write(ref *shadow, (uint)_rung);
        _eventIndex = eventIndex;
        _alwaysRing = alwaysRing;
        _shadow = shadow;
    }

    /// <summary>Back to MMIO doorbells only (the controller was reset: its Doorbell Buffer Config is gone).</summary>
    public void DetachShadow()
    {
        _shadow = null;
        _eventIndex = null;
        _alwaysRing = false;
    }

    /// <summary>Whether updates go to a shadow doorbell.</summary>
    public readonly bool UsesShadow => _shadow != null;

    /// <summary>MMIO doorbell writes so far (each is a VM exit under a hypervisor).</summary>
    public readonly long MmioWrites => _mmioWrites;

    /// <summary>The queue starts again at 0 (controller reset, queue re-creation).</summary>
    public void Reset() => _rung = 0;
}
