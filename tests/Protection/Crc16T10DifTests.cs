using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>CRC-16/T10-DIF through the shared matrix. System.IO.Hashing has no T10-DIF set, so the bit-serial reference is the oracle.</summary>
[TestFixture]
public sealed class Crc16T10DifTests : CrcMatrixTests<Crc16T10DifUnderTest>
{
    [Test]
    public void UpdateContinuesFromPreviousValueDirectly()
    {
        // Linux crc_t10dif_update convention: no inversion, so Update(0, a) == Compute(a).
        byte[] a = [1, 2, 3], b = [4, 5, 6, 7];
        Assert.That(Crc16T10Dif.Update(Crc16T10Dif.Compute(a), b), Is.EqualTo(Crc16T10Dif.Compute([.. a, .. b])));
        Assert.That(Crc16T10Dif.Update(0, a), Is.EqualTo(Crc16T10Dif.Compute(a)));
    }
}

public sealed class Crc16T10DifUnderTest : ICrcUnderTest
{
    public string Name => "CRC-16/T10-DIF";
    public CrcReferenceParameters Parameters => new(16, 0x8BB7, 0, false, 0);
    public ulong CheckValue => 0xD0DB;
    public (ulong Zeros, ulong Ones, ulong Incrementing, ulong Decrementing) KnownAnswers4KiB => (0x0000, 0x8B5D, 0x8F6D, 0x0430);
    public IEnumerable<(string Label, byte[] Data, ulong Expected)> ExtraKnownAnswers => [];
    public IReadOnlyList<CrcKernel> DefinedKernels => [CrcKernel.Table, CrcKernel.Pclmul128, CrcKernel.Vpclmul256, CrcKernel.Vpclmul512];
    public bool IsSupported(CrcKernel kernel) => Crc16T10Dif.IsSupported(kernel);
    public CrcKernel Kernel => Crc16T10Dif.Kernel;
    public ulong Compute(ReadOnlySpan<byte> data) => Crc16T10Dif.Compute(data);
    public ulong Update(ulong previous, ReadOnlySpan<byte> data) => Crc16T10Dif.Update((ushort)previous, data);
    public ulong Update(ulong previous, ReadOnlySpan<byte> data, CrcKernel kernel) => Crc16T10Dif.Update((ushort)previous, data, kernel);

    public void ComputeBlocks(ReadOnlySpan<byte> source, int blockLength, int stride, ulong[] crcs, CrcKernel? kernel)
    {
        var values = new ushort[crcs.Length];
        for (int i = 0; i < crcs.Length; i++)
            values[i] = (ushort)crcs[i];
        if (kernel is { } k)
            Crc16T10Dif.ComputeBlocks(source, blockLength, stride, values, k);
        else
            Crc16T10Dif.ComputeBlocks(source, blockLength, stride, values);
        for (int i = 0; i < crcs.Length; i++)
            crcs[i] = values[i];
    }
}
