using System.Diagnostics;
using System.Diagnostics.Metrics;
using PolledNvme.Driver;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Examples.KeyValueStore;

/// <summary>
/// A key-value store on one namespace: one record per block (<see cref="BlockRecord"/>), the
/// block found by hashing the key and probing the next blocks (open addressing). Every
/// operation runs on the queue pair's event loop (<see cref="IoQueuePair.Run"/>): plain
/// <c>await</c>s, many operations in flight at once, reads and writes into slices of an
/// application-owned pinned arena, a <see cref="CancellationToken"/> per operation, and
/// back-pressure instead of exceptions (an operation waits for an arena slice; the queue pair
/// queues commands in software when its slots are full). Records are not deleted.
/// </summary>
public sealed class BlockKeyValueStore : IDisposable
{
    /// <summary>The store's meter: operations, hits, back-pressure waits, operation latency.</summary>
    public const string MeterName = "PolledNvme.Examples.KeyValue";

    /// <summary>Blocks probed after the home block before a Put reports the store full.</summary>
    public const int MaxProbe = 16;

    private static readonly Meter s_meter = new(MeterName);
    private static readonly Counter<long> s_gets = s_meter.CreateCounter<long>("kv.gets", "{operation}");
    private static readonly Counter<long> s_hits = s_meter.CreateCounter<long>("kv.hits", "{operation}");
    private static readonly Counter<long> s_puts = s_meter.CreateCounter<long>("kv.puts", "{operation}");
    private static readonly Counter<long> s_waits = s_meter.CreateCounter<long>("kv.backpressure_waits", "{wait}");
    private static readonly Histogram<double> s_latency = s_meter.CreateHistogram<double>("kv.operation.latency", "us");

    private readonly IoQueuePair _qp;
    private readonly Namespace _ns;
    private readonly PinnedArena _arena;
    private readonly IoProtectionOptions _pi;
    private readonly long _slots;
    private readonly bool[] _homeBusy;    // one operation per home block at a time (same key: in order)
    private readonly bool[] _claimed;     // a Put chose this empty block and its write is in flight

    /// <summary>
    /// A store on the first <paramref name="slots"/> blocks of <paramref name="ns"/>, through
    /// <paramref name="qp"/> (create it with a software queue, <see cref="IoQueuePairOptions.SoftwareQueueDepth"/>,
    /// so a full pair queues instead of throwing), with <paramref name="concurrency"/> block-sized
    /// slices of pinned memory. On a namespace with protection information the controller inserts
    /// and checks it (PRACT): guard and reference tag, so a block read from the wrong LBA fails.
    /// </summary>
    public BlockKeyValueStore(NvmeController controller, Namespace ns, IoQueuePair qp, long slots, int concurrency)
    {
        ArgumentNullException.ThrowIfNull(controller);
        ArgumentNullException.ThrowIfNull(ns);
        ArgumentNullException.ThrowIfNull(qp);
        long limit = (long)Math.Min(ns.BlockCount, (ulong)Array.MaxLength);
        if (slots < 1 || slots > limit)
            throw new ArgumentOutOfRangeException(nameof(slots), $"The store needs 1..{limit} blocks of namespace {ns.Id}; got {slots}.");
        if (ns.MetadataSize != 0 && ns.ProtectionFormat is null)
            throw new ArgumentException($"Namespace {ns.Id} has {ns.MetadataSize} bytes of metadata without protection information; the store uses namespaces without metadata or with PI (inserted by the controller).", nameof(ns));
        _qp = qp;
        _ns = ns;
        _slots = slots;
        _homeBusy = new bool[slots];
        _claimed = new bool[slots];
        _pi = ns.ProtectionFormat is null ? default : IoProtectionOptions.ControllerInserts(PiChecks.Guard | PiChecks.ReferenceTag);
        _arena = new PinnedArena(controller, concurrency, ns.BlockSize);
    }

    /// <summary>Longest value for a key of <paramref name="keyLength"/> bytes.</summary>
    public int MaxValueLength(int keyLength) => BlockRecord.MaxValueLength(_ns.BlockSize, keyLength);

    /// <summary>Operations that waited for an arena slice (back-pressure).</summary>
    public long BackPressureWaits { get; private set; }

