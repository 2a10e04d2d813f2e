using PolledNvme.Driver.Spec;

namespace PolledNvme.Emulation;

/// <summary>
/// Doorbell Buffer Config (NVMe Base 2.0 §5.9; QEMU's hw/nvme dbbuf): the host gives a shadow
/// doorbell buffer (PRP1) and an EventIdx buffer (PRP2), laid out like the doorbell registers
/// from 1000h with the controller's stride. Every queue, existing or created later, then takes
/// its tail/head from the shadow buffer and reports in EventIdx the value it last read. A
/// controller reset drops the configuration with the queues.
/// </summary>
internal sealed unsafe partial class ControllerCore
{
    private ulong _shadowDoorbellBase;   // 0 while no Doorbell Buffer Config is in force
    private ulong _eventIndexBase;

    /// <summary>Whether a Doorbell Buffer Config is in force (tests).</summary>
    public bool ShadowDoorbellsConfigured => _shadowDoorbellBase != 0;

    /// <summary>Doorbell Buffer Config: both PRPs non-zero and memory-page aligned (else Invalid Field), the admin queue's slots mapped.</summary>
    public NvmeStatus ConfigureShadowDoorbells(ulong shadowBase, ulong eventIndexBase)
    {
        ulong pageMask = (ulong)Registers.PageSize - 1;
        if (shadowBase == 0 || eventIndexBase == 0 || (shadowBase & pageMask) != 0 || (eventIndexBase & pageMask) != 0)
            return NvmeStatus.InvalidField;
        if (!TrySlots(shadowBase, eventIndexBase, ControllerRegisters.SqTailDoorbell(0, Registers.Stride), out _, out _)
            || !TrySlots(shadowBase, eventIndexBase, ControllerRegisters.CqHeadDoorbell(0, Registers.Stride), out _, out _))
            return NvmeStatus.DataTransferError;
        _shadowDoorbellBase = shadowBase;
        _eventIndexBase = eventIndexBase;
        // Queues that exist already (the admin queue, and any I/O queue) switch now, as in QEMU.
        for (int qid = 0; qid < _completionQueues.Length; qid++)
        {
            if (_completionQueues[qid] is { } cq && !AttachShadow(cq))
                return NvmeStatus.DataTransferError;
            if (_submissionQueues[qid] is { } sq && !AttachShadow(sq))
                return NvmeStatus.DataTransferError;
        }
        return NvmeStatus.Success;
    }

    /// <summary>A new completion queue under Doorbell Buffer Config reads its shadow head; false when its slots are not mapped.</summary>
    private bool AttachShadow(EmulatedCompletionQueue cq)
    {
        if (_shadowDoorbellBase == 0)
            return true;
        if (!TrySlots(_shadowDoorbellBase, _eventIndexBase, ControllerRegisters.CqHeadDoorbell(cq.Id, Registers.Stride), out uint* shadow, out uint* eventIndex))
            return false;
        cq.UseShadowDoorbell(shadow, eventIndex);
        return true;
    }

    /// <summary>A new submission queue under Doorbell Buffer Config reads its shadow tail; false when its slots are not mapped.</summary>
    private bool AttachShadow(EmulatedSubmissionQueue sq)
    {
        if (_shadowDoorbellBase == 0)
            return true;
        if (!TrySlots(_shadowDoorbellBase, _eventIndexBase, ControllerRegisters.SqTailDoorbell(sq.Id, Registers.Stride), out uint* shadow, out uint* eventIndex))
            return false;
        sq.UseShadowDoorbell(shadow, eventIndex);
        return true;
    }

    /// <summary>Controller reset: the configuration is gone (§5.9); queues created afterwards use the MMIO doorbells.</summary>
    private void ForgetShadowDoorbells()
    {
        _shadowDoorbellBase = 0;
        _eventIndexBase = 0;
    }

    private bool TrySlots(ulong shadowBase, ulong eventIndexBase, int doorbellOffset, out uint* shadow, out uint* eventIndex)
    {
        ulong offset = (ulong)(doorbellOffset - ControllerRegisters.DoorbellBase);
        // Only the device's own view of host memory: a slot outside the DMA mappings is never touched.
        shadow = (uint*)Dma.Translate(shadowBase + offset, 4);
        eventIndex = (uint*)Dma.Translate(eventIndexBase + offset, 4);
        return shadow != null && eventIndex != null;
    }
}
