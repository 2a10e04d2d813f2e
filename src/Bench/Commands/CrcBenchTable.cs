using System.Diagnostics;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using PolledNvme.Bench.Native;
using PolledNvme.Protection;

namespace PolledNvme.Bench.Commands;

/// <summary>
/// <c>pnvme crc --bench</c>: GB/s per algorithm and code path at 512 B, 4 KiB and 1 MiB, the
/// default (dispatched) path of each CRC, System.IO.Hashing and ISA-L (the functions ISA-L
/// would run on this CPU class), the multi-block entry points, and whether each default is
/// the fastest forced path at 4 KiB. Every cell is the best of several timed batches after a
/// warm-up that lets the JIT finish tiering; with several runs, the median of the runs.
/// BenchmarkDotNet (src/Bench/Micro) gives the rigorous numbers.
/// </summary>
internal static unsafe partial class CrcBenchTable
{
    private static readonly int[] s_sizes = [512, 4096, 1 << 20];
    private const int BufferBytes = 1 << 20;

    private enum RowKind
    {
        Default,
        Forced,
        Yardstick,
    }

    private sealed record Row(string Algorithm, string Path, nint Run, RowKind Kind, CrcKernel Kernel = CrcKernel.Table, bool IsIsaL = false);

    // Forced path of the row being measured; a static keeps each row a single indirect call.
    private static CrcKernel s_kernel;
    private static IsaLClassVariants? s_isal;
    private static string s_warmUp = "";

    public static void Print(TextWriter stdout, TimeSpan budget, int runs)
    {
        byte* buffer = (byte*)NativeMemory.AlignedAlloc(BufferBytes, 64);
        byte* blocks = (byte*)NativeMemory.AlignedAlloc(Blocks * Stride, 64);
        try
        {
            new Random(1).NextBytes(new Span<byte>(buffer, BufferBytes));
            new Random(2).NextBytes(new Span<byte>(blocks, Blocks * Stride));
            s_isal = IsaLClassVariants.For(CrcDispatch.CpuClass);
            List<Row> rows = Rows();
            List<Row> multi = MultiBlockRows();
            int cells = (rows.Count * s_sizes.Length + multi.Count) * runs;
            // 65 % of the budget for the table, 5 % for the default-against-forced pairs, 20 % for
            // the pairs against ISA-L, the rest for printing and slack.
            double perCell = budget.TotalSeconds * 0.65 / cells;

            s_warmUp = WarmUp(rows, multi, buffer, blocks, budget);

            // Runs alternate over all cells, so a burst of load on a shared machine hits one run of a cell, not all.
            var results = new double[rows.Count, s_sizes.Length, runs];
            var multiResults = new double[multi.Count, runs];
            for (int run = 0; run < runs; run++)
            {
                for (int r = 0; r < rows.Count; r++)
                    for (int s = 0; s < s_sizes.Length; s++)
                        results[r, s, run] = Measure(rows[r], buffer, s_sizes[s], perCell);
                for (int m = 0; m < multi.Count; m++)
                    multiResults[m, run] = MeasureBlocks(multi[m], blocks, perCell);
            }

            PrintHeader(stdout, runs);
            PrintSingleBuffer(stdout, rows, (r, s) => Median(results, r, s, runs));
            PrintMultiBlock(stdout, multi, m => Median(multiResults, m, runs));
            PrintDefaultReport(stdout, rows, (r, s) => Median(results, r, s, runs), buffer, budget.TotalSeconds * 0.05);
            PrintPairedRatios(stdout, rows, buffer, budget.TotalSeconds * 0.2);
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
            NativeMemory.AlignedFree(blocks);
        }
    }

    private static void PrintHeader(TextWriter stdout, int runs)
    {
        stdout.WriteLine(runs == 1
            ? "CRC throughput in GB/s (10^9 bytes/s), best of several timed batches."
            : $"CRC throughput in GB/s (10^9 bytes/s), median of {runs} runs, each the best of several timed batches.");
        stdout.WriteLine($"CPU: {CpuModel()}, {Environment.ProcessorCount} logical cores; {RuntimeInformation.FrameworkDescription}");
        stdout.WriteLine($"CPU class: {CrcDispatch.CpuDescription}");
        IReadOnlyList<string> dispatch = CrcDispatch.Describe();
        for (int i = 0; i < dispatch.Count; i++)
            stdout.WriteLine($"{(i == 0 ? "Dispatch: " : "          ")}{dispatch[i]}");
        stdout.WriteLine(s_warmUp);
        if (s_isal is not null)
            stdout.WriteLine($"ISA-L: {s_isal.Crc16Name}, {s_isal.Crc32Name}, {s_isal.Crc64Name ?? "no reflected CRC-64"} "
                + $"(what ISA-L's own dispatch would run on a CPU of this class)");
        else
            stdout.WriteLine($"ISA-L: skipped ({IsaL.MissingReason ?? "a class variant is missing from this libisal"})");
    }

