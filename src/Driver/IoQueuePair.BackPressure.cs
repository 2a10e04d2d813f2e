using System.Diagnostics;
using System.Runtime.CompilerServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// The opt-in back-pressure and large-transfer handling of a queue pair (<see cref="IoQueuePairOptions"/>;
/// SPDK's queued_req and child requests). A Read, Write, Compare, Verify or Write Zeroes that
/// fits one command and finds a free slot (and nothing waiting) goes out as always. Otherwise it
/// takes a request from a second, preallocated pool that never goes on the wire itself: its
/// parts (one, or several when split) take the queue pair's slots, it completes once when the
/// last part did, and while the slots are taken it waits in a bounded FIFO that
/// <see cref="ProcessCompletions"/> drains in order: only the oldest waiting command receives
/// freed slots, so none overtakes an earlier one. Flush, Dataset Management and raw commands
/// do not wait: they take a free slot or are refused.
/// </summary>
public sealed partial class IoQueuePair
{
    private readonly bool _splitLargeTransfers;
    private readonly int _softwareQueueDepth;
    private readonly NvmeRequestPool<IoRequest>? _commands;   // split or waiting commands; null when both options are off
    private readonly IoRequest?[]? _waiting;                  // FIFO ring of waiting commands (the oldest may have parts out)
    private int _waitingHead;
    private int _waitingCount;

    /// <summary>Transfers beyond <see cref="MaxTransferBytes"/>, across NOIOB or over 65536 blocks are split (<see cref="IoQueuePairOptions.SplitLargeTransfers"/>).</summary>
    public bool SplitLargeTransfers => _splitLargeTransfers;

    /// <summary>Commands that can wait in the software queue (<see cref="IoQueuePairOptions.SoftwareQueueDepth"/>); 0 when it is off.</summary>
    public int SoftwareQueueDepth => _softwareQueueDepth;

    /// <summary>Commands waiting in the software queue now (a split command counts once, until its last part went out).</summary>
    public int QueuedCommands => _waitingCount;

    /// <summary>Commands refused because every slot (and the software queue) was in use: <see cref="QueueFullException"/> thrown or a Try form returning false.</summary>
    public long QueueFullEvents => Metrics.QueueFullEvents;

    private (NvmeRequestPool<IoRequest>, IoRequest?[]) CreateBackPressure(ushort id)
    {
        // Waiting commands, plus one per slot for commands whose parts are all on the wire
        // (within the 65536 requests a pool indexes).
        int capacity = Math.Min(_softwareQueueDepth + _wire.Depth, 65536);
        return (new NvmeRequestPool<IoRequest>(id, capacity, cid => new IoRequest(cid, this, new SplitCommand())),
                new IoRequest?[Math.Max(1, _softwareQueueDepth)]);
    }

    /// <summary>
    /// A Read/Write/Compare (<paramref name="data"/> given) or Verify/Write Zeroes whose
    /// arguments were checked, on a queue pair with a software queue or splitting: the plain
    /// request when it fits one command and a slot is free with nothing waiting; else a command
    /// from the second pool (its parts go out in <see cref="Start"/>); else refused (null for a
    /// Try form). Nothing reaches the wire here.
    /// </summary>
    private IoRequest? SubmitWithBackPressure(NvmOpcode opcode, Namespace ns, ulong slba, int blocks, DmaBuffer? data, DmaBuffer? metadata, in IoProtectionOptions pi, uint extraCdw12, bool tryOnly)
    {
        int dataPerBlock = data is null ? 0 : (int)ns.DataBytes(1, pi.Pract);
        int metadataPerBlock = metadata is null ? 0 : (int)ns.MetadataBytes(1, pi.Pract);
        int maxPart = SplitCommand.MaxBlocksPerCommand;
        int boundary = 0;
        if (data is not null)
        {
            // MDTS bounds what moves data; NOIOB is a Read/Write (and Compare) hint (NVMe Base 2.0 Fig 276).
            if (dataPerBlock > _maxTransferBytes)
                ThrowBeyondMdts(ns, blocks, (long)blocks * dataPerBlock);
            maxPart = Math.Min(maxPart, _maxTransferBytes / dataPerBlock);
            if (_splitLargeTransfers)
                boundary = ns.OptimalIoBoundary;
        }
        int parts = SplitCommand.CountParts(slba, blocks, maxPart, boundary);
        if (parts > 1)
        {
            if (!_splitLargeTransfers)
                ThrowBeyondMdts(ns, blocks, (long)blocks * dataPerBlock);   // beyond 65536 blocks CheckBlocks already refused
            CheckSplittable(ns, opcode, blocks, parts, maxPart, dataPerBlock, metadataPerBlock);
        }
        else if (_waitingCount == 0 && _requests.TryRent() is { } direct)
        {
            Prepare(direct, opcode, ns.Id, slba, blocks);
            if (data is not null)
                return LeaseTransfer(direct, ns, slba, data, metadata, in pi);
            direct.Command.Cdw12 |= extraCdw12;
            return ApplyProtection(direct, ns, in pi, slba);
        }

        // Refused up front unless every part goes out now or the command may wait: never half-submitted.
        bool allPartsNow = _waitingCount == 0 && _requests.Available >= parts;
        IoRequest? command = allPartsNow || _waitingCount < _softwareQueueDepth ? _commands!.TryRent() : null;
        if (command is null)
        {
            RequireUsable(data, metadata);
            return RefuseFull(tryOnly);
        }
        Prepare(command, opcode, ns.Id, slba, blocks);
        command.Detail = null;
        // The command's own entry gets the first part's fields: that checks the tags (and takes
        // the leases) now, so no part can be refused once the first went out.
        if (data is not null)
            LeaseTransfer(command, ns, slba, data, metadata, in pi);
        else
        {
            command.Command.Cdw12 |= extraCdw12;
            ApplyProtection(command, ns, in pi, slba);
        }
        command.Split!.Begin(ns, in pi, extraCdw12, dataPerBlock, metadataPerBlock, maxPart, boundary);
        return command;
    }

