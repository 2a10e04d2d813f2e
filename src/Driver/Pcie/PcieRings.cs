using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Pcie;

/// <summary>
/// The memory-side half of a PCIe queue pair, built by <see cref="PcieTransport"/>: the
/// submission and completion rings in DMA memory with their doorbells (at the controller's
/// doorbell stride) and the PRP list pages, one run per command id. Opaque outside the driver:
/// a binding that subclasses <see cref="PcieQueuePair"/> receives it from
/// <see cref="PcieTransport.CreateQueuePair"/> and passes it on to the base constructor.
/// </summary>
public sealed class PcieRings
{
    private readonly DmaBuffer _sqMemory;
    private readonly DmaBuffer _cqMemory;

    private PcieRings(ushort id, int entries, DmaBuffer sqMemory, DmaBuffer cqMemory, SubmissionQueue sq, CompletionQueue cq, PrpBuilder prp)
    {
        Id = id;
        Entries = entries;
        _sqMemory = sqMemory;
        _cqMemory = cqMemory;
        Submission = sq;
        Completion = cq;
        Prp = prp;
    }

    /// <summary>Queue identifier (0 = admin).</summary>
    public ushort Id { get; }

    /// <summary>Slots in each ring (SQ and CQ are the same size).</summary>
    public int Entries { get; }

    internal SubmissionQueue Submission { get; }

    internal CompletionQueue Completion { get; }

    internal PrpBuilder Prp { get; }

    /// <summary>The SQ ring's memory (tests put a fake device on it).</summary>
    internal DmaBuffer SubmissionMemory => _sqMemory;

    /// <summary>The CQ ring's memory.</summary>
    internal DmaBuffer CompletionMemory => _cqMemory;

    /// <summary>
    /// Allocates page-aligned rings of <see cref="QueuePairSettings.Entries"/> slots from the
    /// controller's memory, with their doorbells in <paramref name="registers"/> at stride
    /// <paramref name="dstrd"/>, and PRP list pages for one command per slot but one.
    /// </summary>
    internal static PcieRings Create(RegisterWindow registers, int dstrd, in QueuePairSettings settings)
    {
        ushort id = settings.Id;
        int entries = settings.Entries;
        DmaAllocator memory = settings.Memory;
        DmaBuffer sqMemory = memory.AllocatePageAligned(entries * SubmissionEntry.Size);
        DmaBuffer? cqMemory = null;
        try
        {
            cqMemory = memory.AllocatePageAligned(entries * CompletionEntry.Size);
            var sq = new SubmissionQueue(id, sqMemory, entries, registers, ControllerRegisters.SqTailDoorbell(id, dstrd));
            var cq = new CompletionQueue(id, cqMemory, entries, registers, ControllerRegisters.CqHeadDoorbell(id, dstrd));
            // One command fewer than slots: a full SQ is tail + 1 == head (§4.1.1), so a rented request always finds a slot.
            var prp = new PrpBuilder(memory, settings.PageSize, settings.MaxTransferBytes, entries - 1);
            return new PcieRings(id, entries, sqMemory, cqMemory, sq, cq, prp);
        }
        catch
        {
            sqMemory.Dispose();
            cqMemory?.Dispose();
            throw;
        }
    }

    /// <summary>Restarts both rings at slot 0 (after the queues were (re-)created on the controller).</summary>
    internal void Reset()
    {
        Submission.Reset();
        Completion.Reset();
    }

    /// <summary>
    /// Switches both doorbells of this queue pair to <paramref name="shadow"/>'s slots (Doorbell
    /// Buffer Config in force). <paramref name="alwaysRing"/>: keep ringing MMIO on every update too.
    /// </summary>
    internal unsafe void AttachShadow(ShadowDoorbells shadow, bool alwaysRing)
    {
        Submission.AttachShadow(shadow.SqTail(Id), shadow.SqEventIndex(Id), alwaysRing);
        Completion.AttachShadow(shadow.CqHead(Id), shadow.CqEventIndex(Id), alwaysRing);
    }

    /// <summary>Back to MMIO doorbells only.</summary>
    /// <summary>Doorbell writes of both rings wake <paramref name="wake"/>'s device when it sleeps (null: real hardware, nothing to wake).</summary>
    internal void AttachDeviceWake(DoorbellWake? wake)
    {
        Submission.DeviceWake = wake;
        Completion.DeviceWake = wake;
    }

    internal void DetachShadow()
    {
        Submission.DetachShadow();
        Completion.DetachShadow();
    }

    /// <summary>Whether this queue pair's doorbells go through shadow doorbells.</summary>
    internal bool UsesShadowDoorbells => Submission.UsesShadow;

    /// <summary>MMIO doorbell writes (SQ tail and CQ head) since the rings were built.</summary>
    internal long MmioDoorbellWrites => Submission.MmioDoorbellWrites + Completion.MmioDoorbellWrites;

    /// <summary>Returns the rings and the PRP list pages to the controller's memory.</summary>
    internal void Free()
    {
        Prp.Dispose();
        _sqMemory.Dispose();
        _cqMemory.Dispose();
    }
}
