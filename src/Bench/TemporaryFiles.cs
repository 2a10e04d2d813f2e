namespace PolledNvme.Bench;

/// <summary>
/// Files pnvme creates for itself (the default benchmark's temp image and its format record):
/// deleted when the run ends, and by the signal handler when a signal ends the process first
/// (<see cref="CliSignals"/>), so nothing is left in the temp directory.
/// </summary>
internal static class TemporaryFiles
{
    private static readonly HashSet<string> Paths = new(StringComparer.Ordinal);

    /// <summary>Registers files to delete.</summary>
    public static void Add(params string[] paths)
    {
        lock (Paths)
            foreach (var p in paths) Paths.Add(p);
    }

    /// <summary>Deletes <paramref name="paths"/> (missing ones are fine) and forgets them.</summary>
    public static void Delete(params string[] paths)
    {
        foreach (var p in paths)
        {
            try { File.Delete(p); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* a temp file left behind is harmless */ }
            lock (Paths) Paths.Remove(p);
        }
    }

    /// <summary>Deletes every registered file (from the signal handler, before the process ends).</summary>
    public static void DeleteAll()
    {
        string[] all;
        lock (Paths) all = [.. Paths];
        Delete(all);
    }
}
