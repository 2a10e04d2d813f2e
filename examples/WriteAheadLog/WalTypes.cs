namespace PolledNvme.Examples.WriteAheadLog;

/// <summary>Where a record lives: the LBA of its block and its index in that block.</summary>
public readonly record struct WalPosition(ulong Lba, int Index)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Lba}.{Index}";
}

/// <summary>A record read back by recovery.</summary>
/// <param name="Position">Block and index.</param>
/// <param name="Type">The caller's record type.</param>
/// <param name="Payload">The record's bytes.</param>
public sealed record WalRecord(WalPosition Position, ushort Type, byte[] Payload);

/// <summary>What the recovery scan found.</summary>
/// <param name="Records">Every record of the log, in order.</param>
/// <param name="EndLba">The first LBA after the log: appending continues here.</param>
/// <param name="LastEpoch">The highest epoch of the valid blocks (0 for an empty log).</param>
/// <param name="EndReason">Why the block at <paramref name="EndLba"/> is not part of the log.</param>
public sealed record WalRecoveryResult(IReadOnlyList<WalRecord> Records, ulong EndLba, uint LastEpoch, string EndReason);

/// <summary>
/// A block inside the log failed its PI check or its header check while later blocks continue
/// the log: this is damage to committed data, not the end of the log.
/// </summary>
public sealed class WalCorruptionException : Exception
{
    /// <summary>The LBA of the damaged block.</summary>
    public ulong Lba { get; }

    /// <summary>Creates the exception for the block at <paramref name="lba"/>.</summary>
    public WalCorruptionException(ulong lba, string reason)
        : base($"Write-ahead log block at LBA {lba} is corrupt: {reason}.") => Lba = lba;
}

/// <summary>The namespace has no room for the next group of blocks.</summary>
public sealed class WalFullException : Exception
{
    /// <summary>Creates the exception naming the first LBA that did not fit.</summary>
    public WalFullException(ulong lba, int blocks, ulong blockCount)
        : base($"Write-ahead log is full: {blocks} block(s) at LBA {lba} do not fit in the namespace's {blockCount} blocks.") { }
}

/// <summary>Settings of <see cref="WriteAheadLog"/>.</summary>
public sealed record WriteAheadLogOptions
{
    /// <summary>The most blocks one group commit writes with one command (1..256). Default 16.</summary>
    public int MaxGroupBlocks { get; init; } = 16;

    /// <summary>Queue entries of the committer's and the recovery's queue pair. Default 16.</summary>
    public int QueueEntries { get; init; } = 16;
}
