namespace PolledNvme.Bench.Report;

/// <summary>
/// A report or plot file, opened before the run (so a path that cannot be written fails before
/// any I/O, not after the whole run) and truncated only when its content is written. A file
/// that did not exist and never got content is removed again.
/// </summary>
internal sealed class OutputFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly bool _created;
    private readonly bool _regular;
    private bool _written;

    private OutputFile(string path, FileStream stream, bool created, bool regular)
    {
        Path = path;
        _stream = stream;
        _created = created;
        _regular = regular;
    }

    /// <summary>The path as given.</summary>
    public string Path { get; }

    /// <summary>Opens (or creates) <paramref name="path"/> for writing without truncating it.</summary>
    /// <exception cref="IOException">It cannot be opened; the message names <paramref name="flag"/> and the path.</exception>
    public static OutputFile Open(string flag, string path)
    {
        bool existed = File.Exists(path);
        try
        {
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
            // A device node (/dev/null) or a pipe is written as it is: it has no length to truncate.
            return new OutputFile(path, stream, !existed, Options.FileIdentity.Stat(path) is not { IsRegularFile: false });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{flag}: cannot open '{path}' for writing: {e.Message}", e);
        }
    }

    /// <summary>Empties the file and returns the stream to write its content to (the stream stays this object's).</summary>
    public Stream Begin()
    {
        if (_regular && _stream.CanSeek)
            _stream.SetLength(0);
        _written = true;
        return _stream;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _stream.Dispose();
        if (_created && !_written)
        {
            try { File.Delete(Path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* an empty file left behind */ }
        }
    }
}
