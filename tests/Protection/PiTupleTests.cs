using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>Tuple byte layouts, hand-encoded from PI.md §1-2 (big-endian fields).</summary>
public class PiTupleTests
{
    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", ""));

    private static IEnumerable<TestCaseData> KnownLayouts()
    {
        // 16b: bytes 0-1 guard, 2-3 app tag, 4-7 reference tag (STS 0).
        yield return new TestCaseData(PiGuardFormat.Guard16, 0, new PiTuple(0xABCD, 0x1234, 0, 0x89ABCDEF), "ABCD 1234 89ABCDEF")
            .SetName("16b STS 0");
        // 16b STS 8: the top byte of the 32-bit space is the storage tag.
        yield return new TestCaseData(PiGuardFormat.Guard16, 8, new PiTuple(0x0102, 0xFFFE, 0x5A, 0x123456), "0102 FFFE 5A123456")
            .SetName("16b STS 8");
        // 16b STS 32: the whole space is storage tag, no reference tag.
        yield return new TestCaseData(PiGuardFormat.Guard16, 32, new PiTuple(0x8B5D, 0x0000, 0xDEADBEEF, 0), "8B5D 0000 DEADBEEF")
            .SetName("16b STS 32");
        // 32b: 0-3 guard, 4-5 app, 6-15 80-bit space; STS 16 = bytes 6-7 storage, 8-15 64-bit reference tag.
        yield return new TestCaseData(PiGuardFormat.Guard32, 16, new PiTuple(0x11223344, 0x5566, 0xA1B2, 0x0102030405060708),
            "11223344 5566 A1B2 0102030405060708").SetName("32b STS 16");
        // 32b STS 64: storage tag = top 64 bits, reference tag = low 16 bits.
        yield return new TestCaseData(PiGuardFormat.Guard32, 64, new PiTuple(0x98F94189, 0x0001, 0xF0E1D2C3B4A59687, 0xBEEF),
            "98F94189 0001 F0E1D2C3B4A59687 BEEF").SetName("32b STS 64");
        // 64b: 0-7 guard, 8-9 app, 10-15 48-bit reference tag (STS 0).
        yield return new TestCaseData(PiGuardFormat.Guard64, 0, new PiTuple(0x6482D367EB22B64E, 0xCAFE, 0, 0x0000123456789ABC),
            "6482D367EB22B64E CAFE 123456789ABC").SetName("64b STS 0");
        // 64b STS 18, the spec example (PI.md §2): 18-bit storage tag 0x25A5A then 30-bit reference tag 0x12345678;
        // space = 0x25A5A << 30 | 0x12345678 = 0x969692345678, so CDW3[15:0] = 0x9696 and CDW14 = 0x92345678.
        yield return new TestCaseData(PiGuardFormat.Guard64, 18, new PiTuple(0x0102030405060708, 0x0A0B, 0x25A5A, 0x12345678),
            "0102030405060708 0A0B 969692345678").SetName("64b STS 18 spec split");
        yield return new TestCaseData(PiGuardFormat.Guard64, 18, new PiTuple(0, 0, 0x3FFFF, 0), "0000000000000000 0000 FFFFC0000000")
            .SetName("64b STS 18 storage all ones");
        // 64b STS 48: no reference tag.
        yield return new TestCaseData(PiGuardFormat.Guard64, 48, new PiTuple(1, 2, 0xFFFF_0000_FFFF, 0), "0000000000000001 0002 FFFF0000FFFF")
            .SetName("64b STS 48");
    }

    [TestCaseSource(nameof(KnownLayouts))]
    public void WriteProducesTheSpecifiedBytes(PiGuardFormat format, int sts, PiTuple tuple, string hex)
    {
        byte[] expected = Hex(hex);
        byte[] buffer = new byte[expected.Length + 3];
        buffer.AsSpan().Fill(0xEE);
        tuple.Write(buffer, format, sts);
        Assert.That(buffer[..expected.Length], Is.EqualTo(expected));
        Assert.That(buffer[expected.Length..], Is.All.EqualTo(0xEE), "nothing written past the tuple");
    }

