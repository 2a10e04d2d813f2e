namespace PolledNvme.Bench.Run;

/// <summary>A run that could not complete (a job failed to open or to lay out its data).</summary>
public sealed class BenchFailedException(string message, Exception? inner = null) : Exception(message, inner);
