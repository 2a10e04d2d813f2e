using System.IO.Hashing;
using System.Runtime.Intrinsics.X86;
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

    [TestCaseSource(nameof(Kernels))]
    public void BuffersPastAMebibyteAgreeWithSystemIoHashing(CrcKernel kernel)
    {
        // The hybrid kernels take buffers over 1 MiB in 1 MiB pieces computed from zero and
        // shifted into place (far shift constants); lengths around each piece boundary, and a
        // chained update that starts and ends mid-piece.
        RequireSupported(kernel);
        const int MiB = 1 << 20;
        byte[] data = new byte[3 * MiB + 4099];
        new Random(13).NextBytes(data);
        foreach (int length in new[] { MiB - 1, MiB, MiB + 1, MiB + 700, MiB + 4096, 2 * MiB + 333, 3 * MiB + 4099 })
        {
            ReadOnlySpan<byte> span = data.AsSpan(0, length);
            Assert.That(Crc32C.Update(0, span, kernel), Is.EqualTo(Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, span)), $"length {length}");
        }
        uint chained = Crc32C.Update(0, data.AsSpan(0, 12345), kernel);
        chained = Crc32C.Update(chained, data.AsSpan(12345, 2 * MiB + 77), kernel);
        chained = Crc32C.Update(chained, data.AsSpan(12345 + 2 * MiB + 77), kernel);
        Assert.That(chained, Is.EqualTo(Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data)), "chained");
    }

    [Test]
    public void StreamsOfEveryShapeAgreeWithSystemIoHashing()
    {
        // The crc32 stream path with three streams (one crc32 per cycle) and six (two per
        // cycle), whichever this CPU dispatches to: every length up to two six-stream rounds
        // of short segments (words short of a multiple of the streams go ahead of stream 0,
        // the bytes past whole words go first), odd start addresses, lengths around a round
        // of the longest segment (256 words per stream), and chained updates across rounds.
        if (!Sse42.X64.IsSupported)
            Assert.Ignore("no crc32 instruction on this CPU.");
        byte[] data = new byte[3 * 6 * 256 * 8 + 4099 + 1];
        new Random(21).NextBytes(data);
        Check<SixByFive>(data);
        Check<ThreeByFive>(data);

        static void Check<TShape>(byte[] data) where TShape : struct, ICrc32CHybridShape
        {
            string shape = $"{TShape.Streams} streams";
            for (int length = 0; length <= 1200; length++)
                for (int offset = 0; offset < 8; offset += length % 3 == 0 ? 1 : 7)
                    Expect<TShape>(data.AsSpan(offset, length));
            int round = TShape.Streams * 256 * 8;
            foreach (int length in new[] { round - 1, round, round + 7, round + 8 * 23 + 5, round + 8 * 24, 2 * round + 8 * TShape.Streams * 4 - 8, 3 * round + 4099 })
                Expect<TShape>(data.AsSpan(1, length));
            uint chained = Crc32CInstruction.Update<TShape>(~0u, data.AsSpan(0, 777));
            chained = Crc32CInstruction.Update<TShape>(chained, data.AsSpan(777, round + 333));
            chained = Crc32CInstruction.Update<TShape>(chained, data.AsSpan(777 + round + 333));
            Assert.That(~chained, Is.EqualTo(Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data)), $"{shape}, chained");
        }

        static void Expect<TShape>(ReadOnlySpan<byte> span) where TShape : struct, ICrc32CHybridShape
        {
            uint expected = Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, span);
            uint actual = ~Crc32CInstruction.Update<TShape>(~0u, span);
            if (actual != expected)
                Assert.Fail($"{TShape.Streams} streams, length {span.Length}: {actual:x8}, expected {expected:x8}");
        }
    }

    [Test]
    public unsafe void HybridOfEveryShapeAndWidthAgreesWithSystemIoHashing()
    {
        // Every shape (three streams leave a head that depends on the words per stream; six do
        // not) at every register width this CPU runs, not only the shape its dispatch picked:
        // lengths from one loop iteration through three, every remainder mod 16, odd addresses.
        if (!Sse42.X64.IsSupported || !Pclmulqdq.IsSupported)
            Assert.Ignore("the hybrid kernels need crc32 and PCLMULQDQ.");
        byte[] data = new byte[3 * 1024 + 64];
        new Random(34).NextBytes(data);
        fixed (byte* start = data)
        {
            Check<FoldWidth128, System.Runtime.Intrinsics.Vector128<ulong>>(start, data);
            if (Pclmulqdq.V256.IsSupported && Avx2.IsSupported)
                Check<FoldWidth256, System.Runtime.Intrinsics.Vector256<ulong>>(start, data);
            if (Pclmulqdq.V512.IsSupported && Avx512BW.IsSupported)
                Check<FoldWidth512, System.Runtime.Intrinsics.Vector512<ulong>>(start, data);
        }

        static void Check<TWidth, TVector>(byte* start, byte[] data)
            where TWidth : struct, ICrcFoldWidth<TVector>
            where TVector : struct
        {
            Shape<TWidth, TVector, SixByFive>(start, data);
            Shape<TWidth, TVector, ThreeByFive>(start, data);
            Shape<TWidth, TVector, ThreeByTwo>(start, data);
        }

        static void Shape<TWidth, TVector, TShape>(byte* start, byte[] data)
            where TWidth : struct, ICrcFoldWidth<TVector>
            where TVector : struct
            where TShape : struct, ICrc32CHybridShape
        {
            int iteration = Crc32CHybridShape.Of<TShape>().IterationBytes(TWidth.Bytes);
            for (int length = iteration; length <= Math.Min(3 * iteration, data.Length - 8); length += length < iteration + 64 ? 1 : 13)
            {
                int offset = length % 5;
                uint expected = Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data.AsSpan(offset, length));
                uint actual = ~Crc32CHybrid.Update<TWidth, TVector, TShape>(~0u, start + offset, length, Crc32CParameters.Constants);
                if (actual != expected)
                    Assert.Fail($"{TWidth.Bytes * 8}-bit, {Crc32CHybridShape.Of<TShape>()}, length {length} at +{offset}: {actual:x8}, expected {expected:x8}");
            }
        }
    }

    [Test]
    public void HybridWordsPerStreamFollowTheLoopProportionAndLeaveWholeRegisters()
    {
        // The words per stream come from a rounded-down reciprocal: never above the exact
        // proportion (which could leave the folding less than four registers); with six
        // streams they step down further, by less than a register's lanes, until the folded
        // part is whole registers. Every length a piece can have, every shape and width.
        Widths<SixByFive>();
        Widths<ThreeByFive>();
        Widths<ThreeByTwo>();

        static void Widths<TShape>() where TShape : struct, ICrc32CHybridShape
        {
            Check<FoldWidth512, System.Runtime.Intrinsics.Vector512<ulong>, TShape>();
            Check<FoldWidth256, System.Runtime.Intrinsics.Vector256<ulong>, TShape>();
            Check<FoldWidth128, System.Runtime.Intrinsics.Vector128<ulong>, TShape>();
        }

        static void Check<TWidth, TVector, TShape>()
            where TWidth : struct, ICrcFoldWidth<TVector>
            where TVector : struct
            where TShape : struct, ICrc32CHybridShape
        {
            int iteration = Crc32CHybridShape.Of<TShape>().IterationBytes(TWidth.Bytes);
            bool even = TShape.Streams % 2 == 0;
            for (int length = iteration; length <= (1 << 20) + iteration; length += length < 64 * 1024 ? 1 : 7)
            {
                int words = Crc32CHybrid.WordsFor<TWidth, TVector, TShape>(length);
                long exact = (long)length * TShape.WordsPerFold / iteration;
                long bound = Math.Min(exact, (length - 4 * TWidth.Bytes) / (8 * TShape.Streams));
                long lowest = bound - 1 - (even ? TWidth.Lanes - 1 : 0);
                int foldedLanes = (length >> 4) - TShape.Streams / 2 * words;
                if (words > bound || words < Math.Max(0, lowest) || (even && foldedLanes % TWidth.Lanes != 0))
                    Assert.Fail($"{TWidth.Bytes * 8}-bit, {Crc32CHybridShape.Of<TShape>()}, length {length}: {words} words per stream; "
                        + $"exact {exact}, bound {bound}, {foldedLanes} lanes folded");
            }
        }
    }

    [Test]
    public void ShortBuffersUseTheInstructionWhereAvailable()
    {
        Assert.That(Crc32C.IsSupported(Crc32C.ShortBufferKernel), Is.True);
        if (Crc32C.IsSupported(CrcKernel.Sse42))
            Assert.That(Crc32C.ShortBufferKernel, Is.EqualTo(CrcKernel.Sse42));
        Assert.That(Crc32C.KernelFor(Math.Max(0, Crc32C.ShortBufferLimit - 1)), Is.EqualTo(Crc32C.ShortBufferKernel));
    }

    [Test]
    public void EveryLengthClassTakesASupportedPathAndLongBuffersTheLongPath()
    {
        foreach (int length in new[] { 0, 1, 15, 16, 63, 64, 255, 256, 511, 512, 1023, 1024, 2047, 2048, 4096, 1 << 20, int.MaxValue })
            Assert.That(Crc32C.IsSupported(Crc32C.KernelFor(length)), Is.True, $"length {length}: {Crc32C.KernelFor(length)}");
        Assert.That(Crc32C.KernelFor(int.MaxValue), Is.EqualTo(Crc32C.Kernel));
    }

    [Test]
    public void ComputeBlocksOnEveryPathAgreesWithSystemIoHashing()
    {
        // Hybrid paths run whole rounds of blocks (four folded, the rest on crc32 streams) and
        // finish the remainder by folding: counts around a round, PI-like strides.
        var random = new Random(12);
        foreach (CrcKernel kernel in Kernels())
        {
            if (!Crc32C.IsSupported(kernel))
                continue;
            // Odd lengths: the crc32 path's per-block tails; 3-5 blocks: one group of three and a remainder.
            foreach (int blockLength in new[] { 1, 13, 32, 100, 512, 4096 })
                foreach (int count in new[] { 3, 5, 6, 7, 9, 10, 11, 20, 23 })
                {
                    int stride = blockLength + 8;
                    byte[] source = new byte[(count - 1) * stride + blockLength];
                    random.NextBytes(source);
                    var crcs = new uint[count];
                    Crc32C.ComputeBlocks(source, blockLength, stride, crcs, kernel);
                    for (int i = 0; i < count; i++)
                        if (crcs[i] != Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, source.AsSpan(i * stride, blockLength)))
                            Assert.Fail($"{kernel}: block {i} of {count}, length {blockLength}");
                }
        }
    }
}

public sealed class Crc32CUnderTest : ICrcUnderTest
{
    public string Name => "CRC-32C";
    public CrcReferenceParameters Parameters => new(32, 0x1EDC6F41, 0xFFFFFFFF, true, 0xFFFFFFFF);
    public ulong CheckValue => 0xE3069283;
    public (ulong Zeros, ulong Ones, ulong Incrementing, ulong Decrementing) KnownAnswers4KiB => (0x98F94189, 0x25C1FE13, 0x9C71FE32, 0x214941A8);
    public IEnumerable<(string Label, byte[] Data, ulong Expected)> ExtraKnownAnswers => [("512 zero bytes", new byte[512], 0x30FCEDC0)];
    public IReadOnlyList<CrcKernel> DefinedKernels => [CrcKernel.Table, CrcKernel.Sse42, CrcKernel.Pclmul128, CrcKernel.Vpclmul256, CrcKernel.Vpclmul512, CrcKernel.Hybrid128, CrcKernel.Hybrid256, CrcKernel.Hybrid512];
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