    [TestCaseSource(nameof(KnownLayouts))]
    public void ReadDecodesTheSpecifiedBytes(PiGuardFormat format, int sts, PiTuple tuple, string hex)
        => Assert.That(PiTuple.Read(Hex(hex), format, sts), Is.EqualTo(tuple));

    [Test]
    public void WriteRejectsFieldsWiderThanTheirPlace()
    {
        byte[] buffer = new byte[16];
        Assert.That(() => new PiTuple(0x10000, 0, 0, 0).Write(buffer, PiGuardFormat.Guard16, 0),
            Throws.ArgumentException.With.Message.Contains("16-bit guard"));
        Assert.That(() => new PiTuple(0x1_0000_0000, 0, 0, 0).Write(buffer, PiGuardFormat.Guard32, 16),
            Throws.ArgumentException.With.Message.Contains("32-bit guard"));
        Assert.That(() => new PiTuple(0, 0, 0x40000, 0).Write(buffer, PiGuardFormat.Guard64, 18),
            Throws.ArgumentException.With.Message.Contains("STS = 18"));
        Assert.That(() => new PiTuple(0, 0, 0, 0x4000_0000).Write(buffer, PiGuardFormat.Guard64, 18),
            Throws.ArgumentException.With.Message.Contains("30 bits"));
        Assert.That(() => new PiTuple(0, 0, 1, 0).Write(buffer, PiGuardFormat.Guard16, 0),
            Throws.ArgumentException.With.Message.Contains("STS = 0"));
        Assert.That(buffer, Is.All.Zero, "a rejected write leaves the buffer alone");
    }

    [Test]
    public void ReadAndWriteRejectBadLayouts()
    {
        Assert.That(() => PiTuple.Read(new byte[15], PiGuardFormat.Guard64, 0),
            Throws.ArgumentException.With.Message.Contains("needs 16 bytes").And.Property("ParamName").EqualTo("tuple"));
        Assert.That(() => PiTuple.Read(new byte[8], PiGuardFormat.Guard16, 33),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("STS must be 0..32"));
        Assert.That(() => PiTuple.Read(new byte[16], PiGuardFormat.Guard32, 15),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("STS must be 16..64"));
        Assert.That(() => PiTuple.Read(new byte[16], PiGuardFormat.Guard64, 49),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("STS must be 0..48"));
        Assert.That(() => new PiTuple().Write(new byte[16], (PiGuardFormat)3, 0),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("PIF must be 0, 1 or 2"));
    }

    [Test]
    public void RandomTuplesRoundTripInEveryFormatAndSts()
    {
        var random = new Random(5);
        foreach (PiGuardFormat format in PiCases.Guards)
        {
            var c = new PiCase(format, PiType.Type1, 4096, 16, PiLocation.Last, 0, MetadataLayout.Interleaved);
            for (int sts = format == PiGuardFormat.Guard32 ? 16 : 0; sts <= Math.Min(64, c.SpaceBits); sts++)
            {
                var cs = c with { Sts = sts };
                var tuple = new PiTuple((ulong)random.NextInt64() & PiCase.Ones(cs.GuardBytes * 8), (ushort)random.Next(),
                    (ulong)random.NextInt64() * 3 & cs.StorageTagMask, (ulong)random.NextInt64() * 5 & cs.ReferenceTagMask);
                byte[] bytes = new byte[cs.TupleSize];
                tuple.Write(bytes, format, sts);
                Assert.That(PiTuple.Read(bytes, format, sts), Is.EqualTo(tuple), $"{format} STS {sts}");
                var reference = ReferenceTuple.Decode(cs, bytes);
                Assert.That(reference, Is.EqualTo(new ReferenceTuple(tuple.Guard, tuple.ApplicationTag, tuple.StorageTag, tuple.ReferenceTag)));
            }
        }
    }
}
