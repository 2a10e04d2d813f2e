using System.Text;
using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>
/// The test matrix every CRC plugs into (see Crc16T10DifTests, Crc32CTests, Crc64NvmeTests):
/// spec known answers and agreement with a bit-serial reference on every code path, every
/// length 0..4200, every start alignment 0..63, long buffers, chained updates and the
/// multi-block entry point.
/// </summary>
public abstract class CrcMatrixTests<TCrc> where TCrc : ICrcUnderTest, new()
{
    private const int SweepLengths = 4200;
    private const int Alignments = 64;
    private const int LongLength = 1 << 20;

    protected static readonly TCrc Crc = new();
    private byte[] _data = null!;
    private ulong[] _reference = null!;
    private byte[] _long = null!;
    private ulong[] _longReference = null!;

    /// <summary>The paths this CRC defines; the ones this machine lacks are ignored per test.</summary>
    public static IEnumerable<CrcKernel> Kernels() => Crc.DefinedKernels;

    [OneTimeSetUp]
    public void BuildReferences()
    {
        var random = new Random(0x5EED);
        _data = new byte[SweepLengths];
        random.NextBytes(_data);
        var bitSerial = new BitSerialCrc(Crc.Parameters);
        _reference = bitSerial.PrefixCrcs(_data);
        _long = new byte[LongLength];
        random.NextBytes(_long);
        _longReference = bitSerial.PrefixCrcs(_long);
    }

    protected void RequireSupported(CrcKernel kernel)
    {
        if (!Crc.IsSupported(kernel))
            Assert.Ignore($"{Crc.Name} path {kernel} is not supported by this CPU.");
    }

    [TestCaseSource(nameof(Kernels))]
    public void CheckValueMatchesCatalogue(CrcKernel kernel)
    {
        RequireSupported(kernel);
        Assert.That(Crc.Update(0, Encoding.ASCII.GetBytes("123456789"), kernel), Is.EqualTo(Crc.CheckValue));
    }

    [TestCaseSource(nameof(Kernels))]
    public void FourKiBPatternsMatchSpec(CrcKernel kernel)
    {
        RequireSupported(kernel);
        var (zeros, ones, incrementing, decrementing) = Crc.KnownAnswers4KiB;
        byte[] block = new byte[4096];
        Assert.That(Crc.Update(0, block, kernel), Is.EqualTo(zeros), "all 00h");
        Array.Fill(block, (byte)0xFF);
        Assert.That(Crc.Update(0, block, kernel), Is.EqualTo(ones), "all FFh");
        for (int i = 0; i < block.Length; i++)
            block[i] = (byte)i;
        Assert.That(Crc.Update(0, block, kernel), Is.EqualTo(incrementing), "00h..FFh");
        for (int i = 0; i < block.Length; i++)
            block[i] = (byte)(0xFF - i);
        Assert.That(Crc.Update(0, block, kernel), Is.EqualTo(decrementing), "FFh..00h");
    }

    [TestCaseSource(nameof(Kernels))]
    public void ExtraKnownAnswersMatchSpec(CrcKernel kernel)
    {
        RequireSupported(kernel);
        foreach (var (label, data, expected) in Crc.ExtraKnownAnswers)
            Assert.That(Crc.Update(0, data, kernel), Is.EqualTo(expected), label);
    }

    [Test]
    public void ReferenceReproducesCatalogueValues()
    {
        // Guards the oracle itself: it must reproduce the spec's values independently.
        var bitSerial = new BitSerialCrc(Crc.Parameters);
        Assert.That(bitSerial.Compute(Encoding.ASCII.GetBytes("123456789")), Is.EqualTo(Crc.CheckValue));
        Assert.That(bitSerial.Compute(new byte[4096]), Is.EqualTo(Crc.KnownAnswers4KiB.Zeros));
    }

    [Test]
    public void TablePathMatchesBitSerialForEveryLength()
    {
        for (int length = 0; length <= SweepLengths; length++)
        {
            ulong actual = Crc.Update(0, _data.AsSpan(0, length), CrcKernel.Table);
            if (actual != _reference[length])
                Assert.Fail($"length {length}: 0x{actual:X} != reference 0x{_reference[length]:X}");
        }
    }

