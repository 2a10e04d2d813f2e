using System.Globalization;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Run;
using ScottPlot;
using SkiaSharp;

namespace PolledNvme.Bench.Report;

/// <summary>
/// <c>--plot</c>: four panels under a title naming the job(s), device, format and PI settings —
/// the completion latency percentile curve (HdrHistogram's plot: x = percentile on a "number of
/// nines" scale, y = latency on a log axis), the latency over time (mean and maximum per
/// interval, log axis), IOPS over time and bandwidth over time; reads, writes and trims each in
/// their own colour. PNG or SVG by the file's extension; rendered by ScottPlot on SkiaSharp, no display needed.
/// </summary>
public static class LatencyPlot
{
    /// <summary>Width of the image in pixels.</summary>
    public const int Width = 1400;
    /// <summary>Height of the image in pixels.</summary>
    public const int Height = 1000;
    private const int TitleHeight = 90;

    private static readonly Color[] Colors = [new(0x1f, 0x77, 0xb4), new(0xd6, 0x27, 0x28), new(0x2c, 0xa0, 0x2c)];
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// Loads the renderer (SkiaSharp's native library) now, so a machine that cannot draw the
    /// plot fails before the run rather than after it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The renderer cannot be loaded; the message says why.</exception>
    public static void CheckRenderer()
    {
        try
        {
            using var surface = SKSurface.Create(new SKImageInfo(1, 1));
            if (surface is null)
                throw new InvalidOperationException("--plot: SkiaSharp could not create a drawing surface; leave --plot out.");
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException)
        {
            throw new InvalidOperationException($"--plot: the plot renderer (SkiaSharp's native library) cannot be loaded: {e.GetBaseException().Message}. Leave --plot out, or install the library.", e);
        }
    }

    /// <summary>Renders <paramref name="result"/> into <paramref name="file"/> as SVG or PNG.</summary>
    public static void Save(BenchResult result, Stream file, bool svg)
    {
        var total = result.Total;
        // The run's measured span: the last interval is cut short by the end of the run, so it is left out.
        double span = result.Jobs.Max(j => (j.StartOffset + j.Elapsed).TotalSeconds) - result.Jobs.Min(j => j.StartOffset.TotalSeconds);
        int intervals = Math.Max(1, Math.Min(total.Timeline.Length, (int)(span / total.Timeline.BucketSeconds)));
        var plots = new[] { PercentilePlot(total), LatencyOverTime(total, intervals), RateOverTime(total, intervals, iops: true), RateOverTime(total, intervals, iops: false) };
        string[] title = TitleLines(result);

        if (svg)
        {
            using var canvas = SKSvgCanvas.Create(new SKRect(0, 0, Width, Height), file);
            Draw(canvas, plots, title);
        }
        else
        {
            using var surface = SKSurface.Create(new SKImageInfo(Width, Height));
            Draw(surface.Canvas, plots, title);
            using var image = surface.Snapshot();
            using var png = image.Encode(SKEncodedImageFormat.Png, 100);
            png.SaveTo(file);
        }
    }

    private static void Draw(SKCanvas canvas, Plot[] plots, string[] title)
    {
        canvas.Clear(SKColors.White);
        using var typeface = SKTypeface.FromFamilyName(Fonts.Default);
        using var bold = new SKFont(typeface, 18) { Embolden = true };
        using var font = new SKFont(typeface, 14);
        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        for (int i = 0; i < title.Length; i++)
            canvas.DrawText(title[i], Width / 2f, 26 + i * 20, SKTextAlign.Center, i == 0 ? bold : font, paint);
        int w = Width / 2, h = (Height - TitleHeight) / 2;
        for (int i = 0; i < plots.Length; i++)
        {
            // Each panel in its own clipped, translated frame: a plot clears what it renders into.
            int x = i % 2 * w, y = TitleHeight + i / 2 * h;
            canvas.Save();
            canvas.Translate(x, y);
            canvas.ClipRect(new SKRect(0, 0, w, h));
            plots[i].Render(canvas, new PixelRect(0, w, h, 0));
            canvas.Restore();
        }
    }

