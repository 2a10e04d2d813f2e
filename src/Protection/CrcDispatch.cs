namespace PolledNvme.Protection;

/// <summary>
/// Which CRC code path runs for which CPU and buffer length: decided once at start-up from
/// the CPU (<see cref="CpuClass"/>), from measurements listed in docs/PERFORMANCE.md.
/// </summary>
public static class CrcDispatch
{
    internal static CrcDispatchPlan Plan { get; } = CrcDispatchPlan.Decide(CrcCpu.Detect());

    /// <summary>The instruction-set class of this CPU, as far as the runtime lets us use it.</summary>
    public static CrcCpuClass CpuClass => Plan.Cpu.Class;

    /// <summary>This CPU as the dispatch saw it: class, vendor, family and model, crc32 issue rate.</summary>
    public static string CpuDescription => Plan.Cpu.ToString();

    /// <summary>One line per CRC: its path for each length class on this CPU.</summary>
    public static IReadOnlyList<string> Describe() => Plan.Describe();

    /// <summary>A short name of a code path: "table (slice-by-8)", "sse4.2 crc32", "vpclmul 512", "hybrid crc32+vpclmul 512"...</summary>
    public static string NameOf(CrcKernel kernel) => kernel switch
    {
        CrcKernel.Table => "table (slice-by-8)",
        CrcKernel.Sse42 => "sse4.2 crc32",
        CrcKernel.Pclmul128 => "pclmul 128",
        CrcKernel.Vpclmul256 => "vpclmul 256",
        CrcKernel.Vpclmul512 => "vpclmul 512",
        CrcKernel.Hybrid128 => "hybrid crc32+pclmul 128",
        CrcKernel.Hybrid256 => "hybrid crc32+vpclmul 256",
        CrcKernel.Hybrid512 => "hybrid crc32+vpclmul 512",
        _ => kernel.ToString(),
    };
}

/// <summary>The shapes of <see cref="ICrc32CHybridShape"/>, as a value.</summary>
internal enum Crc32CShapeId
{
    SixByFive,
    ThreeByFive,
    ThreeByTwo,
}

/// <summary>
/// The decision: a pure function of the CPU description, so that tests can check every
/// class with a synthetic CPU and the library applies it to the real one.
/// </summary>
/// <remarks>
/// Measured on AMD EPYC family 1Ah (Zen 5) through all four classes (the runtime's
/// <c>DOTNET_EnableAVX512=0</c>, <c>DOTNET_EnableVAES=0</c>, <c>DOTNET_EnableAES=0</c> switches
/// give the code paths of the smaller classes, not their execution ports); other CPUs by
/// reasoning from instruction tables and the figures measured on AMD Zen 3 in issue 13.
/// docs/PERFORMANCE.md has the table and the commands.
/// </remarks>
internal sealed class CrcDispatchPlan
{
    /// <summary>No length reaches this class.</summary>
    public const int Never = int.MaxValue;

    private CrcDispatchPlan(CrcCpu cpu, CrcKernel folding, Crc32CShapeId shape,
        CrcKernel crc32CShort, int crc32CFoldFrom, CrcKernel crc32CFold, int crc32CHybridFrom, CrcKernel crc32CHybrid, CrcKernel crc32CBlocks)
    {
        Crc32CBlocks = crc32CBlocks;
        Cpu = cpu;
        Folding = folding;
        Shape = shape;
        Crc32CShort = crc32CShort;
        Crc32CFoldFrom = crc32CFoldFrom;
        Crc32CFold = crc32CFold;
        Crc32CHybridFrom = crc32CHybridFrom;
        Crc32CHybrid = crc32CHybrid;
    }

    public CrcCpu Cpu { get; }

    /// <summary>Widest carry-less-multiply folding, or <see cref="CrcKernel.Table"/>: the path of CRC-16/T10-DIF and CRC-64/NVME.</summary>
    public CrcKernel Folding { get; }

    /// <summary>Proportions of the crc32 streams and the hybrid kernel (<see cref="ICrc32CHybridShape"/>).</summary>
    public Crc32CShapeId Shape { get; }

    /// <summary><see cref="Shape"/> as numbers.</summary>
    public Crc32CHybridShape Hybrid => Crc32CHybridShapeOf(Shape);

    /// <summary><c>crc32</c> streams of the instruction paths: 6 where it issues twice per cycle, else 3.</summary>
    public int Crc32Streams => Hybrid.Streams;