    /// <summary>
    /// Stores <paramref name="value"/> under <paramref name="key"/> (replacing an older value).
    /// Throws <see cref="InvalidOperationException"/> when the key's home block and the
    /// <see cref="MaxProbe"/> after it hold other keys. Cancelled: <see cref="OperationCanceledException"/>
    /// (the value may or may not have been written, as for any cancelled write).
    /// </summary>
    public async ValueTask PutAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        CheckKey(key.Length);
        if (value.Length > MaxValueLength(key.Length))
            throw new ArgumentException($"A value of {value.Length} bytes does not fit a {_ns.BlockSize}-byte block with a {key.Length}-byte key (at most {MaxValueLength(key.Length)}).", nameof(value));
        long start = Stopwatch.GetTimestamp();
        long home = Home(key.Span);
        DmaBuffer slice = await EnterAsync(home, cancellationToken);
        try
        {
            for (int probe = 0; probe <= MaxProbe; probe++)
            {
                long slot = (home + probe) % _slots;
                await WhileClaimedAsync(slot, cancellationToken);
                await _qp.ReadAsync(_ns, (ulong)slot, 1, slice, null, _pi, cancellationToken);
                BlockRecord.Kind kind = BlockRecord.Read(slice.Span, out ReadOnlySpan<byte> stored, out _);
                if (kind == BlockRecord.Kind.Record && !stored.SequenceEqual(key.Span))
                    continue;
                if (kind == BlockRecord.Kind.Damaged)
                    throw new InvalidDataException($"Block {slot} of namespace {_ns.Id} holds no valid record (a torn write, or not a store): the store does not overwrite it.");
                BlockRecord.Write(slice.Span, key.Span, value.Span);
                _claimed[slot] = true;
                try
                {
                    await _qp.WriteAsync(_ns, (ulong)slot, 1, slice, null, _pi, cancellationToken);
                }
                finally
                {
                    _claimed[slot] = false;
                }
                s_puts.Add(1);
                s_latency.Record(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                return;
            }
            throw new InvalidOperationException($"The store is full around block {home}: it and the {MaxProbe} blocks after it hold other keys.");
        }
        finally
        {
            Leave(home, slice);
        }
    }

    /// <summary>
    /// Copies the value stored under <paramref name="key"/> into <paramref name="destination"/>
    /// and returns its length, or -1 when the key is absent. <paramref name="destination"/> too
    /// small: <see cref="ArgumentException"/>. Cancelled: <see cref="OperationCanceledException"/>.
    /// </summary>
    public async ValueTask<int> GetAsync(ReadOnlyMemory<byte> key, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        CheckKey(key.Length);
        long start = Stopwatch.GetTimestamp();
        long home = Home(key.Span);
        DmaBuffer slice = await EnterAsync(home, cancellationToken);
        try
        {
            s_gets.Add(1);
            for (int probe = 0; probe <= MaxProbe; probe++)
            {
                long slot = (home + probe) % _slots;
                await WhileClaimedAsync(slot, cancellationToken);
                await _qp.ReadAsync(_ns, (ulong)slot, 1, slice, null, _pi, cancellationToken);
                BlockRecord.Kind kind = BlockRecord.Read(slice.Span, out ReadOnlySpan<byte> stored, out ReadOnlySpan<byte> value);
                if (kind == BlockRecord.Kind.Empty)
                    break;   // a key goes into the first empty block of its chain and is never deleted: the chain ends here
                if (kind != BlockRecord.Kind.Record || !stored.SequenceEqual(key.Span))
                    continue;
                if (value.Length > destination.Length)
                    throw new ArgumentException($"The value of this key has {value.Length} bytes; the destination holds {destination.Length}.", nameof(destination));
                value.CopyTo(destination.Span);
                s_hits.Add(1);
                s_latency.Record(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                return value.Length;
            }
            s_latency.Record(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            return -1;
        }
        finally
        {
            Leave(home, slice);
        }
    }

    /// <summary>Waits (yielding to the event loop) until the key's home block is free and an arena slice is, then takes both.</summary>
    private async ValueTask<DmaBuffer> EnterAsync(long home, CancellationToken cancellationToken)
    {
        bool waited = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!_homeBusy[home] && _arena.TryTake() is { } slice)
            {
                _homeBusy[home] = true;
                if (waited)
                {
                    BackPressureWaits++;
                    s_waits.Add(1);
                }
                return slice;
            }
            waited = true;
            await Task.Yield();   // on the event loop: runs again after the next poll
        }
    }

    /// <summary>
    /// Waits while another key's write is landing in <paramref name="slot"/>: every key goes into
    /// the first empty block of its chain, so a block is judged only once it holds what it will hold.
    /// </summary>
    private async ValueTask WhileClaimedAsync(long slot, CancellationToken cancellationToken)
    {
        while (_claimed[slot])
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
        }
    }

    private void Leave(long home, DmaBuffer slice)
    {
        _homeBusy[home] = false;
        _arena.Return(slice);
    }

    private static void CheckKey(int length)
    {
        if (length is 0 or > BlockRecord.MaxKeyLength)
            throw new ArgumentException($"A key has 1..{BlockRecord.MaxKeyLength} bytes; got {length}.", "key");
    }

    /// <summary>The key's home block: FNV-1a (64-bit) modulo the store's blocks.</summary>
    private long Home(ReadOnlySpan<byte> key)
    {
        ulong hash = 14695981039346656037;
        foreach (byte b in key)
            hash = (hash ^ b) * 1099511628211;
        return (long)(hash % (ulong)_slots);
    }

    /// <summary>Releases the arena (the queue pair and controller stay the caller's).</summary>
    public void Dispose() => _arena.Dispose();
}
