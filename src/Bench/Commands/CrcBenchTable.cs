using System.Diagnostics;
using System.Runtime.InteropServices;
using System.IO.Hashing;
using PolledNvme.Bench.Native;
using PolledNvme.Protection;

namespace PolledNvme.Bench.Commands;

/// <summary>
/// <c>pnvme crc --bench</c>: a quick GB/s table per algorithm and code path, beside
/// System.IO.Hashing and ISA-L. Best of several timed batches per cell, after a warm-up
/// that lets the JIT finish tiering. BenchmarkDotNet (src/Bench/Micro) gives the rigorous numbers.
/// </summary>
internal static unsafe class CrcBenchTable
{
    private static readonly int[] s_sizes = [512, 4096, 1 << 20];
    private const int Blocks = 64, BlockLength = 512, Stride = 520;

    private sealed record Row(string Algorithm, string Path, nint Run, bool IsDefault);

    // Forced path of the row being measured; a static keeps each row a single indirect call.
    private static CrcKernel s_kernel;

    public static void Print(TextWriter stdout, TimeSpan budget)
    {
        byte* buffer = (byte*)NativeMemory.AlignedAlloc(1 << 20, 64);
        byte* blocks = (byte*)NativeMemory.AlignedAlloc(Blocks * Stride, 64);
        try
        {
            new Random(1).NextBytes(new Span<byte>(buffer, 1 << 20));
            new Random(2).NextBytes(new Span<byte>(blocks, Blocks * Stride));
            var rows = Rows();
            var multi = MultiBlockRows();
            int cells = rows.Count * s_sizes.Length + multi.Count;
            double perCell = budget.TotalSeconds * 0.85 / cells;

            // Warm-up: every path once at every size, a pause for background tier-1 JIT, again.
            for (int pass = 0; pass < 2; pass++)
            {
                foreach (var row in rows)
                    foreach (int size in s_sizes)
                        Measure(row, buffer, size, budget.TotalSeconds * 0.05 / cells);
                foreach (var (_, run) in multi)
                    ((delegate*<byte*, int, ulong>)run)(blocks, 0);
                Thread.Sleep(250);
            }

            stdout.WriteLine($"CRC throughput in GB/s (10^9 bytes/s), best of several runs; * = default path on this CPU.");
            stdout.WriteLine($"{"algorithm",-11} {"path",-26} {"512 B",8} {"4 KiB",8} {"1 MiB",8}");
            string? last = null;
            foreach (var row in rows)
            {
                string algorithm = row.Algorithm == last ? "" : row.Algorithm;
                last = row.Algorithm;
                s_kernel = KernelOf(row.Path);
                var line = $"{algorithm,-11} {row.Path + (row.IsDefault ? " *" : ""),-26}";
                foreach (int size in s_sizes)
                    line += $" {Measure(row, buffer, size, perCell),8:F2}";
                stdout.WriteLine(line);
            }
            if (IsaL.IsAvailable && !IsaL.Crc64IsNvme)
                stdout.WriteLine($"(ISA-L {IsaL.Crc64Function}: this ISA-L has no crc64_rocksoft_refl; same code, other polynomial, speed only.)");
            else if (!IsaL.IsAvailable)
                stdout.WriteLine($"(ISA-L columns skipped: {IsaL.MissingReason})");

            stdout.WriteLine();
            stdout.WriteLine($"multi-block: {Blocks} blocks of {BlockLength} B at stride {Stride}");
            double? isal = null;
            var results = new List<(string, double)>();
            foreach (var (name, run) in multi)
            {
                double gbps = MeasureBlocks((delegate*<byte*, int, ulong>)run, blocks, perCell);
                results.Add((name, gbps));
                if (name.StartsWith("ISA-L", StringComparison.Ordinal))
                    isal = gbps;
            }
            foreach (var (name, gbps) in results)
                stdout.WriteLine($"  {name,-43} {gbps,8:F2}{(isal is { } i ? $"   {gbps / i,5:F2}x ISA-L" : "")}");
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
            NativeMemory.AlignedFree(blocks);
        }
    }

