using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>
/// The software carry-less multiply that combines the crc32 streams where PCLMULQDQ is
/// missing: against the bit-serial definition and, where the CPU has it, the instruction.
/// </summary>
public class Crc32CShiftsTests
{
    private static ulong BitSerial(uint a, uint b)
    {
        ulong r = 0;
        for (int i = 0; i < 32; i++)
            if (((b >> i) & 1) != 0)
                r ^= (ulong)a << i;
        return r;
    }

    private static IEnumerable<(uint A, uint B)> Operands()
    {
        // The extremes, where every bit class is full (the most partial products per position).
        uint[] edges = [0, 1, 0x80000000, 0xFFFFFFFF, 0x11111111, 0x88888888, 0xAAAAAAAA, 0x55555555, 0x82F63B78];
        foreach (uint a in edges)
            foreach (uint b in edges)
                yield return (a, b);
        var random = new Random(32);
        for (int i = 0; i < 20_000; i++)
            yield return ((uint)random.NextInt64(0, 1L << 32), (uint)random.NextInt64(0, 1L << 32));
    }

    [Test]
    public void SoftwareProductIsTheCarrylessProduct()
    {
        foreach ((uint a, uint b) in Operands())
        {
            ulong expected = BitSerial(a, b);
            if (Crc32CShifts.SoftwareProduct(a, b) != expected)
                Assert.Fail($"{a:x8} * {b:x8}: {Crc32CShifts.SoftwareProduct(a, b):x16}, expected {expected:x16}");
            if (Pclmulqdq.IsSupported
                && Pclmulqdq.CarrylessMultiply(Vector128.CreateScalar((ulong)a), Vector128.CreateScalar((ulong)b), 0).ToScalar() != expected)
                Assert.Fail($"{a:x8} * {b:x8}: PCLMULQDQ disagrees with the bit-serial product (test reference broken)");
        }
    }

    [Test]
    public void TableProductIsTheProductForEveryStreamDistanceOfATableSegment()
    {
        // Without PCLMULQDQ the streams of segments under 24 words combine with byte tables:
        // every segment length rounds to one that has tables, and each table product (k · w
        // words, k = 1..5) reduces to the register moved by the software product.
        for (int words = 4; words < 24; words++)
        {
            int segment = Crc32CShifts.TableSegmentWords(words);
            Assert.That(Crc32CShifts.TableSegments.ToArray(), Does.Contain(segment), $"{words} words");
            Assert.That(segment, Is.LessThanOrEqualTo(words), $"{words} words");
        }
        var random = new Random(33);
        foreach (int w in Crc32CShifts.TableSegments)
            for (int k = 1; k <= 5; k++)
                for (int i = 0; i < 2000; i++)
                {
                    uint register = i < 4 ? new uint[] { 0, 1, 0x80000000, 0xFFFFFFFF }[i] : (uint)random.NextInt64(0, 1L << 32);
                    ulong expected = Crc32CShifts.SoftwareProduct(register, (uint)Crc32CShifts.Words(k * w));
                    if (Crc32CShifts.TableProduct(register, k * w) != expected)
                        Assert.Fail($"{register:x8} over {k} x {w} words: {Crc32CShifts.TableProduct(register, k * w):x16}, expected {expected:x16}");
                }
    }
}