    [TestCaseSource(nameof(Kernels))]
    public void EveryLengthAndAlignmentMatchesReference(CrcKernel kernel)
    {
        RequireSupported(kernel);
        using var buffer = new AlignedBuffer(SweepLengths + Alignments);
        for (int alignment = 0; alignment < Alignments; alignment++)
        {
            Span<byte> placed = buffer.Span.Slice(alignment, SweepLengths);
            _data.CopyTo(placed);
            for (int length = 0; length <= SweepLengths; length++)
            {
                ulong actual = Crc.Update(0, placed[..length], kernel);
                if (actual != _reference[length])
                    Assert.Fail($"{kernel}, alignment {alignment}, length {length}: 0x{actual:X} != reference 0x{_reference[length]:X}");
            }
        }
    }

    [Test]
    public void DefaultPathMatchesReferenceForEveryLength()
    {
        for (int length = 0; length <= SweepLengths; length++)
        {
            Assert.That(Crc.Compute(_data.AsSpan(0, length)), Is.EqualTo(_reference[length]), $"Compute, length {length}");
            Assert.That(Crc.Update(0, _data.AsSpan(0, length)), Is.EqualTo(_reference[length]), $"Update, length {length}");
        }
    }

    [TestCaseSource(nameof(Kernels))]
    public void LongBuffersMatchReference(CrcKernel kernel)
    {
        RequireSupported(kernel);
        var random = new Random(42 + (int)kernel);
        Assert.That(Crc.Update(0, _long, kernel), Is.EqualTo(_longReference[LongLength]), "whole 1 MiB");
        for (int i = 0; i < 24; i++)
        {
            int start = random.Next(0, Alignments);
            int length = random.Next(0, LongLength - start + 1);
            // Buffers that do not start at 0 are checked through chaining from the prefix.
            ulong prefix = _longReference[start];
            ulong actual = Crc.Update(prefix, _long.AsSpan(start, length), kernel);
            Assert.That(actual, Is.EqualTo(_longReference[start + length]), $"start {start}, length {length}");
        }
    }

    [TestCaseSource(nameof(Kernels))]
    public void ChainedUpdatesMatchOneShot(CrcKernel kernel)
    {
        RequireSupported(kernel);
        var random = new Random(7 + (int)kernel);
        for (int trial = 0; trial < 400; trial++)
        {
            int length = trial < 200 ? random.Next(0, 300) : random.Next(0, SweepLengths + 1);
            int splits = random.Next(1, 9);
            var points = new List<int> { 0, length };
            for (int s = 0; s < splits; s++)
                points.Add(random.Next(0, length + 1));
            points.Sort();
            ulong crc = 0;
            for (int s = 0; s + 1 < points.Count; s++)
                crc = Crc.Update(crc, _data.AsSpan(points[s], points[s + 1] - points[s]), kernel);
            Assert.That(crc, Is.EqualTo(_reference[length]), $"length {length}, split at {string.Join(",", points)}");
        }
        Assert.That(Crc.Update(0, ReadOnlySpan<byte>.Empty, kernel), Is.EqualTo(_reference[0]), "Update(0, empty)");
    }

    private static readonly int[] s_blockLengths = [1, 7, 16, 64, 500, 512, 520, 4096, 4160];
    private static readonly int[] s_counts = [0, 1, 2, 3, 4, 5, 8, 17];

    [TestCaseSource(nameof(Kernels))]
    public void ComputeBlocksMatchesPerBlockCompute(CrcKernel kernel)
    {
        RequireSupported(kernel);
        var random = new Random(11);
        foreach (int blockLength in s_blockLengths)
        {
            foreach (int gap in new[] { 0, 8, 56, 64 })
            {
                int stride = blockLength + gap;
                foreach (int count in s_counts)
                {
                    int size = count == 0 ? 0 : (count - 1) * stride + blockLength;
                    byte[] source = new byte[size + 3];
                    random.NextBytes(source);
                    var crcs = new ulong[count];
                    // Offset 3: blocks deliberately not 16-byte aligned.
                    Crc.ComputeBlocks(source.AsSpan(3), blockLength, stride, crcs, kernel);
                    for (int i = 0; i < count; i++)
                    {
                        ulong expected = Crc.Update(0, source.AsSpan(3 + i * stride, blockLength), CrcKernel.Table);
                        if (crcs[i] != expected)
                            Assert.Fail($"{kernel}: block {i} of {count}, length {blockLength}, stride {stride}: 0x{crcs[i]:X} != 0x{expected:X}");
                    }
                }
            }
        }
    }