    /// <summary>
    /// Length from which the crc32 stream path runs six streams where the shape has six; below
    /// it, three. Without PCLMULQDQ five table products cost more than three streams gain below
    /// about 640 B (measured on the SSE4.2 proxy: 512 B 0.94x against 0.79x ISA-L with six,
    /// 700 B 0.74x against 0.93x); with a multiplier six streams are never slower.
    /// </summary>
    public int Crc32CSixStreamsFrom => Crc32Streams == 6 && !Cpu.Pclmul ? 640 : 0;

    /// <summary>CRC-32C below <see cref="Crc32CFoldFrom"/>.</summary>
    public CrcKernel Crc32CShort { get; }

    /// <summary>Length from which CRC-32C folds (<see cref="Never"/>: never).</summary>
    public int Crc32CFoldFrom { get; }

    /// <summary>CRC-32C from <see cref="Crc32CFoldFrom"/> to <see cref="Crc32CHybridFrom"/>.</summary>
    public CrcKernel Crc32CFold { get; }

    /// <summary>Length from which CRC-32C runs the hybrid kernel (<see cref="Never"/>: never).</summary>
    public int Crc32CHybridFrom { get; }

    /// <summary>CRC-32C from <see cref="Crc32CHybridFrom"/> on.</summary>
    public CrcKernel Crc32CHybrid { get; }

    /// <summary>CRC-32C's multi-block path (<see cref="Crc32C.ComputeBlocks(ReadOnlySpan{byte}, int, int, Span{uint})"/>).</summary>
    public CrcKernel Crc32CBlocks { get; }

    /// <summary>The CRC-32C path for a buffer of <paramref name="length"/> bytes.</summary>
    public CrcKernel Crc32CKernelFor(int length)
        => length >= Crc32CHybridFrom ? Crc32CHybrid : length >= Crc32CFoldFrom ? Crc32CFold : Crc32CShort;

    /// <summary>Decides for <paramref name="cpu"/>.</summary>
    public static CrcDispatchPlan Decide(CrcCpu cpu)
    {
        CrcKernel folding = cpu.Vpclmul512 ? CrcKernel.Vpclmul512
            : cpu.Vpclmul256 ? CrcKernel.Vpclmul256
            : cpu.Pclmul ? CrcKernel.Pclmul128
            : CrcKernel.Table;
        // Words per stream per four-register fold, so that both units finish together: the fold
        // takes 8 multiplies; at one per two cycles (AMD Zen 3 to Zen 5, Intel Ice Lake at 512 bits)
        // that is 16 cycles, matched by 5 words per stream at 1 crc32 per cycle with 3 streams
        // (15) and at 2 per cycle with 6 (15). Intel cores since Ice Lake multiply once per
        // cycle at 128/256 bits (Sapphire Rapids also at 512): 8 cycles, matched by 2 words
        // with 3 streams (6 crc32 at latency 3: 6 cycles).
        Crc32CShapeId shape = cpu.DualCrc32 ? Crc32CShapeId.SixByFive
            : cpu.Vendor == CrcCpuVendor.Amd ? Crc32CShapeId.ThreeByFive
            : Crc32CShapeId.ThreeByTwo;
        if (!cpu.Crc32)
            return new(cpu, folding, shape, folding, Never, folding, Never, folding, folding);
        if (folding == CrcKernel.Table)
            // crc32 streams combined with a software multiply: 4-5x the table, and nothing else fits.
            return new(cpu, folding, shape, CrcKernel.Sse42, Never, CrcKernel.Sse42, Never, CrcKernel.Sse42, CrcKernel.Sse42);

        CrcKernel hybridKernel = folding switch
        {
            CrcKernel.Vpclmul512 => CrcKernel.Hybrid512,
            CrcKernel.Vpclmul256 => CrcKernel.Hybrid256,
            _ => CrcKernel.Hybrid128,
        };
        // Length classes (docs/PERFORMANCE.md, "CRC dispatch"): the crc32 instruction streams
        // below foldFrom, folding up to hybridFrom, the hybrid kernel from there. Measured on
        // Zen 5, paired against ISA-L: 512-bit folding passes the streams at 128 B, the 512-bit
        // hybrid passes folding at 2 KiB. Below AVX-512 the streams beat 256- and 128-bit
        // folding at every length up to 1 KiB, with six streams and with three (three streams
        // at latency 3 issue one crc32 per cycle, as on Zen 3 and Intel), so there is no folding
        // class; the hybrid takes over from 1 KiB where crc32 issues once per cycle. Where it
        // issues twice (six streams, 16 B per cycle) the streams stayed ahead of the 256-bit
        // hybrid up to 3 KiB and of the 128-bit one at every length measured (512 B to 1 MiB).
        (int foldFrom, int hybridFrom) = folding switch
        {
            CrcKernel.Vpclmul512 => (128, 2048),
            CrcKernel.Vpclmul256 => (Never, cpu.DualCrc32 ? 4096 : 1024),
            _ => (Never, cpu.DualCrc32 ? Never : 1024),
        };
        hybridFrom = Math.Max(hybridFrom, Crc32CHybridShapeOf(shape).IterationBytes(hybridKernel switch
        {
            CrcKernel.Hybrid512 => 64,
            CrcKernel.Hybrid256 => 32,
            _ => 16,
        }));
        foldFrom = Math.Min(foldFrom, hybridFrom);
        // Whole blocks on crc32 streams beside four folded ones: a step of the streams is a
        // register's worth of words (8 at 512 bits: 24 cycles of latency), which only pays
        // where the multiplier is as slow as on AMD (a 4-block step: 16 cycles); where it
        // issues once per cycle (Intel since Ice Lake) the streams would hold the folding back.
        CrcKernel blocks = cpu.Vendor == CrcCpuVendor.Amd ? hybridKernel : folding;
        // A class no length reaches takes the path below it, so that a buffer of int.MaxValue
        // bytes (and Crc32C.Kernel, the path "for long buffers") is not sent to it.
        if (hybridFrom == Never)
            hybridKernel = foldFrom == Never ? CrcKernel.Sse42 : folding;
        return new(cpu, folding, shape, CrcKernel.Sse42, foldFrom, folding, hybridFrom, hybridKernel, blocks);
    }

