using BenchmarkDotNet.Attributes;
using PolledNvme.Protection;

namespace PolledNvme.Bench.Micro;

/// <summary>The PI formats the benchmarks run on.</summary>
public enum PiBenchFormat
{
    /// <summary>4096+8, 16b guard, type 1, PI last (the classic DIF format).</summary>
    Guard16Type1,

    /// <summary>4096+16, 64b guard, type 1, PI last.</summary>
    Guard64Type1,
}

internal static class PiBenchFormats
{
    public static ProtectionContext Context(PiBenchFormat format) => format switch
    {
        PiBenchFormat.Guard16Type1 => new(new ProtectionFormat(4096, 8, PiGuardFormat.Guard16, PiType.Type1), PiChecks.All, 1000, 0x1234),
        _ => new(new ProtectionFormat(4096, 16, PiGuardFormat.Guard64, PiType.Type1), PiChecks.All, 1000, 0x1234),
    };
}

/// <summary>
/// Generate and Verify of a 32-block batch of interleaved blocks, against the bare CRC of the
/// same bytes (ComputeBlocks, the baseline): the PI engine's overhead around the CRC. Times
/// are per block. Target: Verify at >= 0.85x the bare CRC rate (Ratio <= 1.18).
/// </summary>
[MemoryDiagnoser]
public class ProtectionBenchmarks
{
    private const int Blocks = 32;
    private ProtectionContext _context, _tagsOnly;
    private byte[] _data = [];
    private ushort[] _crc16 = new ushort[Blocks];
    private ulong[] _crc64 = new ulong[Blocks];

    [Params(PiBenchFormat.Guard16Type1, PiBenchFormat.Guard64Type1)]
    public PiBenchFormat Format { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _context = PiBenchFormats.Context(Format);
        _data = new byte[_context.Format.DataBytes(Blocks)];
        new Random(1).NextBytes(_data);
        _context.Generate(_data, default, Blocks);
        _tagsOnly = new ProtectionContext(_context.Format, PiChecks.All & ~PiChecks.Guard, _context.InitialReferenceTag, _context.ApplicationTag);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Blocks)]
    public void BareCrc()
    {
        ProtectionFormat format = _context.Format;
        if (format.GuardFormat == PiGuardFormat.Guard16)
            Crc16T10Dif.ComputeBlocks(_data, format.BlockSize, format.ExtendedBlockSize, _crc16);
        else
            Crc64Nvme.ComputeBlocks(_data, format.BlockSize, format.ExtendedBlockSize, _crc64);
    }

    [Benchmark(OperationsPerInvoke = Blocks)]
    public bool Verify() => _context.Verify(_data, default, Blocks, out _);

    [Benchmark(OperationsPerInvoke = Blocks)]
    public void Generate() => _context.Generate(_data, default, Blocks);

    /// <summary>Verify without the guard check: the engine's per-block cost on its own (no CRC).</summary>
    [Benchmark(OperationsPerInvoke = Blocks)]
    public bool VerifyTagsOnly() => _tagsOnly.Verify(_data, default, Blocks, out _);
}

/// <summary>
/// GenerateCopy and VerifyCopy of 64 MiB (16384 blocks; not cache resident) against a plain
/// copy of the same bytes (the baseline). Times are per block. Target: GenerateCopy at
/// >= 0.8x the memcpy rate (Ratio <= 1.25).
/// </summary>
[MemoryDiagnoser]
public class ProtectionCopyBenchmarks
{
    private const int Blocks = 16384;
    private ProtectionContext _context;
    private byte[] _host = [], _dma = [], _hostBack = [], _copyTarget = [];

    [Params(PiBenchFormat.Guard16Type1, PiBenchFormat.Guard64Type1)]
    public PiBenchFormat Format { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _context = PiBenchFormats.Context(Format);
        _host = GC.AllocateUninitializedArray<byte>(Blocks * _context.Format.BlockSize, pinned: true);
        _hostBack = GC.AllocateUninitializedArray<byte>(_host.Length, pinned: true);
        _dma = GC.AllocateUninitializedArray<byte>(_context.Format.DataBytes(Blocks), pinned: true);
        _copyTarget = GC.AllocateUninitializedArray<byte>(_dma.Length, pinned: true);
        new Random(2).NextBytes(_host);
        _context.GenerateCopy(_host, _dma, default, Blocks);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Blocks)]
    public void Memcpy() => _host.AsSpan().CopyTo(_copyTarget);

    [Benchmark(OperationsPerInvoke = Blocks)]
    public void GenerateCopy() => _context.GenerateCopy(_host, _dma, default, Blocks);

    [Benchmark(OperationsPerInvoke = Blocks)]
    public bool VerifyCopy() => _context.VerifyCopy(_dma, default, _hostBack, Blocks, out _);
}