    private static string[] TitleLines(BenchResult result)
    {
        var lines = new List<string>();
        var jobs = result.Jobs.GroupBy(j => (j.Options.Name, j.GroupId)).Select(g => g.First()).ToArray();
        var first = jobs[0];
        lines.Add(string.Join(";  ", jobs.Take(3).Select(j => JobLine(j.Options))) + (jobs.Length > 3 ? $";  and {jobs.Length - 3} more" : ""));
        foreach (var device in jobs.Select(j => j.Target.Device).Distinct().Take(2))
        {
            var j = jobs.First(x => x.Target.Device == device);
            var g = j.Plan.Geometry;
            string format = $"{g.BlockSize}+{g.MetadataSize} B blocks{(g.MetadataSize > 0 ? g.ExtendedLba ? " (extended LBA)" : " (separate metadata)" : "")}";
            string pi = g.HasPi && j.Plan.Settings is var s
                ? $"PI type {g.PiType}, {g.GuardName} guard, {(g.PiFirst ? "first" : "last")}{(g.StorageTagBits > 0 ? $", {g.StorageTagBits}b storage tag" : "")}; pract w/r {(s.WritePract ? 1 : 0)}/{(s.ReadPract ? 1 : 0)}, prchk {ReportFacts.ChecksName(j.Plan.Checks)}, host PI {ReportFacts.HostPiName(j.Plan.HostPi)}"
                : "no PI";
            lines.Add($"{Shorten(device, 60)} ({j.Target.EngineName}): {format}, {pi}");
        }
        return lines.ToArray();
    }

    private static string JobLine(BenchOptions o)
    {
        string bs = o.BlockSizes.Read == o.BlockSizes.Write ? Size(o.BlockSizes.Read) : $"{Size(o.BlockSizes.Read)},{Size(o.BlockSizes.Write)}";
        return $"{o.Name}: rw={BenchOptionParser.PatternName(o.Pattern)}{(o.IsMixed ? $" ({o.ReadMixPercent}% reads)" : "")} bs={bs} iodepth={o.IoDepth} numjobs={o.NumJobs}";
    }

    private static string Size(BlockSizeSpec spec) => spec.Split is { } split
        ? string.Join(':', split.Select(s => $"{Compact(s.Bytes)}/{s.Percent}"))
        : spec.IsFixed ? Compact(spec.Min) : $"{Compact(spec.Min)}-{Compact(spec.Max)}";

    // fio's way of writing sizes in job files: 512, 4k, 64k, 1m.
    private static string Compact(int bytes) => bytes % (1 << 20) == 0 ? $"{bytes >> 20}m" : bytes % 1024 == 0 ? $"{bytes >> 10}k" : bytes.ToString(Inv);

    private static string Shorten(string text, int length) => text.Length <= length ? text : "..." + text[^(length - 3)..];

