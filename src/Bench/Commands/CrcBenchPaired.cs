using System.Diagnostics;

namespace PolledNvme.Bench.Commands;

/// <summary>
/// Paired ratios for <c>pnvme crc --bench</c>: each default path against ISA-L in alternating
/// short batches (ours, ISA-L, ISA-L, ours, ...), one ratio per pair. On a shared machine the
/// speed of the <c>crc32</c> instruction streams moves with what runs beside them (measured
/// here: the hybrid CRC-32C went from 41 to 69 GB/s at 4 KiB within a second, while ISA-L's
/// vector-only kernel moved 15 %), so two cells measured a second apart can disagree by more
/// than the effect being measured; a pair of 50 µs batches sees the same machine.
/// </summary>
internal static unsafe partial class CrcBenchTable
{
    /// <summary>Target length of one batch of a pair.</summary>
    private const double PairBatchSeconds = 50e-6;

    /// <summary>Ratios (ours / yardstick, throughput) of one row against another (a default against ISA-L, or against a forced path) at <paramref name="size"/>: median, 25th and 75th percentile.</summary>
    private static (double Median, double Low, double High) PairedRatio(Row ours, Row yardstickRow, byte* buffer, int size, double seconds)
    {
        var run = (delegate*<byte*, int, ulong>)ours.Run;
        var yardstick = (delegate*<byte*, int, ulong>)yardstickRow.Run;
        // Calls per batch from one timed call of each (the warm-up has run, so these are tier-1 figures).
        long one = Stopwatch.GetTimestamp();
        for (int i = 0; i < 16; i++)
            run(buffer, size);
        double perCall = Math.Max(1e-9, Stopwatch.GetElapsedTime(one).TotalSeconds / 16);
        int calls = (int)Math.Clamp(PairBatchSeconds / perCall, 1, 1 << 20);
        var ratios = new List<double>();
        var total = Stopwatch.StartNew();
        for (int pair = 0; total.Elapsed.TotalSeconds < seconds || ratios.Count < 5; pair++)
        {
            // Alternate which goes first, so a change of machine state between the two batches does not favour one side.
            double a, b;
            if ((pair & 1) == 0)
            {
                a = Batch(run, buffer, size, calls);
                b = Batch(yardstick, buffer, size, calls);
            }
            else
            {
                b = Batch(yardstick, buffer, size, calls);
                a = Batch(run, buffer, size, calls);
            }
            ratios.Add(b / a);
        }
        ratios.Sort();
        return (Quantile(ratios, 0.5), Quantile(ratios, 0.25), Quantile(ratios, 0.75));
    }

    private static double Batch(delegate*<byte*, int, ulong> run, byte* buffer, int size, int calls)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < calls; i++)
            run(buffer, size);
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private static double Quantile(List<double> sorted, double q)
    {
        double index = q * (sorted.Count - 1);
        int low = (int)index;
        int high = Math.Min(low + 1, sorted.Count - 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (index - low);
    }

    /// <summary>Measures and prints the paired ratio of every default row with an ISA-L row, at every size, within <paramref name="seconds"/>.</summary>
    private static void PrintPairedRatios(TextWriter stdout, List<Row> rows, byte* buffer, double seconds)
    {
        var pairs = new List<(Row Ours, Row IsaL)>();
        foreach (Row row in rows.Where(r => r.Kind == RowKind.Default))
            if (rows.FirstOrDefault(r => r.Algorithm == row.Algorithm && r.IsIsaL) is { } isal)
                pairs.Add((row, isal));
        if (pairs.Count == 0)
            return;
        double perCell = seconds / (pairs.Count * s_sizes.Length);
        stdout.WriteLine();
        stdout.WriteLine("Default / ISA-L in alternating 50 µs batches (median ratio of the pairs [25th-75th percentile]):");
        stdout.WriteLine($"{"CRC",-11} {"",-32} {"512 B",17} {"4 KiB",17} {"1 MiB",17}");
        foreach ((Row ours, Row isal) in pairs)
        {
            var line = $"{ours.Algorithm,-11} {"default / " + isal.Path[(isal.Path.IndexOf(' ') + 1)..],-32}";
            foreach (int size in s_sizes)
            {
                (double median, double low, double high) = PairedRatio(ours, isal, buffer, size, perCell);
                line += $" {median,5:F2}x [{low,4:F2}-{high,4:F2}]";
            }
            stdout.WriteLine(line);
        }
    }
}