    private static Crc32CHybridShape Crc32CHybridShapeOf(Crc32CShapeId shape) => shape switch
    {
        Crc32CShapeId.SixByFive => Crc32CHybridShape.Of<SixByFive>(),
        Crc32CShapeId.ThreeByFive => Crc32CHybridShape.Of<ThreeByFive>(),
        _ => Crc32CHybridShape.Of<ThreeByTwo>(),
    };

    /// <summary>For people (pnvme crc --bench, docs): one line per CRC.</summary>
    public IReadOnlyList<string> Describe()
    {
        string foldingName = CrcDispatch.NameOf(Folding);
        var lines = new List<string>
        {
            $"CRC-16/T10-DIF, CRC-64/NVME: {foldingName} at every length (tails under 16 B: table)",
        };
        var crc32C = new List<string>();
        if (Crc32CFoldFrom == Never && Crc32CHybridFrom == Never)
            crc32C.Add($"{Named(Crc32CShort)} at every length");
        else if (Crc32CFoldFrom > 0)
            crc32C.Add($"{Range(0, Math.Min(Crc32CFoldFrom, Crc32CHybridFrom))} {Named(Crc32CShort)}");
        if (Crc32CFoldFrom < Crc32CHybridFrom)
            crc32C.Add($"{Range(Crc32CFoldFrom, Crc32CHybridFrom)} {Named(Crc32CFold)}");
        if (Crc32CHybridFrom != Never)
            crc32C.Add($"{Range(Crc32CHybridFrom, Never)} {Named(Crc32CHybrid)}");
        lines.Add("CRC-32C: " + string.Join("; ", crc32C));
        lines.Add("CRC-32C blocks (ComputeBlocks): " + (Crc32CBlocks == CrcKernel.Sse42
            ? $"crc32, {Crc32Streams} blocks interleaved (one chain per block)"
            : Named(Crc32CBlocks)));
        return lines;
    }

    private string Named(CrcKernel kernel) => kernel switch
    {
        CrcKernel.Sse42 => Crc32CSixStreamsFrom > 0 ? $"crc32 x3 (x6 from {Size(Crc32CSixStreamsFrom)})" : $"crc32 x{Crc32Streams}",
        CrcKernel.Hybrid128 or CrcKernel.Hybrid256 or CrcKernel.Hybrid512 => $"{CrcDispatch.NameOf(kernel)} ({Hybrid})",
        _ => CrcDispatch.NameOf(kernel),
    };

    private static string Range(int from, int to)
        => to == Never ? $">= {Size(from)}" : from == 0 ? $"< {Size(to)}" : $"{Size(from)}..{Size(to - 1)}";

    private static string Size(int bytes) => bytes >= 1024 && bytes % 1024 == 0 ? $"{bytes / 1024} KiB" : $"{bytes} B";
}
