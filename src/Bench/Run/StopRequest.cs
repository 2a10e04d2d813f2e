namespace PolledNvme.Bench.Run;

/// <summary>
/// Asks a running benchmark to stop early (SIGINT, SIGTERM, SIGHUP, or a test): the jobs finish
/// the commands in flight, then the report covers what ran. Job threads read it once per poll
/// loop (one volatile read: no lock, no allocation).
/// </summary>
public sealed class StopRequest
{
    private string? _reason;
    private int _watchers;

    /// <summary>Whether a stop was asked for.</summary>
    public bool IsRequested => Volatile.Read(ref _reason) is not null;

    /// <summary>Why (e.g. <c>SIGTERM</c>), or null.</summary>
    public string? Reason => Volatile.Read(ref _reason);

    /// <summary>Whether some code is watching for the request now (a benchmark is running), so asking makes sense.</summary>
    public bool IsWatched => Volatile.Read(ref _watchers) > 0;

    /// <summary>Asks for a stop; returns false when one was already asked for.</summary>
    public bool Request(string reason) => Interlocked.CompareExchange(ref _reason, reason, null) is null;

    /// <summary>Marks the caller as watching until the returned scope is disposed.</summary>
    public IDisposable Watch()
    {
        Interlocked.Increment(ref _watchers);
        return new Scope(this);
    }

    private sealed class Scope(StopRequest owner) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                Interlocked.Decrement(ref owner._watchers);
        }
    }
}
