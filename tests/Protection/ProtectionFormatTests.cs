using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>Derived sizes of a format, and one rejection test per validation rule.</summary>
public class ProtectionFormatTests
{
    [TestCase(512, 8, PiGuardFormat.Guard16, PiLocation.Last, 0, 8, 0, 32)]
    [TestCase(512, 64, PiGuardFormat.Guard16, PiLocation.Last, 16, 8, 56, 16)]
    [TestCase(512, 64, PiGuardFormat.Guard16, PiLocation.First, 32, 8, 0, 0)]
    [TestCase(4096, 16, PiGuardFormat.Guard32, PiLocation.Last, 16, 16, 0, 64)]
    [TestCase(4096, 64, PiGuardFormat.Guard32, PiLocation.Last, 64, 16, 48, 16)]
    [TestCase(4096, 16, PiGuardFormat.Guard64, PiLocation.Last, 0, 16, 0, 48)]
    [TestCase(65536, 128, PiGuardFormat.Guard64, PiLocation.First, 18, 16, 0, 30)]
    public void DerivedSizesFollowThePiLayout(int blockSize, int metadataSize, PiGuardFormat guard, PiLocation location, int sts,
        int tupleSize, int tupleOffset, int referenceTagBits)
    {
        var format = new ProtectionFormat(blockSize, metadataSize, guard, PiType.Type1, location, sts);
        Assert.That(format.TupleSize, Is.EqualTo(tupleSize));
        Assert.That(format.TupleOffset, Is.EqualTo(tupleOffset));
        Assert.That(format.ReferenceTagBits, Is.EqualTo(referenceTagBits));
        Assert.That(format.ReferenceTagMask, Is.EqualTo(PiCase.Ones(referenceTagBits)));
        Assert.That(format.StorageTagMask, Is.EqualTo(PiCase.Ones(sts)));
        Assert.That(format.ExtendedBlockSize, Is.EqualTo(blockSize + metadataSize));
        Assert.That(format.HasProtection, Is.True);
    }

