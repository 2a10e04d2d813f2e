using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Examples.WriteAheadLog;

/// <summary>
/// Finds the end of the log and reads its records. Each block is read with PRACT = 1 and the
/// controller checking guard, application tag (<see cref="WalBlock.ApplicationTag"/>) and
/// reference tag (= LBA). A block belongs to the log when that read succeeds, its data starts
/// with the magic, its sequence equals its LBA and its epoch is not below the previous block's.
/// <para>
/// The first block that is not a log block ends the log, with these cases:
/// a deallocated or never-written block reads back with all-FF PI (the emulated controller and
/// many drives), which the controller treats as "do not check" (PI.md escape), so the read
/// succeeds and the missing magic rejects it; media that was zeroed instead has application
/// tag 0 and fails the application-tag check; a block left from an earlier run past a crash point has
/// an older epoch than the blocks written after recovery. A torn write (killed between a
/// group's blocks, or between a block's data and its PI) fails the guard check.
/// </para>
/// <para>
/// Committed groups are never torn: the committer writes a group with one command, flushes, and
/// only then acknowledges and starts the next group. So only the last group can be incomplete.
/// When a bad block is followed (within <see cref="WriteAheadLogOptions.MaxGroupBlocks"/> blocks)
/// by a valid continuation that starts a later group, or that completes the bad block's own
/// group and is itself followed by a later group, the bad block was committed and damaged
/// afterwards: <see cref="WalCorruptionException"/> names its LBA instead of silently cutting
/// the log there.
/// </para>
/// </summary>
public static class WalRecovery
{
    private enum BlockState { Valid, NotLogBlock }

    /// <summary>Scans the log on <paramref name="ns"/> from LBA 0 with <paramref name="qp"/> (this thread's queue pair).</summary>
    /// <exception cref="WalCorruptionException">A block inside the log is damaged.</exception>
    public static WalRecoveryResult Scan(IoQueuePair qp, Namespace ns, int lookaheadBlocks)
    {
        ArgumentNullException.ThrowIfNull(qp);
        ArgumentNullException.ThrowIfNull(ns);
        ArgumentOutOfRangeException.ThrowIfLessThan(lookaheadBlocks, 1);
        WriteAheadLog.ValidateNamespace(ns);
        using DmaBuffer block = qp.Controller.Memory.Allocate(ns.BlockSize);
        var records = new List<WalRecord>();
        uint lastEpoch = 0;
        ulong lba = 0;
        string endReason = "the namespace is full";
        while (lba < ns.BlockCount)
        {
            if (ReadBlock(qp, ns, block, lba, lastEpoch, out WalBlockHeader header, out string reason) == BlockState.NotLogBlock)
            {
                endReason = reason;
                ThrowIfCommittedBlocksFollow(qp, ns, block, lba, lastEpoch, lookaheadBlocks, reason);
                break;
            }
            WalBlock.ReadRecords(block.Span, lba, header.RecordCount, records);
            lastEpoch = header.Epoch;
            lba++;
        }
        return new WalRecoveryResult(records, lba, lastEpoch, endReason);
    }

    private static void ThrowIfCommittedBlocksFollow(IoQueuePair qp, Namespace ns, DmaBuffer block, ulong badLba, uint lastEpoch, int lookaheadBlocks, string reason)
    {
        for (ulong lba = badLba + 1; lba <= badLba + (ulong)lookaheadBlocks && lba < ns.BlockCount; lba++)
        {
            if (ReadBlock(qp, ns, block, lba, lastEpoch, out WalBlockHeader header, out _) != BlockState.Valid)
                continue;
            ulong groupStart = lba - (ulong)header.IndexInGroup;
            if (groupStart > badLba)
                throw new WalCorruptionException(badLba, $"{reason}, but the group at LBA {groupStart} after it is intact");
            ulong groupEnd = groupStart + (ulong)header.GroupBlocks;
            if (groupEnd < ns.BlockCount && ReadBlock(qp, ns, block, groupEnd, header.Epoch, out _, out _) == BlockState.Valid)
                throw new WalCorruptionException(badLba, $"{reason}, but its group (LBA {groupStart}-{groupEnd - 1}) is followed by the intact group at LBA {groupEnd}");
            return; // the last group was torn: the log ends at the bad block
        }
    }

    private static BlockState ReadBlock(IoQueuePair qp, Namespace ns, DmaBuffer block, ulong lba, uint minEpoch, out WalBlockHeader header, out string reason)
    {
        header = default;
        var checkedRead = new IoProtectionOptions
        {
            Pract = true,
            Checks = PiChecks.Guard | PiChecks.ApplicationTag | PiChecks.ReferenceTag,
            ApplicationTag = WalBlock.ApplicationTag,
        };
        try
        {
            qp.Wait(qp.ReadAsync(ns, lba, 1, block, null, checkedRead));
        }
        catch (NvmeException e) when (e.Status.Type == StatusCodeType.MediaAndDataIntegrity)
        {
            reason = $"PI check failed ({e.Status})";
            return BlockState.NotLogBlock;
        }
        if (!WalBlock.TryReadHeader(block.Span, out header))
        {
            reason = "no log block magic (PI escape: deallocated, or not a log block)";
            return BlockState.NotLogBlock;
        }
        if (header.Sequence != lba)
        {
            reason = $"sequence {header.Sequence} is not the LBA";
            return BlockState.NotLogBlock;
        }
        if (header.Epoch < minEpoch)
        {
            reason = $"epoch {header.Epoch} is older than the log's {minEpoch} (left from before a crash)";
            return BlockState.NotLogBlock;
        }
        if (header.GroupBlocks < 1 || header.IndexInGroup >= header.GroupBlocks || (ulong)header.IndexInGroup > lba)
        {
            reason = $"group fields {header.IndexInGroup}/{header.GroupBlocks} are inconsistent";
            return BlockState.NotLogBlock;
        }
        reason = "";
        return BlockState.Valid;
    }
}
