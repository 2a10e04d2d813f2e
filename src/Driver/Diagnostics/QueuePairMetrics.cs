using System.Diagnostics;
using System.Runtime.CompilerServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;

namespace PolledNvme.Driver;

/// <summary>
/// The counters of one I/O queue pair behind the "PolledNvme" meter (<see cref="NvmeMetrics"/>).
/// Written only by the queue pair's owning thread with plain stores (no interlocked ops: one
/// queue pair per thread), read by the metrics collector thread in the observable instruments'
/// callbacks with <c>Volatile.Read</c>: a collection may see a value a few
/// I/Os old, never a torn one (a single writer; 64-bit volatile reads are atomic), and never one
/// that goes backwards. All the memory is allocated here, when the queue pair is created.
/// </summary>
internal sealed class QueuePairMetrics
{
    /// <summary>Distinct error statuses counted one by one; later ones share <see cref="OtherStatusKey"/>.</summary>
    internal const int StatusSlots = 16;
    internal const ushort OtherStatusKey = 0xFFFF;

    private readonly IoQueuePair _pair;
    private long _reads, _writes, _others;
    private long _bytesRead, _bytesWritten;
    private long _queueFull;
    // Error statuses (SCT/SC): the key is published before its count (see CountError).
    private readonly ushort[] _statusKeys = new ushort[StatusSlots + 1];
    private readonly long[] _statusCounts = new long[StatusSlots + 1];
    private int _statusSlotsUsed;
    private readonly long[] _piErrors = new long[NvmeMetrics.PiKinds];

    // Tag lists made once, so recording a latency allocates nothing.
    internal readonly KeyValuePair<string, object?>[] ReadTags, WriteTags, OtherTags, PairTags;

    public QueuePairMetrics(IoQueuePair pair, string controller, ushort queueId)
    {
        _pair = pair;
        object id = (int)queueId;   // boxed once
        PairTags = [new(NvmeMetrics.ControllerTag, controller), new(NvmeMetrics.QueuePairTag, id)];
        ReadTags = [.. PairTags, new(NvmeMetrics.OpTag, "read")];
        WriteTags = [.. PairTags, new(NvmeMetrics.OpTag, "write")];
        OtherTags = [.. PairTags, new(NvmeMetrics.OpTag, "other")];
    }

    /// <summary>
    /// One command completed (successfully or not, including commands the driver failed on a
    /// reset): counts it by opcode, its bytes when it succeeded, its status when it failed, and
    /// its latency when <paramref name="submitTimestamp"/> was taken (the histogram is observed).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Completed(byte opcode, int dataLength, NvmeStatus status, long submitTimestamp)
    {
        bool ok = status.IsSuccess;
        if (opcode == (byte)NvmOpcode.Read)
        {
            _reads++;
            if (ok)
                _bytesRead += dataLength;
        }
        else if (opcode == (byte)NvmOpcode.Write)
        {
            _writes++;
            if (ok)
                _bytesWritten += dataLength;
        }
        else
            _others++;
        if (!ok)
            CountError(status);
        if (submitTimestamp != 0)
            RecordLatency(opcode, submitTimestamp);
    }

    /// <summary>A submit found every request slot in use (thrown or returned false by a Try form).</summary>
    public void QueueFull() => _queueFull++;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CountError(NvmeStatus status)
    {
        ushort key = status.TypeAndCode;
        int used = _statusSlotsUsed;
        int slot = 0;
        while (slot < used && _statusKeys[slot] != key)
            slot++;
        if (slot == used)
        {
            if (used < StatusSlots)
            {
                _statusKeys[slot] = key;
                Volatile.Write(ref _statusSlotsUsed, used + 1);   // the collector reads the key only after this
            }
            else
            {
                slot = StatusSlots;   // more distinct statuses than slots: counted together
                _statusKeys[slot] = OtherStatusKey;
            }
        }
        _statusCounts[slot]++;
        int pi = NvmeMetrics.PiKindIndex(status);
        if (pi >= 0)
            _piErrors[pi]++;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RecordLatency(byte opcode, long submitTimestamp)
    {
        double micros = Stopwatch.GetElapsedTime(submitTimestamp).TotalMicroseconds;
        KeyValuePair<string, object?>[] tags = opcode == (byte)NvmOpcode.Read ? ReadTags : opcode == (byte)NvmOpcode.Write ? WriteTags : OtherTags;
        NvmeMetrics.Latency.Record(micros, tags);
    }

    // Collector side: volatile reads of the owner's plain counters.

    public long Reads => Volatile.Read(ref _reads);
    public long Writes => Volatile.Read(ref _writes);
    public long Others => Volatile.Read(ref _others);
    public long BytesRead => Volatile.Read(ref _bytesRead);
    public long BytesWritten => Volatile.Read(ref _bytesWritten);
    public long QueueFullEvents => Volatile.Read(ref _queueFull);
    public int InFlight => _pair.InFlight;   // an int read: atomic; a stale value is fine for a gauge

    /// <summary>PI check failures the controller reported, by <see cref="PiErrorKind"/> index (0 guard .. 3 storage tag).</summary>
    public long PiErrors(int kindIndex) => Volatile.Read(ref _piErrors[kindIndex]);

    /// <summary>Calls <paramref name="report"/> for every error status seen so far with its count.</summary>
    public void ForEachStatus<TState>(TState state, Action<TState, ushort, long> report)
    {
        int used = Volatile.Read(ref _statusSlotsUsed);
        for (int i = 0; i < used; i++)
            report(state, _statusKeys[i], Volatile.Read(ref _statusCounts[i]));
        long other = Volatile.Read(ref _statusCounts[StatusSlots]);
        if (other != 0)
            report(state, OtherStatusKey, other);
    }
}
