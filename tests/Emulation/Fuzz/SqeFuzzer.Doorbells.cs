using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>
/// Doorbells as a host writes them: MMIO registers, or, once a Doorbell Buffer Config is in force
/// (configurations that ask for it), the shadow slot followed by the MMIO write only when
/// EventIdx asks for it — plus, now and then, one it does not ask for (always allowed). The
/// device waits for the kicks EventIdx demands, so a wrong EventIdx shows up as a stall.
/// </summary>
internal sealed unsafe partial class SqeFuzzer
{
    private bool _shadowInForce;
    private ulong _shadowBase, _eventIndexBase;

    private void RingSq(HostSq sq) => Ring(ControllerRegisters.SqTailDoorbell(sq.Id, _config.DoorbellStride), sq.Tail);

    private void RingCq(HostCq cq) => Ring(ControllerRegisters.CqHeadDoorbell(cq.Id, _config.DoorbellStride), cq.Head);

    private void Ring(int doorbell, int value)
    {
        if (!_shadowInForce)
        {
            Registers.Write32(doorbell, (uint)value);
            return;
        }
        uint* shadow = Slot(_shadowBase, doorbell), eventIndex = Slot(_eventIndexBase, doorbell);
        int old = (int)Volatile.Read(ref *shadow);
        Volatile.Write(ref *shadow, (uint)value);
        Interlocked.MemoryBarrier();   // the shadow write before the EventIdx read (§5.9; the device orders the other way round)
        bool needed = ShadowDoorbells.NeedEvent(Volatile.Read(ref *eventIndex), value, old);
        if (!_config.BrokenHostSkipsKicks && (needed || _random.Next(16) == 0))
        {
            Registers.Write32(doorbell, (uint)value);
            Stats.MmioDoorbells++;
        }
        else
            Stats.ShadowOnlyDoorbells++;
    }

    /// <summary>
    /// Puts a Doorbell Buffer Config in force after every enable, when the configuration asks for
    /// it: the queues that exist switch at once, queues created later start in shadow mode.
    /// </summary>
    private void EnsureShadowDoorbells()
    {
        if (!_config.ShadowDoorbellsInForce || _shadowInForce)
            return;
        var shadow = _memory.ShadowDoorbells;
        var events = _memory.EventIndexes;
        shadow.Span.Clear();
        events.Span.Clear();
        ulong shadowBase = shadow.Iova + (ulong)shadow.AlignedOffset(0, Model.PageSize);
        ulong eventIndexBase = events.Iova + (ulong)events.AlignedOffset(0, Model.PageSize);
        var e = new SubmissionEntry { Opcode = (byte)AdminOpcode.DoorbellBufferConfig, Prp1 = shadowBase, Prp2 = eventIndexBase };
        RunChecked(_adminSq, e, "doorbell buffer config", admin: true);
        (_shadowBase, _eventIndexBase, _shadowInForce) = (shadowBase, eventIndexBase, true);
        // The device starts each shadow slot at the value it knows (QEMU's rule): ours must agree.
        foreach (var sq in _state.Sqs)
            if (sq is not null && !sq.Deleted && *Slot(_shadowBase, ControllerRegisters.SqTailDoorbell(sq.Id, _config.DoorbellStride)) != (uint)sq.Tail)
                throw new FuzzViolationException($"after Doorbell Buffer Config the shadow tail of {sq} is {*Slot(_shadowBase, ControllerRegisters.SqTailDoorbell(sq.Id, _config.DoorbellStride))}, the host's tail {sq.Tail}");
        Stats.ShadowConfigs++;
    }

    /// <summary>Writes both shadow slots directly, no EventIdx test (garbage, and putting it right again).</summary>
    private void WriteShadows(HostSq sq, uint tail, HostCq cq, uint head)
    {
        Volatile.Write(ref *Slot(_shadowBase, ControllerRegisters.SqTailDoorbell(sq.Id, _config.DoorbellStride)), tail);
        Volatile.Write(ref *Slot(_shadowBase, ControllerRegisters.CqHeadDoorbell(cq.Id, _config.DoorbellStride)), head);
    }

    private uint* Slot(ulong bufferIova, int doorbell)
        => (uint*)_memory.Translate(bufferIova + (ulong)(doorbell - ControllerRegisters.DoorbellBase), 4);
}