    [Test]
    public void BufferSizesFollowTheLayout()
    {
        var interleaved = new ProtectionFormat(4096, 8, PiGuardFormat.Guard16, PiType.Type1);
        Assert.That((interleaved.DataBytes(3), interleaved.MetadataBytes(3)), Is.EqualTo((3 * 4104, 0)));
        var separate = new ProtectionFormat(4096, 8, PiGuardFormat.Guard16, PiType.Type1, layout: MetadataLayout.Separate);
        Assert.That((separate.DataBytes(3), separate.MetadataBytes(3)), Is.EqualTo((3 * 4096, 24)));
        Assert.That(() => separate.DataBytes(-1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("must not be negative"));
        Assert.That(() => interleaved.DataBytes(1 << 20), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("exceed"));
    }

    [Test]
    public void TypeNoneMeansNoTupleAndNoTags()
    {
        var format = new ProtectionFormat(512, 16, PiGuardFormat.Guard16, PiType.None, PiLocation.First);
        Assert.That((format.HasProtection, format.TupleSize, format.TupleOffset, format.ReferenceTagBits), Is.EqualTo((false, 0, 0, 0)));
        Assert.That((format.ReferenceTagMask, format.StorageTagMask), Is.EqualTo((0UL, 0UL)));
        Assert.That(new ProtectionFormat(4096, 0, PiGuardFormat.Guard16, PiType.None).ExtendedBlockSize, Is.EqualTo(4096));
    }

    private static IEnumerable<TestCaseData> InvalidFormats()
    {
        TestCaseData Case(string name, Func<ProtectionFormat> create, string parameter, string rule)
            => new TestCaseData(create, parameter, rule).SetName($"Rejects {name}");
        yield return Case("block size 256", () => new(256, 8, PiGuardFormat.Guard16, PiType.Type1), "blockSize", "power of two from 512 to 65536");
        yield return Case("block size 131072", () => new(131072, 8, PiGuardFormat.Guard16, PiType.Type1), "blockSize", "power of two from 512 to 65536");
        yield return Case("block size 520", () => new(520, 8, PiGuardFormat.Guard16, PiType.Type1), "blockSize", "power of two from 512 to 65536");
        yield return Case("negative metadata", () => new(512, -1, PiGuardFormat.Guard16, PiType.None), "metadataSize", "LBAF.MS is 16 bits");
        yield return Case("metadata 65536", () => new(512, 65536, PiGuardFormat.Guard16, PiType.Type1), "metadataSize", "LBAF.MS is 16 bits");
        yield return Case("PIF 3", () => new(4096, 16, (PiGuardFormat)3, PiType.Type1), "guardFormat", "PIF must be 0, 1 or 2");
        yield return Case("DPS 4", () => new(4096, 16, PiGuardFormat.Guard16, (PiType)4), "type", "DPS[2:0] must be 0..3");
        yield return Case("PIL 2", () => new(4096, 16, PiGuardFormat.Guard16, PiType.Type1, (PiLocation)2), "location", "PIL must be 0 or 1");
        yield return Case("layout 2", () => new(4096, 16, PiGuardFormat.Guard16, PiType.Type1, layout: (MetadataLayout)2), "layout", "Unknown metadata layout");
        yield return Case("16b PI in 7 bytes", () => new(512, 7, PiGuardFormat.Guard16, PiType.Type1), "metadataSize", "at least 8 metadata bytes");
        yield return Case("16b PI without metadata", () => new(512, 0, PiGuardFormat.Guard16, PiType.Type3), "metadataSize", "at least 8 metadata bytes");
        yield return Case("64b PI in 8 bytes", () => new(4096, 8, PiGuardFormat.Guard64, PiType.Type1), "metadataSize", "at least 16 metadata bytes");
        yield return Case("32b PI in 15 bytes", () => new(4096, 15, PiGuardFormat.Guard32, PiType.Type2), "metadataSize", "at least 16 metadata bytes");
        yield return Case("64b guard on 512 B blocks", () => new(512, 16, PiGuardFormat.Guard64, PiType.Type1), "blockSize", "at least 4096 bytes");
        yield return Case("32b guard on 2 KiB blocks", () => new(2048, 16, PiGuardFormat.Guard32, PiType.Type1), "blockSize", "at least 4096 bytes");
        yield return Case("16b STS 33", () => new(512, 8, PiGuardFormat.Guard16, PiType.Type1, storageTagSize: 33), "storageTagSize", "must be 0..32");
        yield return Case("16b STS -1", () => new(512, 8, PiGuardFormat.Guard16, PiType.Type1, storageTagSize: -1), "storageTagSize", "must be 0..32");
        yield return Case("32b STS 15", () => new(4096, 16, PiGuardFormat.Guard32, PiType.Type1, storageTagSize: 15), "storageTagSize", "must be 16..64");
        yield return Case("32b STS 0", () => new(4096, 16, PiGuardFormat.Guard32, PiType.Type1), "storageTagSize", "must be 16..64");
        yield return Case("32b STS 65", () => new(4096, 16, PiGuardFormat.Guard32, PiType.Type1, storageTagSize: 65), "storageTagSize", "must be 16..64");
        yield return Case("64b STS 49", () => new(4096, 16, PiGuardFormat.Guard64, PiType.Type1, storageTagSize: 49), "storageTagSize", "must be 0..48");
        yield return Case("no PI with 64b guard", () => new(4096, 16, PiGuardFormat.Guard64, PiType.None), "guardFormat", "PiType.None means no protection information");
        yield return Case("no PI with STS", () => new(4096, 16, PiGuardFormat.Guard16, PiType.None, storageTagSize: 8), "storageTagSize", "STS must be 0");
    }

    [TestCaseSource(nameof(InvalidFormats))]
    public void InvalidFormatIsRejectedNamingTheRule(Func<ProtectionFormat> create, string parameter, string rule)
        => Assert.That(() => create(), Throws.ArgumentException.With.Message.Contains(rule).And.Property("ParamName").EqualTo(parameter));
}
