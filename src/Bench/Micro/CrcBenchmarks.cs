using System.IO.Hashing;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using PolledNvme.Bench.Native;
using PolledNvme.Protection;

namespace PolledNvme.Bench.Micro;

/// <summary>
/// One CRC per code path at 512 B, 4 KiB and 1 MiB, beside System.IO.Hashing, a
/// byte-at-a-time table (the naive starting point) and ISA-L. One subclass per CRC.
/// Run: <c>dotnet run -c Release --project src/Bench/Micro -- --filter '*Crc*'</c>.
/// </summary>
[Config(typeof(ThroughputConfig))]
public abstract unsafe class CrcBenchmarks
{
    private byte* _buffer;
    private delegate*<byte*, int, ulong> _run;

    [Params(512, 4096, 1 << 20)]
    public int Size { get; set; }

    /// <summary>Our paths by <see cref="CrcKernel"/> name, "Default", or a yardstick: "ByteTable", "SystemIoHashing", "IsaL".</summary>
    [ParamsSource(nameof(Implementations))]
    public string Implementation { get; set; } = "";

    /// <summary>The implementations this CRC has on this machine.</summary>
    public IEnumerable<string> Implementations()
    {
        yield return "Default";
        foreach (CrcKernel kernel in Enum.GetValues<CrcKernel>())
            if (IsSupported(kernel))
                yield return kernel.ToString();
        yield return "ByteTable";
        if (HasSystemIoHashing)
            yield return "SystemIoHashing";
        if (IsaL.IsAvailable)
            yield return "IsaL";
    }

    protected abstract bool IsSupported(CrcKernel kernel);
    protected abstract bool HasSystemIoHashing { get; }
    protected abstract delegate*<byte*, int, ulong> Resolve(string implementation);

    [GlobalSetup]
    public void Setup()
    {
        _buffer = (byte*)NativeMemory.AlignedAlloc((nuint)Size, 64);
        new Random(1).NextBytes(new Span<byte>(_buffer, Size));
        if (Implementation is not ("Default" or "ByteTable" or "SystemIoHashing" or "IsaL"))
            s_kernel = Enum.Parse<CrcKernel>(Implementation);
        _run = Resolve(Implementation);
    }

    [GlobalCleanup]
    public void Cleanup() => NativeMemory.AlignedFree(_buffer);

    [Benchmark]
    public ulong Crc() => _run(_buffer, Size);

    /// <summary>The forced path of the current case (a static, so the run loop stays one indirect call).</summary>
    protected static CrcKernel s_kernel;
}

/// <summary>CRC-16/T10-DIF: no System.IO.Hashing parameter set exists for it.</summary>
public sealed unsafe class Crc16T10DifBenchmarks : CrcBenchmarks
{
    protected override bool IsSupported(CrcKernel kernel) => Crc16T10Dif.IsSupported(kernel);
    protected override bool HasSystemIoHashing => false;

    protected override delegate*<byte*, int, ulong> Resolve(string implementation) => implementation switch
    {
        "Default" => &Default,
        "ByteTable" => &ByteTableCrc.T10Dif,
        "IsaL" => &IsaLCrc,
        _ => &Forced,
    };

    private static ulong Default(byte* p, int n) => Crc16T10Dif.Compute(new ReadOnlySpan<byte>(p, n));
    private static ulong Forced(byte* p, int n) => Crc16T10Dif.Update(0, new ReadOnlySpan<byte>(p, n), s_kernel);
    private static ulong IsaLCrc(byte* p, int n) => IsaL.Crc16T10Dif(0, p, n);
}

/// <summary>CRC-32C, against System.IO.Hashing's Crc32C set and ISA-L crc32_iscsi.</summary>
public sealed unsafe class Crc32CBenchmarks : CrcBenchmarks
{
    protected override bool IsSupported(CrcKernel kernel) => Crc32C.IsSupported(kernel);
    protected override bool HasSystemIoHashing => true;

    protected override delegate*<byte*, int, ulong> Resolve(string implementation) => implementation switch
    {
        "Default" => &Default,
        "ByteTable" => &ByteTableCrc.Crc32C,
        "SystemIoHashing" => &Hashing,
        "IsaL" => &IsaLCrc,
        _ => &Forced,
    };