    private static double Measure(Row row, byte* buffer, int size, double seconds)
    {
        s_kernel = KernelOf(row.Path);
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

    private static double MeasureBlocks(delegate*<byte*, int, ulong> run, byte* blocks, double seconds)
    {
        double best = double.MaxValue;
        var total = Stopwatch.StartNew();
        do
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < 1000; i++)
                run(blocks, 0);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalNanoseconds / 1000);
        }
        while (total.Elapsed.TotalSeconds < seconds);
        return Blocks * BlockLength / best;
    }

    private static CrcKernel KernelOf(string path) => path switch
    {
        "sse4.2 crc32 x3" => CrcKernel.Sse42,
        "pclmul 128" => CrcKernel.Pclmul128,
        "vpclmul 256" => CrcKernel.Vpclmul256,
        "vpclmul 512" => CrcKernel.Vpclmul512,
        _ => CrcKernel.Table,
    };

    private static string PathName(CrcKernel kernel) => kernel switch
    {
        CrcKernel.Sse42 => "sse4.2 crc32 x3",
        CrcKernel.Pclmul128 => "pclmul 128",
        CrcKernel.Vpclmul256 => "vpclmul 256",
        CrcKernel.Vpclmul512 => "vpclmul 512",
        _ => "table (slice-by-8)",
    };

    private static List<Row> Rows()
    {
        var rows = new List<Row>();
        foreach (CrcKernel k in Enum.GetValues<CrcKernel>())
            if (Crc16T10Dif.IsSupported(k))
                rows.Add(new("T10-DIF", PathName(k), (nint)(delegate*<byte*, int, ulong>)&T10Dif, k == Crc16T10Dif.Kernel));
        if (IsaL.IsAvailable)
            rows.Add(new("T10-DIF", "ISA-L crc16_t10dif", (nint)(delegate*<byte*, int, ulong>)&IsaLT10Dif, false));
        foreach (CrcKernel k in Enum.GetValues<CrcKernel>())
            if (Crc32C.IsSupported(k))
                rows.Add(new("CRC-32C", PathName(k), (nint)(delegate*<byte*, int, ulong>)&Crc32CForced, k == Crc32C.Kernel));
        rows.Add(new("CRC-32C", "System.IO.Hashing", (nint)(delegate*<byte*, int, ulong>)&HashingCrc32C, false));
        if (IsaL.IsAvailable)
            rows.Add(new("CRC-32C", "ISA-L crc32_iscsi", (nint)(delegate*<byte*, int, ulong>)&IsaLCrc32C, false));
        foreach (CrcKernel k in Enum.GetValues<CrcKernel>())
            if (Crc64Nvme.IsSupported(k))
                rows.Add(new("CRC-64/NVME", PathName(k), (nint)(delegate*<byte*, int, ulong>)&Crc64Forced, k == Crc64Nvme.Kernel));
        rows.Add(new("CRC-64/NVME", "System.IO.Hashing", (nint)(delegate*<byte*, int, ulong>)&HashingCrc64, false));
        if (IsaL.IsAvailable && IsaL.Crc64Function is not null)
            rows.Add(new("CRC-64/NVME", "ISA-L " + IsaL.Crc64Function + (IsaL.Crc64IsNvme ? "" : " (a)"), (nint)(delegate*<byte*, int, ulong>)&IsaLCrc64, false));
        return rows;
    }

    private static List<(string Name, nint Run)> MultiBlockRows()
    {
        var rows = new List<(string, nint)>();
        if (IsaL.IsAvailable)
            rows.Add(("ISA-L crc16_t10dif, block by block", (nint)(delegate*<byte*, int, ulong>)&IsaLBlocks));
        rows.Add(("T10-DIF Compute, block by block", (nint)(delegate*<byte*, int, ulong>)&T10DifPerBlock));
        rows.Add(("T10-DIF ComputeBlocks", (nint)(delegate*<byte*, int, ulong>)&T10DifBlocks));
        rows.Add(("CRC-32C ComputeBlocks", (nint)(delegate*<byte*, int, ulong>)&Crc32CBlocks));
        rows.Add(("CRC-64/NVME ComputeBlocks", (nint)(delegate*<byte*, int, ulong>)&Crc64Blocks));
        return rows;
    }

    private static ulong T10Dif(byte* p, int n) => Crc16T10Dif.Update(0, new ReadOnlySpan<byte>(p, n), s_kernel);
    private static ulong Crc32CForced(byte* p, int n) => Crc32C.Update(0, new ReadOnlySpan<byte>(p, n), s_kernel);
    private static ulong Crc64Forced(byte* p, int n) => Crc64Nvme.Update(0, new ReadOnlySpan<byte>(p, n), s_kernel);
    private static ulong HashingCrc32C(byte* p, int n) => Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, new ReadOnlySpan<byte>(p, n));
    private static ulong HashingCrc64(byte* p, int n) => Crc64.HashToUInt64(Crc64ParameterSet.Nvme, new ReadOnlySpan<byte>(p, n));
    private static ulong IsaLT10Dif(byte* p, int n) => IsaL.Crc16T10Dif(0, p, n);
    private static ulong IsaLCrc32C(byte* p, int n) => IsaL.Crc32C(p, n);
    private static ulong IsaLCrc64(byte* p, int n) => IsaL.Crc64(p, n);

    private static readonly ushort[] s_crc16 = new ushort[Blocks];
    private static readonly uint[] s_crc32 = new uint[Blocks];
    private static readonly ulong[] s_crc64 = new ulong[Blocks];
    private static ReadOnlySpan<byte> BlockSpan(byte* p) => new(p, (Blocks - 1) * Stride + BlockLength);

    private static ulong IsaLBlocks(byte* p, int _)
    {
        ulong x = 0;
        for (int i = 0; i < Blocks; i++)
            x ^= IsaL.Crc16T10Dif(0, p + i * Stride, BlockLength);
        return x;
    }

    private static ulong T10DifPerBlock(byte* p, int _)
    {
        ulong x = 0;
        for (int i = 0; i < Blocks; i++)
            x ^= Crc16T10Dif.Compute(new ReadOnlySpan<byte>(p + i * Stride, BlockLength));
        return x;
    }

    private static ulong T10DifBlocks(byte* p, int _)
    {
        Crc16T10Dif.ComputeBlocks(BlockSpan(p), BlockLength, Stride, s_crc16);
        return s_crc16[0];
    }

    private static ulong Crc32CBlocks(byte* p, int _)
    {
        Crc32C.ComputeBlocks(BlockSpan(p), BlockLength, Stride, s_crc32);
        return s_crc32[0];
    }

    private static ulong Crc64Blocks(byte* p, int _)
    {
        Crc64Nvme.ComputeBlocks(BlockSpan(p), BlockLength, Stride, s_crc64);
        return s_crc64[0];
    }
}