    // x = log10(1 / (1 - p)): 0 at 0 %, 1 at 90 %, 2 at 99 %, ... (HdrHistogram's percentile distribution axis).
    private static Plot PercentilePlot(JobResult total)
    {
        var plot = new Plot();
        double low = double.MaxValue, high = double.MinValue;
        for (int d = 0; d < 3; d++)
        {
            var clat = total.Stats[d].Clat;
            if (clat is not { Count: > 0, Histogram: not null }) continue;
            var xs = new List<double>();
            var ys = new List<double>();
            double maxNines = Math.Min(6, Math.Log10(Math.Max(10, clat.Count)));
            for (double nines = 0; nines <= maxNines + 1e-9; nines += 0.02)
            {
                double percentile = 100.0 * (1 - Math.Pow(10, -nines));
                double y = Math.Log10(Math.Max(1, clat.Percentile(percentile)) / 1000.0);
                xs.Add(nines);
                ys.Add(y);
            }
            xs.Add(maxNines + 0.02);
            ys.Add(Math.Log10(Math.Max(1, clat.Max) / 1000.0));
            var line = plot.Add.ScatterLine(xs.ToArray(), ys.ToArray(), Colors[d]);
            line.LineWidth = 2;
            line.LegendText = $"{ReportFacts.DirectionNames[d]} (n={clat.Count}, max {Micros(clat.Max)})";
            low = Math.Min(low, ys.Min());
            high = Math.Max(high, ys.Max());
        }
        plot.Title("completion latency by percentile");
        plot.XLabel("percentile");
        plot.YLabel("latency");
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        string[] names = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"];
        for (int i = 0; i < names.Length; i++) ticks.AddMajor(i, names[i]);
        ticks.AddMajor(Math.Log10(2), "50%");
        plot.Axes.Bottom.TickGenerator = ticks;
        LogAxis(plot, low, high);
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    private static Plot LatencyOverTime(JobResult total, int intervals)
    {
        var plot = new Plot();
        var t = total.Timeline;
        double low = double.MaxValue, high = double.MinValue;
        for (int d = 0; d < 3; d++)
        {
            if (t.TotalIos(d) == 0) continue;
            var (xs, mean) = Points(t, t.MeanLatencyNs(d)[..Math.Min(intervals, t.Length)]);
            var (xm, max) = Points(t, t.MaxLatencyNs(d)[..Math.Min(intervals, t.Length)]);
            if (xs.Length == 0) continue;
            var m = plot.Add.ScatterLine(xs, mean, Colors[d]);
            m.LineWidth = 2;
            m.LegendText = $"{ReportFacts.DirectionNames[d]} mean";
            var x = plot.Add.ScatterLine(xm, max, Colors[d]);
            x.LineWidth = 1;
            x.LinePattern = LinePattern.Dotted;
            x.LegendText = $"{ReportFacts.DirectionNames[d]} max";
            low = Math.Min(low, mean.Min());
            high = Math.Max(high, max.Max());
        }
        plot.Title($"total latency over time ({(t.BucketSeconds * 1000).ToString("0.#", Inv)} ms intervals)");
        plot.XLabel("time (s)");
        plot.YLabel("latency");
        LogAxis(plot, low, high);
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    // Latency series as log10(µs) at the middle of each interval, skipping intervals without completions.
    private static (double[] X, double[] Y) Points(RunTimeline t, double[] ns)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        for (int i = 0; i < ns.Length; i++)
        {
            if (double.IsNaN(ns[i])) continue;
            xs.Add((i + 0.5) * t.BucketSeconds);
            ys.Add(Math.Log10(Math.Max(1, ns[i]) / 1000.0));
        }
        return (xs.ToArray(), ys.ToArray());
    }

    private static Plot RateOverTime(JobResult total, int n, bool iops)
    {
        var plot = new Plot();
        var t = total.Timeline;
        double top = 0;
        for (int d = 0; d < 3; d++)
        {
            if (t.TotalIos(d) == 0) continue;
            double[] values = iops ? t.Iops(d) : t.BytesPerSecond(d).Select(b => b / (1 << 20)).ToArray();
            values = values[..Math.Min(n, values.Length)];
            var xs = values.Select((_, i) => (i + 0.5) * t.BucketSeconds).ToArray();
            var line = plot.Add.ScatterLine(xs, values, Colors[d]);
            line.LineWidth = 2;
            line.LegendText = ReportFacts.DirectionNames[d];
            top = Math.Max(top, values.DefaultIfEmpty(0).Max());
        }
        plot.Title(iops ? "IOPS over time" : "bandwidth over time");
        plot.XLabel("time (s)");
        plot.YLabel(iops ? "IOPS" : "MiB/s");
        plot.Axes.SetLimitsY(0, top <= 0 ? 1 : top * 1.1);
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    // A log axis drawn on log10(µs) values: a labelled tick per decade, minor ticks at 2..9.
    private static void LogAxis(Plot plot, double low, double high)
    {
        if (low > high) (low, high) = (0, 1);
        int first = (int)Math.Floor(low), last = (int)Math.Ceiling(high);
        if (last == first) last++;
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int decade = first; decade <= last; decade++)
        {
            ticks.AddMajor(decade, Micros(Math.Pow(10, decade) * 1000));
            if (decade == last) break;
            for (int k = 2; k < 10; k++) ticks.AddMinor(decade + Math.Log10(k));
        }
        plot.Axes.Left.TickGenerator = ticks;
        plot.Axes.SetLimitsY(first, last);
    }

    private static string Micros(double ns) => ns switch
    {
        >= 1e9 => (ns / 1e9).ToString("0.###", Inv) + " s",
        >= 1e6 => (ns / 1e6).ToString("0.###", Inv) + " ms",
        >= 1e3 => (ns / 1e3).ToString("0.###", Inv) + " µs",
        _ => ns.ToString("0", Inv) + " ns",
    };
}
