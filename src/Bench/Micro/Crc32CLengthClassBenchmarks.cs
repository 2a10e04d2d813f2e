using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using PolledNvme.Protection;

namespace PolledNvme.Bench.Micro;

/// <summary>
/// CRC-32C's length classes: the default and every forced path at the lengths around the
/// dispatch's thresholds (<c>CrcDispatchPlan.Decide</c>), to measure the crossovers again on
/// a CPU. Smaller CPU classes through the runtime's switches, e.g.
/// <c>DOTNET_EnableAVX512=0 make bench FILTER='*Crc32CLengthClass*'</c> (docs/PERFORMANCE.md).
/// </summary>
[Config(typeof(ThroughputConfig))]
public unsafe class Crc32CLengthClassBenchmarks
{
    private byte* _buffer;
    private CrcKernel? _kernel;

    [Params(64, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096)]
    public int Size { get; set; }

    /// <summary>"Default", or a <see cref="CrcKernel"/> name (the paths other than the table that run here).</summary>
    [ParamsSource(nameof(Paths))]
    public string Path { get; set; } = "";

    public IEnumerable<string> Paths()
        => Enum.GetValues<CrcKernel>().Where(k => k != CrcKernel.Table && Crc32C.IsSupported(k)).Select(k => k.ToString()).Prepend("Default");

    [GlobalSetup]
    public void Setup()
    {
        _buffer = (byte*)NativeMemory.AlignedAlloc((nuint)Size, 64);
        new Random(1).NextBytes(new Span<byte>(_buffer, Size));
        _kernel = Path == "Default" ? null : Enum.Parse<CrcKernel>(Path);
    }

    [GlobalCleanup]
    public void Cleanup() => NativeMemory.AlignedFree(_buffer);

    [Benchmark]
    public uint Crc()
    {
        var data = new ReadOnlySpan<byte>(_buffer, Size);
        return _kernel is { } kernel ? Crc32C.Update(0, data, kernel) : Crc32C.Update(0, data);
    }
}
