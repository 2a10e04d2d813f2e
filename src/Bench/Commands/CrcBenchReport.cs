using System.Diagnostics;
using PolledNvme.Protection;

namespace PolledNvme.Bench.Commands;

/// <summary>
/// The multi-block section of <c>pnvme crc --bench</c> (64 blocks of 512 B at stride 520,
/// the 512+8 DIF layout) and the report of whether each default is the fastest forced path.
/// </summary>
internal static unsafe partial class CrcBenchTable
{
    private const int Blocks = 64, BlockLength = 512, Stride = 520;

    /// <summary>A default within this fraction of the fastest forced path counts as the fastest (run-to-run noise here is a few %).</summary>
    private const double Noise = 0.05;

    private static readonly ushort[] s_crc16 = new ushort[Blocks];
    private static readonly uint[] s_crc32 = new uint[Blocks];
    private static readonly ulong[] s_crc64 = new ulong[Blocks];

    private static List<Row> MultiBlockRows()
    {
        var rows = new List<Row>();
        if (s_isal is not null)
            rows.Add(new("T10-DIF", $"ISA-L {s_isal.Crc16Name}, block by block", (nint)(delegate*<byte*, ulong>)&IsaLT10DifBlocks, RowKind.Yardstick, IsIsaL: true));
        rows.Add(new("T10-DIF", "Compute, block by block", (nint)(delegate*<byte*, ulong>)&T10DifPerBlock, RowKind.Yardstick));
        rows.Add(new("T10-DIF", "ComputeBlocks (default)", (nint)(delegate*<byte*, ulong>)&T10DifBlocks, RowKind.Default));
        if (s_isal is not null)
            rows.Add(new("CRC-32C", $"ISA-L {s_isal.Crc32Name}, block by block", (nint)(delegate*<byte*, ulong>)&IsaLCrc32CBlocks, RowKind.Yardstick, IsIsaL: true));
        rows.Add(new("CRC-32C", "Compute, block by block", (nint)(delegate*<byte*, ulong>)&Crc32CPerBlock, RowKind.Yardstick));
        rows.Add(new("CRC-32C", "ComputeBlocks (default)", (nint)(delegate*<byte*, ulong>)&Crc32CBlocks, RowKind.Default));
        if (s_isal?.Crc64Name is { } crc64)
            rows.Add(new("CRC-64/NVME", $"ISA-L {crc64}, block by block", (nint)(delegate*<byte*, ulong>)&IsaLCrc64Blocks, RowKind.Yardstick, IsIsaL: true));
        rows.Add(new("CRC-64/NVME", "Compute, block by block", (nint)(delegate*<byte*, ulong>)&Crc64PerBlock, RowKind.Yardstick));
        rows.Add(new("CRC-64/NVME", "ComputeBlocks (default)", (nint)(delegate*<byte*, ulong>)&Crc64Blocks, RowKind.Default));
        return rows;
    }