    /// <summary>Fills the PI fields of <paramref name="r"/>; gives it back and rethrows when a tag does not fit.</summary>
    private IoRequest ApplyProtection(IoRequest r, Namespace ns, in IoProtectionOptions pi, ulong slba)
    {
        try
        {
            ProtectionCommandFields.Apply(ns, in pi, slba, ref r.Command);
        }
        catch
        {
            ReturnUnsubmitted(r);
            throw;
        }
        return r;
    }

    /// <summary>Counts a refusal; null for a Try form, else <see cref="QueueFullException"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private IoRequest? RefuseFull(bool tryOnly)
    {
        Metrics.QueueFull();
        if (tryOnly)
            return null;
        throw _softwareQueueDepth == 0 ? new QueueFullException(Id, Depth) : new QueueFullException(Id, Depth, _softwareQueueDepth);
    }

    /// <summary>Submits a command of the second pool: its parts now while nothing waits, the rest (or all) once slots free up.</summary>
    private void Start(IoRequest command)
    {
        if (_waitingCount == 0)
        {
            if (IssueParts(command) && !_batchDoorbells)
                _wire.Flush();
            if (command.Split!.Issued == command.BlockCount)
                return;
        }
        Debug.Assert(_waitingCount < _softwareQueueDepth, "accepted only with room to wait");
        IoRequest?[] waiting = _waiting!;
        int tail = _waitingHead + _waitingCount;
        waiting[tail < waiting.Length ? tail : tail - waiting.Length] = command;
        command.Split!.Queued = true;
        _waitingCount++;
    }

    /// <summary>
    /// Puts parts of the oldest waiting commands on the wire while slots are free (from
    /// <see cref="ProcessCompletions"/>), published with one doorbell even with
    /// <see cref="BatchDoorbells"/> on: nobody would ring for them, and a Drain would wait forever.
    /// </summary>
    private void IssueWaiting()
    {
        IoRequest?[] waiting = _waiting!;
        bool issued = false;
        while (_waitingCount != 0)
        {
            IoRequest command = waiting[_waitingHead]!;
            SplitCommand s = command.Split!;
            if (!s.Stopped)
            {
                if (_requests.Available == 0)
                    break;
                issued |= IssueParts(command);
                if (s.Issued < command.BlockCount)
                    break;
            }
            DequeueWaiting();
            if (s.Stopped && s.Outstanding == 0)
                Complete(command);   // cancelled while it waited: its last part (if any) is done
        }
        if (issued)
            _wire.Flush();
    }

    private IoRequest DequeueWaiting()
    {
        IoRequest?[] waiting = _waiting!;
        IoRequest command = waiting[_waitingHead]!;
        waiting[_waitingHead] = null;
        command.Split!.Queued = false;
        _waitingHead = _waitingHead + 1 == waiting.Length ? 0 : _waitingHead + 1;
        _waitingCount--;
        return command;
    }

    /// <summary>
    /// Puts the next parts of <paramref name="command"/> on the wire (unpublished) while slots are
    /// free: each with its LBA range, its offset into the data and metadata buffers, and the PI
    /// fields of the whole command continued to its first block. Returns whether any went out.
    /// </summary>
    private bool IssueParts(IoRequest command)
    {
        SplitCommand s = command.Split!;
        bool issued = false;
        while (!s.Stopped && s.Issued < command.BlockCount && _requests.TryRent() is { } part)
        {
            ulong lba = command.StartLba + (ulong)s.Issued;
            int blocks = SplitCommand.PartBlocks(lba, command.BlockCount - s.Issued, s.MaxPartBlocks, s.Boundary);
            Prepare(part, (NvmOpcode)command.Opcode, command.NamespaceId, lba, blocks);
            part.Command.Cdw12 |= s.ExtraCdw12;
            ProtectionCommandFields.Apply(s.Namespace!, in s.Protection, command.StartLba, s.Issued, ref part.Command);
            if (command.Data is { } data)
            {
                part.Data = data;
                part.DataOffset = s.Issued * s.DataBytesPerBlock;
                part.DataLength = blocks * s.DataBytesPerBlock;
            }
            if (command.Metadata is { } metadata)
            {
                part.Metadata = metadata;
                part.MetadataOffset = s.Issued * s.MetadataBytesPerBlock;
                part.MetadataLength = blocks * s.MetadataBytesPerBlock;
            }
            part.BuffersLeased = false;   // the command holds the leases until its last part completed
            part.Parent = command;
            s.Issued += blocks;
            s.Parts++;
            s.Outstanding++;
            LastCommandId = part.CommandId;
            StampSubmit(part);   // each part is one device command in the metrics (a slot's old stamp must not leak into it)
            _wire.Submit(part, publish: false);
            issued = true;
        }
        return issued;
    }

