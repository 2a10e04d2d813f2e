using System.Globalization;
using PolledNvme.Bench.Options;

namespace PolledNvme.Bench.Run;

/// <summary>One entry of a fio log: time (ms), value, direction, block size, offset.</summary>
internal struct FioLogEntry
{
    public long TimeMs;
    public long Value;
    public long Offset;
    public int BlockSize;
    public byte Direction;
}

/// <summary>
/// One fio log file (<c>NAME_lat.N.log</c>, <c>_clat</c>, <c>_slat</c>, <c>_bw</c>, <c>_iops</c>) in
/// fio's line format <c>time, value, direction, block size[, offset], priority</c> (iolog.c's
/// flush_samples). Entries are kept in chunks and written when the job ends, as fio does;
/// with <c>log_avg_msec</c> each direction's samples are averaged (or their maximum kept) per
/// window first. One writer thread; a chunk is allocated only when the previous one is full.
/// </summary>
internal sealed class FioLog
{
    private const int ChunkEntries = 64 * 1024;

    private readonly List<FioLogEntry[]> _chunks = [];
    private FioLogEntry[] _current;
    private int _count;
    private readonly int _windowMs;
    private readonly bool _windowMax;
    private readonly bool _withOffset;
    private readonly long[] _windowStart = new long[3];
    private readonly long[] _windowCount = new long[3];
    private readonly double[] _windowSum = new double[3];
    private readonly long[] _windowMaxValue = new long[3];

    public FioLog(string path, int windowMs, bool windowMax, bool withOffset, int firstCapacity)
    {
        Path = path;
        _windowMs = windowMs;
        _windowMax = windowMax;
        _withOffset = withOffset;
        _current = new FioLogEntry[Math.Clamp(firstCapacity, 16, ChunkEntries)];
    }

    /// <summary>The file the log is written to.</summary>
    public string Path { get; }
    /// <summary>Entries so far.</summary>
    public long Count => _chunks.Sum(c => (long)c.Length) + _count;

    /// <summary>Adds a sample at <paramref name="timeMs"/> (from the job's start).</summary>
    public void Add(long timeMs, long value, int direction, int blockSize, long offset)
    {
        if (_windowMs == 0)
        {
            Append(timeMs, value, direction, blockSize, offset);
            return;
        }
        // fio's add_log_sample: fold the sample into its direction's window; when the window has
        // passed, log its mean (rounded) or maximum, with block size and offset 0.
        _windowCount[direction]++;
        _windowSum[direction] += value;
        if (value > _windowMaxValue[direction]) _windowMaxValue[direction] = value;
        if (timeMs - _windowStart[direction] < _windowMs) return;
        Flush(direction, timeMs);
        _windowStart[direction] = timeMs - timeMs % _windowMs;
    }

    /// <summary>Logs what the open windows hold (fio's finalize_logs at the end of the job).</summary>
    public void Finish(long timeMs)
    {
        if (_windowMs == 0) return;
        for (int d = 0; d < 3; d++) Flush(d, timeMs);
    }

    private void Flush(int direction, long timeMs)
    {
        if (_windowCount[direction] == 0) return;
        long value = _windowMax ? _windowMaxValue[direction] : (long)(_windowSum[direction] / _windowCount[direction] + 0.5);
        Append(timeMs, value, direction, 0, 0);
        _windowCount[direction] = 0;
        _windowSum[direction] = 0;
        _windowMaxValue[direction] = 0;
    }

    private void Append(long timeMs, long value, int direction, int blockSize, long offset)
    {
        if (_count == _current.Length)
        {
            _chunks.Add(_current);
            _current = new FioLogEntry[ChunkEntries];
            _count = 0;
        }
        ref var e = ref _current[_count++];
        e.TimeMs = timeMs;
        e.Value = value;
        e.Direction = (byte)direction;
        e.BlockSize = blockSize;
        e.Offset = offset;
    }

    /// <summary>Writes the log file (replacing it), offsetting times by <paramref name="epochMs"/> (0, or Unix ms with log_unix_epoch).</summary>
    public void Write(long epochMs)
    {
        using var w = new StreamWriter(Path, append: false) { NewLine = "\n" };
        foreach (var chunk in _chunks) WriteEntries(w, chunk, chunk.Length, epochMs);
        WriteEntries(w, _current, _count, epochMs);
    }