    /// <summary>GB/s of block data; with <paramref name="seconds"/> = 0 one call (warm-up).</summary>
    private static double MeasureBlocks(Row row, byte* blocks, double seconds)
    {
        var run = (delegate*<byte*, ulong>)row.Run;
        double best = double.MaxValue;
        var total = Stopwatch.StartNew();
        do
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < 1000; i++)
                run(blocks);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalNanoseconds / 1000);
        }
        while (total.Elapsed.TotalSeconds < seconds);
        return Blocks * BlockLength / best;
    }

    private static void PrintMultiBlock(TextWriter stdout, List<Row> rows, Func<int, double> result)
    {
        stdout.WriteLine();
        stdout.WriteLine($"multi-block: {Blocks} blocks of {BlockLength} B at stride {Stride} (512 + 8 B of PI)");
        string? last = null;
        for (int m = 0; m < rows.Count; m++)
        {
            Row row = rows[m];
            string algorithm = row.Algorithm == last ? "" : row.Algorithm;
            last = row.Algorithm;
            int isal = rows.FindIndex(x => x.Algorithm == row.Algorithm && x.IsIsaL);
            string ratio = isal >= 0 ? $"   {result(m) / result(isal),5:F2}x ISA-L" : "";
            stdout.WriteLine($"{algorithm,-11} {row.Path,-42} {result(m),8:F2}{ratio}");
        }
    }

    /// <summary>
    /// Whether each default is the fastest of the forced paths at 4 KiB: a benchmark report
    /// for people (speed is never asserted by a timed unit test). The table picks the
    /// fastest-looking forced path; the default is then timed against it in alternating
    /// batches (<see cref="PairedRatio"/>), as two table cells measured seconds apart on a
    /// shared machine can differ by more than the effect (the same kernel once read 0.88x of itself).
    /// </summary>
    private static void PrintDefaultReport(TextWriter stdout, List<Row> rows, Func<int, int, double> result, byte* buffer, double seconds)
    {
        const int Size = 4096;
        int size = Array.IndexOf(s_sizes, Size);
        stdout.WriteLine();
        stdout.WriteLine($"Default path at 4 KiB against the fastest forced path, in alternating 50 µs batches (within {Noise:P0} counts as the fastest):");
        var algorithms = rows.Select(r => r.Algorithm).Distinct().ToList();
        foreach (string algorithm in algorithms)
        {
            int def = rows.FindIndex(r => r.Algorithm == algorithm && r.Kind == RowKind.Default);
            int fastest = -1;
            for (int r = 0; r < rows.Count; r++)
                if (rows[r].Algorithm == algorithm && rows[r].Kind == RowKind.Forced && (fastest < 0 || result(r, size) > result(fastest, size)))
                    fastest = r;
            if (def < 0 || fastest < 0)
                continue;
            CrcKernel taken = DefaultKernel(algorithm, Size);
            s_kernel = rows[fastest].Kernel;
            (double ratio, double low, double high) = PairedRatio(rows[def], rows[fastest], buffer, Size, seconds / algorithms.Count);
            string verdict = taken == rows[fastest].Kernel ? "fastest (the same path)"
                : ratio >= 1 - Noise ? "fastest"
                : $"NOT the fastest ({CrcDispatch.NameOf(rows[fastest].Kernel)} is)";
            stdout.WriteLine($"  {algorithm,-11} default ({CrcDispatch.NameOf(taken)}) / {rows[fastest].Path}: "
                + $"{ratio:F2}x [{low:F2}-{high:F2}], {verdict}");
        }
    }

    private static ReadOnlySpan<byte> BlockSpan(byte* p) => new(p, (Blocks - 1) * Stride + BlockLength);

    // Block by block: the single-buffer row functions (CrcBenchTable) once per block.
    private static ulong IsaLT10DifBlocks(byte* p) => BlockByBlock(p, &IsaLT10Dif);
    private static ulong IsaLCrc32CBlocks(byte* p) => BlockByBlock(p, &IsaLCrc32C);
    private static ulong IsaLCrc64Blocks(byte* p) => BlockByBlock(p, &IsaLCrc64);
    private static ulong T10DifPerBlock(byte* p) => BlockByBlock(p, &T10DifDefault);
    private static ulong Crc32CPerBlock(byte* p) => BlockByBlock(p, &Crc32CDefault);
    private static ulong Crc64PerBlock(byte* p) => BlockByBlock(p, &Crc64Default);

    private static ulong BlockByBlock(byte* p, delegate*<byte*, int, ulong> crc)
    {
        ulong x = 0;
        for (int i = 0; i < Blocks; i++)
            x ^= crc(p + i * Stride, BlockLength);
        return x;
    }

    private static ulong T10DifBlocks(byte* p)
    {
        Crc16T10Dif.ComputeBlocks(BlockSpan(p), BlockLength, Stride, s_crc16);
        return s_crc16[0];
    }

    private static ulong Crc32CBlocks(byte* p)
    {
        Crc32C.ComputeBlocks(BlockSpan(p), BlockLength, Stride, s_crc32);
        return s_crc32[0];
    }

    private static ulong Crc64Blocks(byte* p)
    {
        Crc64Nvme.ComputeBlocks(BlockSpan(p), BlockLength, Stride, s_crc64);
        return s_crc64[0];
    }
}
