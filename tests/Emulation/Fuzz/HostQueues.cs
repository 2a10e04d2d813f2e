using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>The host side of a completion queue: its ring, our head and the phase we expect next.</summary>
internal sealed unsafe class HostCq(ushort id, int entries, CompletionEntry* ring)
{
    public ushort Id { get; } = id;
    public int Entries { get; } = entries;
    public CompletionEntry* Ring { get; } = ring;
    public int Head;
    public bool Phase = true;
    /// <summary>Submission queues that post here (deleted ones stay until their last completions were reaped).</summary>
    public List<HostSq> Sqs { get; } = [];
}

/// <summary>
/// The host side of a submission queue: its ring, our tail, the head the device last reported
/// (SQHD, so we never overwrite an entry it has not fetched) and the commands in flight by id.
/// </summary>
internal sealed unsafe class HostSq(ushort id, int entries, SubmissionEntry* ring, HostCq cq)
{
    public ushort Id { get; } = id;
    public int Entries { get; } = entries;
    public SubmissionEntry* Ring { get; } = ring;
    public HostCq Cq { get; } = cq;
    public int Tail;
    public int KnownHead;
    private ushort _nextCommandId;
    /// <summary>Commands generated and holding a command id, but not placed in the ring yet.</summary>
    public int Reserved;
    /// <summary>Commands by id, from generation until their completion.</summary>
    public Dictionary<ushort, FuzzCommand> Outstanding { get; } = [];
    /// <summary>Deleted by a command of the current batch: its last completions may still arrive, nothing new is submitted.</summary>
    public bool Deleted;

    /// <summary>Entries the host may still place without overwriting one the device has not fetched.</summary>
    public int Free => (KnownHead - Tail - 1 + Entries) % Entries;

    /// <summary>
    /// A command id no outstanding command of this queue uses: the lowest free one (ids come back
    /// at once, like a driver's tracker pool) or the next of a running counter.
    /// </summary>
    public ushort NextCommandId(bool lowest = false)
    {
        if (lowest)
        {
            ushort id = 0;
            while (Outstanding.ContainsKey(id))
                id++;
            return id;
        }
        while (Outstanding.ContainsKey(_nextCommandId))
            _nextCommandId++;
        return _nextCommandId++;
    }

    /// <summary>Whether SQHD <paramref name="head"/> lies between the last reported head and our tail.</summary>
    public bool IsPlausibleHead(int head)
        => head < Entries && (head - KnownHead + Entries) % Entries <= (Tail - KnownHead + Entries) % Entries;

    public override string ToString() => $"SQ {Id} ({Entries} entries, CQ {Cq.Id})";
}
