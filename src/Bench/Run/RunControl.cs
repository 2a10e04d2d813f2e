namespace PolledNvme.Bench.Run;

/// <summary>
/// What the runner and the job threads of one run share: the stop request (<c>exitall</c>, the
/// run ending early, or a signal through <see cref="StopRequest"/>), and the progress of setup
/// steps (laying out the verify pattern), which the runner draws while the jobs work.
/// </summary>
internal sealed class RunControl(StopRequest signal)
{
    private volatile bool _stop;
    private long _setupTotal;
    private long _setupDone;

    /// <summary>Whether the jobs should stop as soon as their I/O in flight completes (two volatile reads: no lock, no allocation).</summary>
    public bool StopRequested => _stop || signal.IsRequested;

    /// <summary>Asks every job to stop.</summary>
    public void RequestStop() => _stop = true;

    /// <summary>What the setup step does, e.g. "laying out 1 GiB for verify"; null when none runs.</summary>
    public string? SetupWhat { get; private set; }

    /// <summary>Bytes of the current setup step done and in all.</summary>
    public (long Done, long Total) SetupProgress => (Interlocked.Read(ref _setupDone), Interlocked.Read(ref _setupTotal));

    /// <summary>Adds <paramref name="bytes"/> to the setup step named <paramref name="what"/> (jobs add their share before starting).</summary>
    public void AddSetupWork(string what, long bytes)
    {
        SetupWhat = what;
        Interlocked.Add(ref _setupTotal, bytes);
    }

    /// <summary>Reports <paramref name="bytes"/> more done.</summary>
    public void SetupDone(long bytes) => Interlocked.Add(ref _setupDone, bytes);

    /// <summary>Ends the setup step.</summary>
    public void ClearSetup()
    {
        SetupWhat = null;
        Interlocked.Exchange(ref _setupTotal, 0);
        Interlocked.Exchange(ref _setupDone, 0);
    }
}
