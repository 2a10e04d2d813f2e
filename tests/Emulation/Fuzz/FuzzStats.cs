namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>What a run did, for its report: commands, statuses, and the events that matter.</summary>
internal sealed class FuzzStats
{
    public long Commands;
    public long OracleCommands;
    public long Batches;
    public long Checkpoints;
    public long Vanished;
    /// <summary>Generated commands not sent: their pointers led into the fuzzer's own memory.</summary>
    public long Withdrawn;
    public long Resets;
    public long InvalidEnables;
    public long Shutdowns;
    public long DoorbellGarbage;
    public long Formats;
    public long QueuesCreated;
    public long QueuesDeleted;
    public long AbortsConfirmed;
    public long ShadowConfigs;
    public long MmioDoorbells;
    public long ShadowOnlyDoorbells;
    public TimeSpan Elapsed;
    public SortedDictionary<string, long> Statuses { get; } = new(StringComparer.Ordinal);

    public void Count(string status) => Statuses[status] = Statuses.GetValueOrDefault(status) + 1;

    public override string ToString()
        => $"{Commands} commands ({OracleCommands} oracle commands, {Batches} batches, {Checkpoints} checkpoints) in {Elapsed.TotalSeconds:F1} s; "
            + $"{Formats} formats, {QueuesCreated} queues created, {QueuesDeleted} deleted, {Resets} resets, {InvalidEnables} invalid enables, "
            + $"{Shutdowns} shutdowns, {DoorbellGarbage} bad doorbells, {AbortsConfirmed} aborts, {ShadowConfigs} doorbell buffer configs ({ShadowOnlyDoorbells} shadow-only doorbells, {MmioDoorbells} MMIO kicks), {Vanished} commands vanished with their queue, {Withdrawn} withdrawn; statuses: "
            + string.Join(", ", Statuses.OrderByDescending(s => s.Value).Select(s => $"{s.Key} {s.Value}"));
}
