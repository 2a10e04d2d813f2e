using System.Globalization;
using PolledNvme.Bench.Report;

namespace PolledNvme.Bench.Run;

/// <summary>
/// The live line on a terminal's stderr, redrawn in place: fio's "Jobs: N [..] [r=,w=] [eta]"
/// while jobs run, and "laying out 1 GiB for verify: 37 %" while a setup step takes time.
/// Only ever given a terminal: on a pipe nothing is drawn.
/// </summary>
internal sealed class ProgressLine(TextWriter writer)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private int _width;
    private double _lastTime = -1;
    private long _lastIos, _lastBytes;

    /// <summary>Draws the setup step's progress, if one is running.</summary>
    public void DrawSetup(RunControl control)
    {
        if (control.SetupWhat is not { } what) return;
        var (done, total) = control.SetupProgress;
        if (total <= 0) return;
        Draw($"{what}: {Math.Min(100, done * 100 / total)} %");
    }

    /// <summary>Draws a step of known size (laying out a file), at most ten times a second.</summary>
    public void DrawStep(string what, long done, long total)
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (done < total && now - _lastStep < System.Diagnostics.Stopwatch.Frequency / 10) return;
        _lastStep = now;
        Draw($"{what}: {(total > 0 ? Math.Min(100, done * 100 / total) : 0)} %");
    }

    private long _lastStep;

    /// <summary>Draws the running jobs' rates (once a second).</summary>
    public void DrawRun(JobWorker[] workers, double elapsedSeconds, double totalSeconds)
    {
        if (_lastTime >= 0 && elapsedSeconds - _lastTime < 1) return;
        long ios = 0, bytes = 0;
        foreach (var w in workers)
            for (int d = 0; d < 3; d++) { ios += w.DoneIos(d); bytes += w.DoneBytes(d); }
        if (_lastTime < 0)
        {
            // The first second has no rate yet: start counting.
            (_lastIos, _lastBytes, _lastTime) = (ios, bytes, elapsedSeconds);
            return;
        }
        double dt = Math.Max(1e-3, elapsedSeconds - Math.Max(0, _lastTime));
        double iops = Math.Max(0, ios - _lastIos) / dt;
        double rate = Math.Max(0, bytes - _lastBytes) / dt;
        (_lastIos, _lastBytes, _lastTime) = (ios, bytes, elapsedSeconds);
        int running = workers.Count(w => !w.Finished);
        string eta = totalSeconds > 0 ? FormatEta(Math.Max(0, totalSeconds - elapsedSeconds)) : "--";
        Draw($"Jobs: {running} [{NormalReport.FormatRate(rate)}] [{NormalReport.FormatCount(iops)} IOPS] [eta {eta}]");
    }

    /// <summary>Erases the line.</summary>
    public void Clear()
    {
        if (_width == 0) return;
        writer.Write("\r" + new string(' ', _width) + "\r");
        writer.Flush();
        _width = 0;
        _lastTime = -1;
    }

    private void Draw(string text)
    {
        writer.Write("\r" + text.PadRight(_width));
        writer.Flush();
        _width = Math.Max(_width, text.Length);
    }

    private static string FormatEta(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Ceiling(seconds));
        return t.TotalHours >= 1
            ? string.Create(Inv, $"{(int)t.TotalHours:D2}h:{t.Minutes:D2}m:{t.Seconds:D2}s")
            : string.Create(Inv, $"{t.Minutes:D2}m:{t.Seconds:D2}s");
    }
}
