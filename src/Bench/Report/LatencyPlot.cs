using HdrHistogram;
using PolledNvme.Bench.Run;
using ScottPlot;
using SkiaSharp;

namespace PolledNvme.Bench.Report;

/// <summary>
/// <c>--plot</c>: two panels, the latency distribution (HdrHistogram-style percentile curve,
/// x = percentile on a "number of nines" scale, y = µs) for reads and writes, and IOPS over
/// time. PNG or SVG by the file's extension. Rendered by ScottPlot on SkiaSharp; needs no display.
/// </summary>
public static class LatencyPlot
{
    /// <summary>Width of the image in pixels.</summary>
    public const int Width = 1000;
    /// <summary>Height of the image in pixels.</summary>
    public const int Height = 800;

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
        var latency = new Plot();
        var iops = new Plot();
        var multi = new Multiplot(latency);
        multi.Subplots.Add(iops);
        multi.Layout = new ScottPlot.MultiplotLayouts.Rows();

        var total = result.Total;
        var o = result.Plan.Options;
        AddPercentileCurve(latency, "read", total.Reads);
        AddPercentileCurve(latency, "write", total.Writes);
        latency.Title($"{o.Name}: {ReportFacts.RwName(o.Pattern)} bs={o.BlockSizeBytes} iodepth={o.IoDepth} jobs={o.NumJobs} on {result.EngineName}");
        latency.XLabel("percentile");
        latency.YLabel("completion latency (µs)");
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        string[] names = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"];
        for (int i = 0; i < names.Length; i++) ticks.AddMajor(i, names[i]);
        ticks.AddMajor(Math.Log10(2), "50%");
        latency.Axes.Bottom.TickGenerator = ticks;
        latency.ShowLegend(Alignment.UpperLeft);

        double step = total.Timeline.BucketSeconds;
        // The last bucket is cut short by the end of the run (and the drain): leave it out.
        var all = total.Timeline.ToIops();
        var timeline = all[..Math.Min(all.Length, Math.Max(1, (int)(total.Elapsed.TotalSeconds / step)))];
        var xs = new double[timeline.Length];
        for (int i = 0; i < xs.Length; i++) xs[i] = (i + 1) * step;
        var line = iops.Add.Scatter(xs, timeline);
        line.MarkerSize = 0;
        line.LegendText = "IOPS (reads + writes)";
        iops.XLabel("time (s)");
        iops.YLabel("IOPS");
        iops.Axes.SetLimitsY(0, timeline.Length == 0 ? 1 : timeline.Max() * 1.1);
        iops.ShowLegend(Alignment.LowerRight);

        // Multiplot renders onto a canvas; Skia's SVG canvas and a raster surface give the two formats.
        var area = new PixelRect(0, Width, Height, 0);
        if (svg)
        {
            using (var canvas = SKSvgCanvas.Create(new SKRect(0, 0, Width, Height), file))
                multi.Render(canvas, area);
        }
        else
        {
            using var surface = SKSurface.Create(new SKImageInfo(Width, Height));
            multi.Render(surface.Canvas, area);
            using var image = surface.Snapshot();
            using var png = image.Encode(SKEncodedImageFormat.Png, 100);
            png.SaveTo(file);
        }
    }

    // x = log10(1 / (1 - p)): 0 at the median's left edge, 1 at 90%, 2 at 99%, ... (the usual
    // HdrHistogram percentile-distribution axis), so the tail gets as much room as the body.
    private static void AddPercentileCurve(Plot plot, string label, DirectionStats stats)
    {
        if (stats.Ios == 0) return;
        var xs = new List<double>();
        var ys = new List<double>();
        for (double nines = 0; nines <= 5.0001; nines += 0.05)
        {
            double percentile = 100.0 * (1 - Math.Pow(10, -nines));
            xs.Add(nines);
            ys.Add(stats.Latency.GetValueAtPercentile(percentile) / 1000.0);
        }
        var s = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
        s.MarkerSize = 0;
        s.LineWidth = 2;
        s.LegendText = $"{label} (n={stats.Ios})";
    }
}