    private void WriteEntries(StreamWriter w, FioLogEntry[] entries, int count, long epochMs)
    {
        var inv = CultureInfo.InvariantCulture;
        for (int i = 0; i < count; i++)
        {
            ref var e = ref entries[i];
            // The last column is fio's command priority: 0, pnvme issues no prioritised I/O.
            if (_withOffset)
                w.WriteLine(string.Create(inv, $"{e.TimeMs + epochMs}, {e.Value}, {e.Direction}, {e.BlockSize}, {e.Offset}, 0"));
            else
                w.WriteLine(string.Create(inv, $"{e.TimeMs + epochMs}, {e.Value}, {e.Direction}, {e.BlockSize}, 0"));
        }
    }
}

/// <summary>The logs one job (one clone) writes, named as fio names them.</summary>
internal sealed class JobLogs
{
    public FioLog? Lat, Clat, Slat, Bw, Iops;
    /// <summary>Bandwidth/IOPS logged (and sampled) per I/O on the job thread rather than per interval by the runner.</summary>
    public bool BwPerIo, IopsPerIo;

    /// <summary>
    /// The files the logs of clone <paramref name="threadNumber"/> will be written to, with the
    /// option that asks for each: the run checks them before any I/O, like every output.
    /// </summary>
    public static IEnumerable<(string Option, string Path)> Files(BenchOptions o, int threadNumber)
    {
        var s = o.Logs;
        if (s.LatPrefix is { } lat)
        {
            if (o.MeasureLat) yield return ("write_lat_log", FileName(s, lat, "lat", threadNumber));
            if (o.MeasureSlat) yield return ("write_lat_log", FileName(s, lat, "slat", threadNumber));
            if (o.MeasureClat) yield return ("write_lat_log", FileName(s, lat, "clat", threadNumber));
        }
        if (s.BwPrefix is { } bw && o.MeasureBw) yield return ("write_bw_log", FileName(s, bw, "bw", threadNumber));
        if (s.IopsPrefix is { } iops && o.MeasureBw) yield return ("write_iops_log", FileName(s, iops, "iops", threadNumber));
    }

    // fio's names: PREFIX_KIND.N.log, or PREFIX_KIND.log with per_job_logs=0.
    private static string FileName(LogSettings s, string prefix, string kind, int threadNumber) => s.PerJob
        ? string.Create(CultureInfo.InvariantCulture, $"{prefix}_{kind}.{threadNumber}.log")
        : $"{prefix}_{kind}.log";

    /// <summary>Creates the logs of clone <paramref name="threadNumber"/> (fio's 1-based job number across the run).</summary>
    public static JobLogs? Create(BenchOptions o, int threadNumber)
    {
        var s = o.Logs;
        if (!s.Any) return null;
        var logs = new JobLogs();
        string Name(string prefix, string kind) => FileName(s, prefix, kind, threadNumber);
        if (s.LatPrefix is { } lat)
        {
            if (o.MeasureLat) logs.Lat = new FioLog(Name(lat, "lat"), s.AverageMs, s.MaxValue, s.Offset, o.LogEntries);
            if (o.MeasureSlat) logs.Slat = new FioLog(Name(lat, "slat"), s.AverageMs, s.MaxValue, s.Offset, o.LogEntries);
            if (o.MeasureClat) logs.Clat = new FioLog(Name(lat, "clat"), s.AverageMs, s.MaxValue, s.Offset, o.LogEntries);
        }
        // fio: an explicit bwavgtime/iopsavgtime caps the log's window.
        if (s.BwPrefix is { } bw && o.MeasureBw)
        {
            int window = o.BwAverageGiven ? Math.Min(s.AverageMs, o.BwAverageMs) : s.AverageMs;
            logs.BwPerIo = window == 0;
            logs.Bw = new FioLog(Name(bw, "bw"), window, s.MaxValue, s.Offset, o.LogEntries);
        }
        if (s.IopsPrefix is { } iops && o.MeasureBw)
        {
            int window = o.IopsAverageGiven ? Math.Min(s.AverageMs, o.IopsAverageMs) : s.AverageMs;
            logs.IopsPerIo = window == 0;
            logs.Iops = new FioLog(Name(iops, "iops"), window, s.MaxValue, s.Offset, o.LogEntries);
        }
        return logs;
    }

    /// <summary>Closes the windows at <paramref name="timeMs"/> and writes every file.</summary>
    public void FinishAndWrite(long timeMs, long epochMs)
    {
        foreach (var log in new[] { Lat, Slat, Clat, Bw, Iops })
        {
            if (log is null) continue;
            log.Finish(timeMs);
            log.Write(epochMs);
        }
    }
}
