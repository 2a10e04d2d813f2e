using PolledNvme.Driver;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Examples.WriteAheadLog;

/// <summary>
/// An append-only log on a PI Type 1 namespace. Any thread may call <see cref="AppendAsync"/>;
/// one committer thread owns the log's queue pair (one queue pair per thread), takes every
/// pending record, packs them into blocks, writes the group with one command (the controller
/// inserts PI: application tag <see cref="WalBlock.ApplicationTag"/>, reference tag = LBA),
/// flushes, and then completes every appender of the group. Opening the log runs
/// <see cref="WalRecovery.Scan"/> first and appends after the recovered end.
/// </summary>
public sealed class WriteAheadLog : IDisposable
{
    private readonly NvmeController _controller;
    private readonly Namespace _ns;
    private readonly WriteAheadLogOptions _options;
    private readonly Queue<PendingAppend> _pending = new();
    private readonly Thread _committer;
    private readonly int[] _recordsPerBlock;
    private readonly uint _epoch;
    private ulong _nextLba;
    private bool _stopping;
    private Exception? _failure;
    private long _writeCommands;
    private long _committedRecords;

    private readonly record struct PendingAppend(ushort Type, byte[] Payload, TaskCompletionSource<WalPosition> Done);

    private WriteAheadLog(NvmeController controller, Namespace ns, WriteAheadLogOptions options, WalRecoveryResult recovery)
    {
        _controller = controller;
        _ns = ns;
        _options = options;
        Recovery = recovery;
        _nextLba = recovery.EndLba;
        _epoch = recovery.LastEpoch + 1;
        _recordsPerBlock = new int[options.MaxGroupBlocks];
        _committer = new Thread(CommitLoop) { IsBackground = true, Name = "wal-committer" };
    }

    /// <summary>What recovery found when the log was opened.</summary>
    public WalRecoveryResult Recovery { get; }

    /// <summary>The largest payload of one record on this namespace.</summary>
    public int MaxPayload => WalBlock.MaxPayload(_ns.BlockSize);

    /// <summary>Write commands issued so far (one per group commit).</summary>
    public long WriteCommands => Interlocked.Read(ref _writeCommands);

    /// <summary>Records acknowledged so far.</summary>
    public long CommittedRecords => Interlocked.Read(ref _committedRecords);

    /// <summary>Recovers the log on <paramref name="ns"/> and starts its committer.</summary>
    /// <exception cref="ArgumentException">The namespace is not formatted for the log (PI Type 1, metadata = PI tuple).</exception>
    /// <exception cref="WalCorruptionException">A committed block is damaged.</exception>
    public static WriteAheadLog Open(NvmeController controller, Namespace ns, WriteAheadLogOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(controller);
        ArgumentNullException.ThrowIfNull(ns);
        options ??= new WriteAheadLogOptions();
        ValidateNamespace(ns);
        if (options.MaxGroupBlocks is < 1 or > 256)
            throw new ArgumentException($"MaxGroupBlocks must be 1..256; got {options.MaxGroupBlocks}.", nameof(options));
        if ((long)options.MaxGroupBlocks * ns.BlockSize > controller.MaxTransferBytes)
            throw new ArgumentException($"MaxGroupBlocks {options.MaxGroupBlocks} x {ns.BlockSize} bytes exceeds the controller's maximum transfer of {controller.MaxTransferBytes} bytes.", nameof(options));
        WalRecoveryResult recovery;
        using (IoQueuePair qp = controller.CreateIoQueuePair(options.QueueEntries))
            recovery = WalRecovery.Scan(qp, ns, options.MaxGroupBlocks);
        var log = new WriteAheadLog(controller, ns, options, recovery);
        log._committer.Start();
        return log;
    }

    /// <summary>Throws when <paramref name="ns"/> cannot hold the log.</summary>
    internal static void ValidateNamespace(Namespace ns)
    {
        if (ns.PiType != PiType.Type1)
            throw new ArgumentException($"The write-ahead log needs a PI Type 1 namespace (reference tag = LBA); namespace {ns.Id} has {ns.PiType}.", nameof(ns));
        if (ns.MetadataSize != ns.PiSize)
            throw new ArgumentException($"The write-ahead log needs metadata of exactly the PI tuple ({ns.PiSize} bytes) so PRACT inserts and strips it; namespace {ns.Id} has {ns.MetadataSize}.", nameof(ns));
    }