    [Test]
    public void ComputeBlocksOnDefaultPathMatchesPerBlockCompute()
    {
        byte[] source = new byte[64 * 520];
        new Random(5).NextBytes(source);
        var crcs = new ulong[64];
        Crc.ComputeBlocks(source, 512, 520, crcs, null);
        for (int i = 0; i < crcs.Length; i++)
            Assert.That(crcs[i], Is.EqualTo(Crc.Update(0, source.AsSpan(i * 520, 512), CrcKernel.Table)), $"block {i}");
    }

    [Test]
    public void ComputeBlocksRejectsStrideBelowBlockLength()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Crc.ComputeBlocks(new byte[4096], 512, 500, new ulong[2], null));
        Assert.That(ex!.ParamName, Is.EqualTo("stride"));
        Assert.That(ex.Message, Does.Contain("at least the block length (512)"));
    }

    [Test]
    public void ComputeBlocksRejectsNegativeBlockLength()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Crc.ComputeBlocks(new byte[16], -1, 16, new ulong[1], null));
        Assert.That(ex!.ParamName, Is.EqualTo("blockLength"));
    }

    [Test]
    public void ComputeBlocksRejectsSourceTooSmall()
    {
        var crcs = new ulong[3];
        Array.Fill(crcs, 0xDEADUL);
        var ex = Assert.Throws<ArgumentException>(() => Crc.ComputeBlocks(new byte[2 * 520 + 511], 512, 520, crcs, null));
        Assert.That(ex!.ParamName, Is.EqualTo("source"));
        Assert.That(ex.Message, Does.Contain("need 1552 bytes; the source has 1551"));
        Assert.That(crcs, Is.All.EqualTo(0xDEADUL), "nothing written on error");
    }

    [Test]
    public void ForcingAnUndefinedPathThrows()
    {
        foreach (CrcKernel kernel in Enum.GetValues<CrcKernel>())
        {
            if (Crc.DefinedKernels.Contains(kernel))
                continue;
            Assert.That(Crc.IsSupported(kernel), Is.False, kernel.ToString());
            var ex = Assert.Throws<PlatformNotSupportedException>(() => Crc.Update(0, new byte[64], kernel));
            Assert.That(ex!.Message, Does.Contain(kernel.ToString()));
            Assert.Throws<PlatformNotSupportedException>(() => Crc.ComputeBlocks(new byte[64], 16, 16, new ulong[4], kernel));
        }
    }

    [Test]
    public void AnUndefinedKernelValueIsAnArgumentError()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Crc.Update(0, new byte[64], (CrcKernel)99));
        Assert.That(ex!.ParamName, Is.EqualTo("kernel"));
        Assert.That(Crc.IsSupported((CrcKernel)99), Is.False);
    }

    [Test]
    public void DefaultKernelIsSupportedAndUsesTheWidestFolding()
    {
        // Which path is fastest is a benchmark question (pnvme crc --bench); what the
        // dispatch may pick is checked per CPU class in CrcDispatchTests.
        Assert.That(Crc.IsSupported(Crc.Kernel), Is.True);
        Assert.That(Crc.IsSupported(CrcKernel.Table), Is.True);
        CrcKernel widest = Enum.GetValues<CrcKernel>().Where(k => k is >= CrcKernel.Pclmul128 and <= CrcKernel.Vpclmul512 && Crc.IsSupported(k))
            .DefaultIfEmpty(CrcKernel.Table).Max();
        Assert.That(CrcDispatch.Describe()[0], Does.Contain(CrcDispatch.NameOf(widest)));
    }
}