    private static void PrintSingleBuffer(TextWriter stdout, List<Row> rows, Func<int, int, double> result)
    {
        stdout.WriteLine();
        stdout.WriteLine("* = the path the default takes at that length.");
        stdout.WriteLine($"{"algorithm",-11} {"path",-32} {"512 B",9} {"4 KiB",9} {"1 MiB",9}");
        string? last = null;
        for (int r = 0; r < rows.Count; r++)
        {
            Row row = rows[r];
            string algorithm = row.Algorithm == last ? "" : row.Algorithm;
            last = row.Algorithm;
            var line = $"{algorithm,-11} {row.Path,-32}";
            for (int s = 0; s < s_sizes.Length; s++)
            {
                bool taken = row.Kind == RowKind.Forced && DefaultKernel(row.Algorithm, s_sizes[s]) == row.Kernel;
                line += $" {result(r, s),8:F2}{(taken ? "*" : " ")}";
            }
            stdout.WriteLine(line);
            int isal = rows.FindIndex(x => x.Algorithm == row.Algorithm && x.IsIsaL);
            if (row.IsIsaL || (isal < 0 && r + 1 < rows.Count && rows[r + 1].Algorithm != row.Algorithm))
            {
                int def = rows.FindIndex(x => x.Algorithm == row.Algorithm && x.Kind == RowKind.Default);
                if (isal >= 0 && def >= 0)
                {
                    var ratio = $"{"",-11} {"default / ISA-L",-32}";
                    for (int s = 0; s < s_sizes.Length; s++)
                        ratio += $" {result(def, s) / result(isal, s),8:F2}x";
                    stdout.WriteLine(ratio);
                }
            }
        }
        if (s_isal is not null && !IsaL.Crc64IsNvme)
            stdout.WriteLine($"(ISA-L {s_isal.Crc64Name}: this ISA-L has no crc64_rocksoft_refl; same code, other polynomial, speed only.)");
    }

    /// <summary>The path the default API takes for <paramref name="algorithm"/> at <paramref name="length"/>.</summary>
    private static CrcKernel DefaultKernel(string algorithm, int length) => algorithm switch
    {
        "CRC-32C" => Crc32C.KernelFor(length),
        "T10-DIF" => Crc16T10Dif.Kernel,
        _ => Crc64Nvme.Kernel,
    };

    private static double Median(double[,,] results, int row, int size, int runs)
        => Median(Enumerable.Range(0, runs).Select(i => results[row, size, i]));

    private static double Median(double[,] results, int row, int runs)
        => Median(Enumerable.Range(0, runs).Select(i => results[row, i]));

    private static double Median(IEnumerable<double> runs)
    {
        double[] values = runs.Order().ToArray();
        int n = values.Length;
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }

