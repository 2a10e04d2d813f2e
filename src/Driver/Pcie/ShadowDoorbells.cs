using System.Runtime.CompilerServices;
using PolledNvme.Driver.Spec;

namespace PolledNvme.Queues;

/// <summary>
/// The host's two Doorbell Buffer Config buffers (NVMe Base 2.0 §5.9, §3.1.4.23-24 layout):
/// the shadow doorbells the host writes instead of the MMIO registers, and the EventIdx values
/// the controller writes to say when it wants the MMIO doorbell rung. Each holds one 32-bit
/// slot per doorbell at the register's offset from 1000h, so with the controller's stride.
/// Allocated once per controller; zeroed before every Doorbell Buffer Config (a reset clears
/// the controller's configuration, and stale values must not look like new tails).
/// </summary>
internal sealed unsafe class ShadowDoorbells : IDisposable
{
    private readonly DmaBuffer _shadow;
    private readonly DmaBuffer _eventIndexes;
    private readonly int _dstrd;

    /// <summary>Buffers for the admin queue and <paramref name="ioQueuePairs"/> I/O queue pairs at doorbell stride <paramref name="dstrd"/>.</summary>
    public ShadowDoorbells(DmaAllocator memory, int dstrd, int ioQueuePairs)
    {
        _dstrd = dstrd;
        QueuePairs = ioQueuePairs;
        int bytes = ControllerRegisters.CqHeadDoorbell(ioQueuePairs, dstrd) + 4 - ControllerRegisters.DoorbellBase;
        _shadow = memory.AllocatePageAligned(bytes);
        try
        {
            _eventIndexes = memory.AllocatePageAligned(bytes);
        }
        catch
        {
            _shadow.Dispose();
            throw;
        }
        Clear();
    }

    /// <summary>I/O queue pairs the buffers have slots for (queue ids 1..QueuePairs).</summary>
    public int QueuePairs { get; }

    /// <summary>PRP1 of Doorbell Buffer Config.</summary>
    public ulong ShadowIova => _shadow.Iova;

    /// <summary>PRP2 of Doorbell Buffer Config.</summary>
    public ulong EventIndexIova => _eventIndexes.Iova;

    /// <summary>Shadow tail doorbell of SQ <paramref name="qid"/>.</summary>
    public uint* SqTail(int qid) => Slot(_shadow, ControllerRegisters.SqTailDoorbell(qid, _dstrd));

    /// <summary>EventIdx of SQ <paramref name="qid"/>.</summary>
    public uint* SqEventIndex(int qid) => Slot(_eventIndexes, ControllerRegisters.SqTailDoorbell(qid, _dstrd));

    /// <summary>Shadow head doorbell of CQ <paramref name="qid"/>.</summary>
    public uint* CqHead(int qid) => Slot(_shadow, ControllerRegisters.CqHeadDoorbell(qid, _dstrd));

    /// <summary>EventIdx of CQ <paramref name="qid"/>.</summary>
    public uint* CqEventIndex(int qid) => Slot(_eventIndexes, ControllerRegisters.CqHeadDoorbell(qid, _dstrd));

    /// <summary>Zeroes one queue pair's four slots (before its queues are created: a new queue starts at 0).</summary>
    public void ClearQueue(int qid)
    {
        Volatile.Write(ref *SqTail(qid), 0u);
        Volatile.Write(ref *SqEventIndex(qid), 0u);
        Volatile.Write(ref *CqHead(qid), 0u);
        Volatile.Write(ref *CqEventIndex(qid), 0u);
    }

    /// <summary>Zeroes both buffers.</summary>
    public void Clear()
    {
        _shadow.Span.Clear();
        _eventIndexes.Span.Clear();
    }

    /// <summary>
    /// The EventIdx test (Linux's nvme_dbbuf_need_event, virtio's vring_need_event): whether
    /// moving a doorbell from <paramref name="old"/> to <paramref name="next"/> passes
    /// <paramref name="eventIndex"/>, i.e. the controller asked to be told about this update.
    /// Indexes are below the queue size, so 16-bit wrap arithmetic gives the right answer across
    /// the ring's wrap too.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool NeedEvent(uint eventIndex, int next, int old)
        => (ushort)(next - (int)eventIndex - 1) < (ushort)(next - old);

    private uint* Slot(DmaBuffer buffer, int doorbellOffset)
    {
        int offset = doorbellOffset - ControllerRegisters.DoorbellBase;
        if (offset < 0 || offset + 4 > buffer.Length)
            throw new ArgumentOutOfRangeException(nameof(doorbellOffset), $"Doorbell 0x{doorbellOffset:X} has no slot in the {buffer.Length}-byte shadow doorbell buffer (room for {QueuePairs} I/O queue pairs).");
        return (uint*)(buffer.Pointer + offset);
    }

    public void Dispose()
    {
        _shadow.Dispose();
        _eventIndexes.Dispose();
    }
}