    /// <summary>
    /// Hands a record to the committer. The task completes when the group holding the record has
    /// been written and flushed: the record then survives a crash. It fails with the write's
    /// exception (and so does every later append) if a group could not be committed.
    /// </summary>
    /// <exception cref="ArgumentException">The payload exceeds <see cref="MaxPayload"/>.</exception>
    /// <exception cref="ObjectDisposedException">The log is closed.</exception>
    public Task<WalPosition> AppendAsync(ushort type, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxPayload)
            throw new ArgumentException($"A record's payload is at most {MaxPayload} bytes (one block minus headers) on this namespace; got {payload.Length}.", nameof(payload));
        var done = new TaskCompletionSource<WalPosition>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_pending)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            if (_failure is not null)
                return Task.FromException<WalPosition>(_failure);
            _pending.Enqueue(new PendingAppend(type, payload.ToArray(), done));
            if (_pending.Count == 1)
                Monitor.Pulse(_pending);
        }
        return done.Task;
    }

    /// <summary>Commits what is pending, stops the committer and releases its queue pair.</summary>
    public void Dispose()
    {
        lock (_pending)
        {
            if (_stopping)
                return;
            _stopping = true;
            Monitor.Pulse(_pending);
        }
        _committer.Join();
    }

    private void CommitLoop()
    {
        using IoQueuePair qp = _controller.CreateIoQueuePair(_options.QueueEntries);
        using DmaBuffer buffer = _controller.Memory.Allocate(_options.MaxGroupBlocks * _ns.BlockSize);
        var group = new List<(PendingAppend Append, WalPosition Position)>();
        while (true)
        {
            lock (_pending)
            {
                while (_pending.Count == 0 && !_stopping)
                    Monitor.Wait(_pending);
                if (_pending.Count == 0)
                    return;
            }
            int blocks = Pack(buffer.Span, group);
            try
            {
                if (_nextLba + (ulong)blocks > _ns.BlockCount)
                    throw new WalFullException(_nextLba, blocks, _ns.BlockCount);
                var insert = new IoProtectionOptions { Pract = true, ApplicationTag = WalBlock.ApplicationTag };
                qp.Wait(qp.WriteAsync(_ns, _nextLba, blocks, buffer, null, insert));
                qp.Wait(qp.FlushAsync(_ns));
            }
            catch (Exception e)
            {
                FailAll(group, e);
                return;
            }
            _nextLba += (ulong)blocks;
            Interlocked.Increment(ref _writeCommands);
            Interlocked.Add(ref _committedRecords, group.Count);
            foreach ((PendingAppend append, WalPosition position) in group)
                append.Done.SetResult(position);
            group.Clear();
        }
    }

    /// <summary>Takes pending records into <paramref name="group"/> while they fit in MaxGroupBlocks blocks; returns the blocks used.</summary>
    private int Pack(Span<byte> buffer, List<(PendingAppend, WalPosition)> group)
    {
        int blockSize = _ns.BlockSize;
        int block = 0;
        int offset = WalBlock.HeaderSize;
        int recordsInBlock = 0;
        lock (_pending)
        {
            while (_pending.TryPeek(out PendingAppend next))
            {
                int size = WalBlock.RecordHeaderSize + next.Payload.Length;
                if (offset + size > blockSize)
                {
                    if (block + 1 == _options.MaxGroupBlocks)
                        break;
                    _recordsPerBlock[block] = recordsInBlock;
                    buffer.Slice(block * blockSize + offset, blockSize - offset).Clear();
                    block++;
                    offset = WalBlock.HeaderSize;
                    recordsInBlock = 0;
                }
                _pending.Dequeue();
                Span<byte> blockSpan = buffer.Slice(block * blockSize, blockSize);
                offset = WalBlock.WriteRecord(blockSpan, offset, next.Type, next.Payload);
                group.Add((next, new WalPosition(_nextLba + (ulong)block, recordsInBlock)));
                recordsInBlock++;
            }
        }
        _recordsPerBlock[block] = recordsInBlock;
        int blocks = block + 1;
        for (int i = 0; i < blocks; i++)
        {
            Span<byte> blockSpan = buffer.Slice(i * blockSize, blockSize);
            WalBlock.WriteHeader(blockSpan, new WalBlockHeader(_epoch, _nextLba + (ulong)i, _recordsPerBlock[i], blocks, i));
        }
        // Zero the unused tail of the last block so stale bytes of an earlier group never reach the media.
        buffer.Slice((blocks - 1) * blockSize + offset, blockSize - offset).Clear();
        return blocks;
    }

    private void FailAll(List<(PendingAppend Append, WalPosition Position)> group, Exception e)
    {
        List<PendingAppend> rest;
        lock (_pending)
        {
            _failure = e;
            rest = [.. _pending];
            _pending.Clear();
        }
        foreach ((PendingAppend append, _) in group)
            append.Done.SetException(e);
        foreach (PendingAppend append in rest)
            append.Done.SetException(e);
    }
}
