using PolledNvme.Driver.Spec;

namespace PolledNvme.Driver;

/// <summary>
/// What the queue pair keeps about a command that goes out as several parts (a transfer beyond
/// MDTS or across NOIOB, more than 65536 blocks) or that waits in the software queue (then it
/// goes out as one part): how to cut and describe the next part, and how many parts are still
/// out. One per request of the queue pair's second pool, created with it; nothing is allocated
/// per command. Used by the queue pair's thread only.
/// </summary>
internal sealed class SplitCommand
{
    /// <summary>Most blocks one command covers (NLB is 16 bits, 0's based).</summary>
    public const int MaxBlocksPerCommand = 65536;

    public Namespace? Namespace;
    public IoProtectionOptions Protection;
    public uint ExtraCdw12;               // DEAC of a Write Zeroes
    public int DataBytesPerBlock;         // 0 without data
    public int MetadataBytesPerBlock;     // 0 without a separate metadata buffer
    public int MaxPartBlocks;             // MDTS (and NLB) in blocks
    public int Boundary;                  // NOIOB in blocks, 0 when parts need not respect one
    public int Issued;                    // blocks put on the wire so far
    public int Parts;                     // parts put on the wire so far
    public int Outstanding;               // parts on the wire and not completed
    public bool Stopped;                  // no more parts go out (reset, disposal, cancellation)
    public bool Cancelled;                // its token was cancelled (the detail says so)
    public bool Queued;                   // in the software queue's FIFO (completed only once out of it)
    public int SucceededParts;            // parts that completed successfully (a cancelled command with one is not "nothing happened")
    public NvmeStatus FailedStatus;       // of the failed part with the lowest LBA
    public ulong FailedLba;
    public int FailedBlocks;
    public string? FailedDetail;

    public void Begin(Namespace ns, in IoProtectionOptions pi, uint extraCdw12, int dataBytesPerBlock, int metadataBytesPerBlock, int maxPartBlocks, int boundary)
    {
        Namespace = ns;
        Protection = pi;
        ExtraCdw12 = extraCdw12;
        DataBytesPerBlock = dataBytesPerBlock;
        MetadataBytesPerBlock = metadataBytesPerBlock;
        MaxPartBlocks = maxPartBlocks;
        Boundary = boundary;
        Issued = 0;
        Parts = 0;
        Outstanding = 0;
        Stopped = false;
        Queued = false;
        Cancelled = false;
        SucceededParts = 0;
        FailedStatus = NvmeStatus.Success;
        FailedDetail = null;
    }

    /// <summary>
    /// Blocks of the part starting at <paramref name="lba"/> with <paramref name="remaining"/>
    /// blocks to go: at most <paramref name="maxPartBlocks"/>, and ending at the next multiple of
    /// <paramref name="boundary"/> when it would cross one.
    /// </summary>
    public static int PartBlocks(ulong lba, int remaining, int maxPartBlocks, int boundary)
    {
        int blocks = Math.Min(remaining, maxPartBlocks);
        if (boundary > 0)
        {
            int toBoundary = boundary - (int)(lba % (uint)boundary);
            if (toBoundary < blocks)
                blocks = toBoundary;
        }
        return blocks;
    }

    /// <summary>How many parts <see cref="PartBlocks"/> cuts <paramref name="blocks"/> blocks at <paramref name="slba"/> into.</summary>
    public static int CountParts(ulong slba, int blocks, int maxPartBlocks, int boundary)
    {
        if (boundary == 0)
            return (int)(((long)blocks + maxPartBlocks - 1) / maxPartBlocks);
        int parts = 0;
        for (int done = 0; done < blocks; parts++)
            done += PartBlocks(slba + (ulong)done, blocks - done, maxPartBlocks, boundary);
        return parts;
    }

    /// <summary>Keeps the failure of the part with the lowest LBA (the rule the whole command reports).</summary>
    public void RecordFailure(NvmeStatus status, ulong lba, int blocks, string? detail)
    {
        if (!FailedStatus.IsSuccess && FailedLba <= lba)
            return;
        FailedStatus = status;
        FailedLba = lba;
        FailedBlocks = blocks;
        FailedDetail = detail;
    }
}