    /// <summary>A part completed (its slot is free again): the command completes with its last part.</summary>
    internal void OnPartCompleted(IoRequest command, NvmeStatus status, ulong lba, int blocks, string? detail)
    {
        SplitCommand s = command.Split!;
        s.Outstanding--;
        if (status.IsSuccess)
            s.SucceededParts++;
        else
            s.RecordFailure(status, lba, blocks, detail);
        if (s.Outstanding == 0 && !s.Queued && (s.Issued == command.BlockCount || s.Stopped))
            Complete(command);
    }

    /// <summary>
    /// Completes a command of the second pool: success, or the status of its failed part with the
    /// lowest LBA, reported with that part's LBA range (so a PI error names its blocks).
    /// </summary>
    private void Complete(IoRequest command)
    {
        SplitCommand s = command.Split!;
        NvmeStatus status = s.FailedStatus;
        if (!status.IsSuccess)
            DescribeFailure(command, s);
        s.Namespace = null;
        var completion = new CompletionEntry { SqId = Id, CommandId = command.CommandId, StatusAndPhase = (ushort)(status.Value << 1) };
        command.OnCompleted(in completion);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DescribeFailure(IoRequest command, SplitCommand s)
    {
        string whole = s.Parts > 1 || s.Stopped
            ? $"{(NvmOpcode)command.Opcode} of {command.BlockCount} blocks at LBA {command.StartLba} was split into commands of at most {s.MaxPartBlocks} blocks"
              + (s.Boundary > 0 ? $" not crossing a multiple of NOIOB ({s.Boundary} blocks)" : "") + $"; {s.Parts} went out, and the failed one with the lowest LBA covers LBAs {s.FailedLba}..{s.FailedLba + (ulong)s.FailedBlocks - 1}"
            : $"{(NvmOpcode)command.Opcode} of {command.BlockCount} blocks at LBA {command.StartLba} waited in the software queue";
        if (s.Cancelled)
            whole += $" (it was cancelled: parts still in the submission queue were aborted and the rest never submitted; {s.SucceededParts} part(s) had completed and did transfer their data)";
        command.Detail = s.FailedDetail is null ? whole : $"{whole}: {s.FailedDetail}";
        command.StartLba = s.FailedLba;
        command.BlockCount = s.FailedBlocks;
    }

    /// <summary>
    /// Fails the commands waiting in the software queue with <paramref name="status"/> (reset,
    /// fatal controller, disposal); their parts on the wire were failed just before. Commands a
    /// completion callback submits meanwhile keep waiting. Returns how many were failed.
    /// </summary>
    private int FailWaiting(NvmeStatus status)
    {
        int count = _waitingCount;
        for (int i = 0; i < count; i++)
        {
            IoRequest command = DequeueWaiting();
            SplitCommand s = command.Split!;
            s.Stopped = true;
            ulong lba = command.StartLba + (ulong)s.Issued;
            s.RecordFailure(status, lba, command.BlockCount - s.Issued,
                $"LBAs {lba}..{command.StartLba + (ulong)command.BlockCount - 1} were never submitted: I/O queue pair {Id} was reset, disposed or failed while they waited in its software queue");
            if (s.Outstanding == 0)
                Complete(command);
        }
        return count;
    }

    /// <summary>A split needs dword-aligned parts (PRP1 and MPTR, NVMe Base 2.0 §4.1) and, without a software queue, slots for all its parts.</summary>
    private void CheckSplittable(Namespace ns, NvmOpcode opcode, int blocks, int parts, int maxPart, int dataPerBlock, int metadataPerBlock)
    {
        if ((dataPerBlock & 3) != 0 || (metadataPerBlock & 3) != 0)
            throw new ArgumentException(
                $"{opcode} of {blocks} blocks on namespace {ns.Id} would be split into {parts} commands, but with {dataPerBlock} data and {metadataPerBlock} separate metadata bytes per block "
                + "a part could start at an offset that is not a multiple of 4 bytes, which PRPs and MPTR cannot describe. Submit commands of at most "
                + $"{maxPart} blocks yourself.", nameof(blocks));
        if (parts > Depth && _softwareQueueDepth == 0)
            throw new ArgumentException(
                $"{opcode} of {blocks} blocks on namespace {ns.Id} needs {parts} commands (at most {maxPart} blocks each), but I/O queue pair {Id} holds {Depth} at once "
                + "and has no software queue to let the rest wait. Create the queue pair with IoQueuePairOptions.SoftwareQueueDepth or more entries, or submit fewer blocks at once.",
                nameof(blocks));
    }
}