    private static ulong Default(byte* p, int n) => Crc32C.Compute(new ReadOnlySpan<byte>(p, n));
    private static ulong Forced(byte* p, int n) => Crc32C.Update(0, new ReadOnlySpan<byte>(p, n), s_kernel);
    private static ulong Hashing(byte* p, int n) => Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, new ReadOnlySpan<byte>(p, n));
    private static ulong IsaLCrc(byte* p, int n) => IsaL.Crc32C(p, n);
}

/// <summary>
/// CRC-64/NVME, against System.IO.Hashing's Nvme set and ISA-L crc64_rocksoft_refl (or, on
/// ISA-L before 2.31, crc64_ecma_refl: the same code with other constants, as a speed stand-in).
/// </summary>
public sealed unsafe class Crc64NvmeBenchmarks : CrcBenchmarks
{
    protected override bool IsSupported(CrcKernel kernel) => Crc64Nvme.IsSupported(kernel);
    protected override bool HasSystemIoHashing => true;

    protected override delegate*<byte*, int, ulong> Resolve(string implementation)
    {
        if (implementation == "IsaL" && !IsaL.Crc64IsNvme)
            Console.WriteLine($"// ISA-L has no crc64_rocksoft_refl: {IsaL.Crc64Function} stands in (same speed, other polynomial).");
        return implementation switch
        {
            "Default" => &Default,
            "ByteTable" => &ByteTableCrc.Crc64Nvme,
            "SystemIoHashing" => &Hashing,
            "IsaL" => &IsaLCrc,
            _ => &Forced,
        };
    }

    private static ulong Default(byte* p, int n) => Crc64Nvme.Compute(new ReadOnlySpan<byte>(p, n));
    private static ulong Forced(byte* p, int n) => Crc64Nvme.Update(0, new ReadOnlySpan<byte>(p, n), s_kernel);
    private static ulong Hashing(byte* p, int n) => Crc64.HashToUInt64(Crc64ParameterSet.Nvme, new ReadOnlySpan<byte>(p, n));
    private static ulong IsaLCrc(byte* p, int n) => IsaL.Crc64(p, n);
}

/// <summary>
/// The multi-block entry point: 64 blocks of 512 bytes at stride 520 (512 + 8 bytes of PI),
/// against ISA-L crc16_t10dif and our single-buffer API called once per block.
/// </summary>
[Config(typeof(ThroughputConfig))]
public unsafe class CrcMultiBlockBenchmarks
{
    private const int Blocks = 64;
    private const int BlockLength = 512;
    private const int Stride = 520;
    private byte[] _source = [];
    private readonly ushort[] _crc16 = new ushort[Blocks];
    private readonly uint[] _crc32 = new uint[Blocks];
    private readonly ulong[] _crc64 = new ulong[Blocks];

    /// <summary>Bytes of block data per operation, for the GB/s column.</summary>
    public int Size => Blocks * BlockLength;

    [GlobalSetup]
    public void Setup()
    {
        _source = GC.AllocateArray<byte>(Blocks * Stride, pinned: true);
        new Random(2).NextBytes(_source);
    }

    [Benchmark(Baseline = true)]
    public ushort IsaLT10DifPerBlock()
    {
        if (!IsaL.IsAvailable)
            throw new NotSupportedException(IsaL.MissingReason);
        ushort last = 0;
        fixed (byte* p = _source)
            for (int i = 0; i < Blocks; i++)
                last = IsaL.Crc16T10Dif(0, p + i * Stride, BlockLength);
        return last;
    }

    [Benchmark]
    public ushort T10DifPerBlock()
    {
        ushort last = 0;
        for (int i = 0; i < Blocks; i++)
            last = Crc16T10Dif.Compute(_source.AsSpan(i * Stride, BlockLength));
        return last;
    }

    [Benchmark]
    public ushort T10DifComputeBlocks()
    {
        Crc16T10Dif.ComputeBlocks(_source, BlockLength, Stride, _crc16);
        return _crc16[Blocks - 1];
    }

    [Benchmark]
    public uint Crc32CComputeBlocks()
    {
        Crc32C.ComputeBlocks(_source, BlockLength, Stride, _crc32);
        return _crc32[Blocks - 1];
    }

    [Benchmark]
    public ulong Crc64NvmeComputeBlocks()
    {
        Crc64Nvme.ComputeBlocks(_source, BlockLength, Stride, _crc64);
        return _crc64[Blocks - 1];
    }
}
