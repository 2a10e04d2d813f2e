namespace PolledNvme.Bench.Run;

/// <summary>What one job measured.</summary>
public sealed record JobResult(int Index, DirectionStats Reads, DirectionStats Writes, TimeSpan Elapsed,
    CpuSample Cpu, bool Pinned, string? FirstError, IopsTimeline Timeline, long AllocatedBytes = 0)
{
    /// <summary>PI errors of both directions.</summary>
    public long PiErrors => Reads.PiErrors + Writes.PiErrors;
    /// <summary>Failed I/Os that were not PI errors.</summary>
    public long OtherErrors => Reads.OtherErrors + Writes.OtherErrors;
    /// <summary>Blocks that failed the <c>--verify</c> pattern.</summary>
    public long VerifyErrors => Reads.VerifyErrors + Writes.VerifyErrors;
}

/// <summary>A finished run: every job, and the total merged from them.</summary>
/// <param name="ProcessCpu">CPU time of the whole process over the run (jobs, and the emulated controller's device thread when there is one).</param>
/// <param name="WallTime">Wall time of the run, from the start line to the last job's end.</param>
public sealed record BenchResult(BenchPlan Plan, string DeviceDescription, string EngineName,
    IReadOnlyList<JobResult> Jobs, JobResult Total, DateTimeOffset StartedAt, CpuSample ProcessCpu = default, TimeSpan WallTime = default)
{
    /// <summary>Whether any I/O failed, any PI check failed or any block failed --verify.</summary>
    public bool HasErrors => Total.PiErrors + Total.OtherErrors + Total.VerifyErrors > 0;
}
