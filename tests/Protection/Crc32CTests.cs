using System.IO.Hashing;
using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>CRC-32C through the shared matrix, plus System.IO.Hashing as an independent oracle.</summary>
[TestFixture]
public sealed class Crc32CTests : CrcMatrixTests<Crc32CUnderTest>
{
    [TestCaseSource(nameof(Kernels))]
    public void AgreesWithSystemIoHashing(CrcKernel kernel)
    {
        RequireSupported(kernel);
        var random = new Random(3);
        for (int i = 0; i < 200; i++)
        {
            byte[] data = new byte[i < 150 ? random.Next(0, 5000) : random.Next(0, 1 << 20)];
            random.NextBytes(data);
            Assert.That(Crc32C.Update(0, data, kernel), Is.EqualTo(Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data)), $"length {data.Length}");
        }
    }

    [Test]
    public void ShortBuffersUseTheInstructionWhereAvailable()
    {
        Assert.That(Crc32C.IsSupported(Crc32C.ShortBufferKernel), Is.True);
        if (Crc32C.IsSupported(CrcKernel.Sse42))
            Assert.That(Crc32C.ShortBufferKernel, Is.EqualTo(CrcKernel.Sse42));
    }
}

public sealed class Crc32CUnderTest : ICrcUnderTest
{
    public string Name => "CRC-32C";
    public CrcReferenceParameters Parameters => new(32, 0x1EDC6F41, 0xFFFFFFFF, true, 0xFFFFFFFF);
    public ulong CheckValue => 0xE3069283;
    public (ulong Zeros, ulong Ones, ulong Incrementing, ulong Decrementing) KnownAnswers4KiB => (0x98F94189, 0x25C1FE13, 0x9C71FE32, 0x214941A8);
    public IEnumerable<(string Label, byte[] Data, ulong Expected)> ExtraKnownAnswers => [("512 zero bytes", new byte[512], 0x30FCEDC0)];
    public IReadOnlyList<CrcKernel> DefinedKernels => [CrcKernel.Table, CrcKernel.Sse42, CrcKernel.Pclmul128, CrcKernel.Vpclmul256, CrcKernel.Vpclmul512];
    public bool IsSupported(CrcKernel kernel) => Crc32C.IsSupported(kernel);
    public CrcKernel Kernel => Crc32C.Kernel;
    public ulong Compute(ReadOnlySpan<byte> data) => Crc32C.Compute(data);
    public ulong Update(ulong previous, ReadOnlySpan<byte> data) => Crc32C.Update((uint)previous, data);
    public ulong Update(ulong previous, ReadOnlySpan<byte> data, CrcKernel kernel) => Crc32C.Update((uint)previous, data, kernel);

    public void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, ulong[] crcs, CrcKernel? kernel)
    {
        var values = new uint[crcs.Length];
        for (int i = 0; i < crcs.Length; i++)
            values[i] = (uint)crcs[i];
        if (kernel is { } k)
            Crc32C.ComputeBlocks(source, blockLength, stride, values, k);
        else
            Crc32C.ComputeBlocks(source, blockLength, stride, values);
        for (int i = 0; i < crcs.Length; i++)
            crcs[i] = values[i];
    }
}
