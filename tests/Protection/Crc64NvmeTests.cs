using System.IO.Hashing;
using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>CRC-64/NVME through the shared matrix, plus System.IO.Hashing as an independent oracle.</summary>
[TestFixture]
public sealed class Crc64NvmeTests : CrcMatrixTests<Crc64NvmeUnderTest>
{
    [TestCaseSource(nameof(Kernels))]
    public void AgreesWithSystemIoHashing(CrcKernel kernel)
    {
        RequireSupported(kernel);
        var random = new Random(4);
        for (int i = 0; i < 200; i++)
        {
            byte[] data = new byte[i < 150 ? random.Next(0, 5000) : random.Next(0, 1 << 20)];
            random.NextBytes(data);
            Assert.That(Crc64Nvme.Update(0, data, kernel), Is.EqualTo(Crc64.HashToUInt64(Crc64ParameterSet.Nvme, data)), $"length {data.Length}");
        }
    }
}

public sealed class Crc64NvmeUnderTest : ICrcUnderTest
{
    public string Name => "CRC-64/NVME";
    public CrcReferenceParameters Parameters => new(64, 0xAD93D23594C93659, ulong.MaxValue, true, ulong.MaxValue);
    public ulong CheckValue => 0xAE8B14860A799888;
    public (ulong Zeros, ulong Ones, ulong Incrementing, ulong Decrementing) KnownAnswers4KiB
        => (0x6482D367EB22B64E, 0xC0DDBA7302ECA3AC, 0x3E729F5F6750449C, 0x9A2DF64B8E9E517E);
    public IEnumerable<(string Label, byte[] Data, ulong Expected)> ExtraKnownAnswers =>
    [
        ("512 zero bytes", new byte[512], 0x1DE60E2868A782E9),
        ("4096+48 zero bytes", new byte[4096 + 48], 0x469A00D4FC907450),
    ];
    public IReadOnlyList<CrcKernel> DefinedKernels => [CrcKernel.Table, CrcKernel.Pclmul128, CrcKernel.Vpclmul256, CrcKernel.Vpclmul512];
    public bool IsSupported(CrcKernel kernel) => Crc64Nvme.IsSupported(kernel);
    public CrcKernel Kernel => Crc64Nvme.Kernel;
    public ulong Compute(ReadOnlySpan<byte> data) => Crc64Nvme.Compute(data);
    public ulong Update(ulong previous, ReadOnlySpan<byte> data) => Crc64Nvme.Update(previous, data);
    public ulong Update(ulong previous, ReadOnlySpan<byte> data, CrcKernel kernel) => Crc64Nvme.Update(previous, data, kernel);

    public void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, ulong[] crcs, CrcKernel? kernel)
    {
        if (kernel is { } k)
            Crc64Nvme.ComputeBlocks(source, blockLength, stride, crcs, k);
        else
            Crc64Nvme.ComputeBlocks(source, blockLength, stride, crcs);
    }
}