    /// <summary>The CPU model from /proc/cpuinfo, or the architecture where that is unavailable.</summary>
    private static string CpuModel()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is int colon and > 0)
                    return line[(colon + 1)..].Trim();
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static double Measure(Row row, byte* buffer, int size, double seconds)
    {
        s_kernel = row.Kernel;
        var run = (delegate*<byte*, int, ulong>)row.Run;
        long calls = Math.Max(1, (long)(2e9 * seconds / 8 / Math.Max(size, 4096)));
        double best = double.MaxValue;
        var total = Stopwatch.StartNew();
        do
        {
            long start = Stopwatch.GetTimestamp();
            for (long i = 0; i < calls; i++)
                run(buffer, size);
            double ns = Stopwatch.GetElapsedTime(start).TotalNanoseconds / calls;
            best = Math.Min(best, ns);
        }
        while (total.Elapsed.TotalSeconds < seconds);
        return size / best;
    }

    private static List<Row> Rows()
    {
        var rows = new List<Row>();
        rows.Add(new("T10-DIF", "default (Update)", (nint)(delegate*<byte*, int, ulong>)&T10DifDefault, RowKind.Default));
        foreach (CrcKernel k in Enum.GetValues<CrcKernel>())
            if (Crc16T10Dif.IsSupported(k))
                rows.Add(new("T10-DIF", CrcDispatch.NameOf(k), (nint)(delegate*<byte*, int, ulong>)&T10DifForced, RowKind.Forced, k));
        if (s_isal is not null)
            rows.Add(new("T10-DIF", "ISA-L " + s_isal.Crc16Name, (nint)(delegate*<byte*, int, ulong>)&IsaLT10Dif, RowKind.Yardstick, IsIsaL: true));

        rows.Add(new("CRC-32C", "default (Update)", (nint)(delegate*<byte*, int, ulong>)&Crc32CDefault, RowKind.Default));
        foreach (CrcKernel k in Enum.GetValues<CrcKernel>())
            if (Crc32C.IsSupported(k))
                rows.Add(new("CRC-32C", CrcDispatch.NameOf(k), (nint)(delegate*<byte*, int, ulong>)&Crc32CForced, RowKind.Forced, k));
        rows.Add(new("CRC-32C", "System.IO.Hashing", (nint)(delegate*<byte*, int, ulong>)&HashingCrc32C, RowKind.Yardstick));
        if (s_isal is not null)
            rows.Add(new("CRC-32C", "ISA-L " + s_isal.Crc32Name, (nint)(delegate*<byte*, int, ulong>)&IsaLCrc32C, RowKind.Yardstick, IsIsaL: true));

        rows.Add(new("CRC-64/NVME", "default (Update)", (nint)(delegate*<byte*, int, ulong>)&Crc64Default, RowKind.Default));
        foreach (CrcKernel k in Enum.GetValues<CrcKernel>())
            if (Crc64Nvme.IsSupported(k))
                rows.Add(new("CRC-64/NVME", CrcDispatch.NameOf(k), (nint)(delegate*<byte*, int, ulong>)&Crc64Forced, RowKind.Forced, k));
        rows.Add(new("CRC-64/NVME", "System.IO.Hashing", (nint)(delegate*<byte*, int, ulong>)&HashingCrc64, RowKind.Yardstick));
        if (s_isal?.Crc64Name is { } crc64)
            rows.Add(new("CRC-64/NVME", "ISA-L " + crc64 + (IsaL.Crc64IsNvme ? "" : " (a)"), (nint)(delegate*<byte*, int, ulong>)&IsaLCrc64, RowKind.Yardstick, IsIsaL: true));
        return rows;
    }

    private static ulong T10DifDefault(byte* p, int n) => Crc16T10Dif.Update(0, new ReadOnlySpan<byte>(p, n));
    private static ulong T10DifForced(byte* p, int n) => Crc16T10Dif.Update(0, new ReadOnlySpan<byte>(p, n), s_kernel);
    private static ulong Crc32CDefault(byte* p, int n) => Crc32C.Update(0, new ReadOnlySpan<byte>(p, n));
    private static ulong Crc32CForced(byte* p, int n) => Crc32C.Update(0, new ReadOnlySpan<byte>(p, n), s_kernel);
    private static ulong Crc64Default(byte* p, int n) => Crc64Nvme.Update(0, new ReadOnlySpan<byte>(p, n));
    private static ulong Crc64Forced(byte* p, int n) => Crc64Nvme.Update(0, new ReadOnlySpan<byte>(p, n), s_kernel);
    private static ulong HashingCrc32C(byte* p, int n) => Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, new ReadOnlySpan<byte>(p, n));
    private static ulong HashingCrc64(byte* p, int n) => Crc64.HashToUInt64(Crc64ParameterSet.Nvme, new ReadOnlySpan<byte>(p, n));
    private static ulong IsaLT10Dif(byte* p, int n) => s_isal!.Crc16(0, p, (ulong)n);
    private static ulong IsaLCrc32C(byte* p, int n) => s_isal!.Crc32(p, n, 0xFFFFFFFF) ^ 0xFFFFFFFF;
    private static ulong IsaLCrc64(byte* p, int n) => s_isal!.Crc64(0, p, (ulong)n);
}
