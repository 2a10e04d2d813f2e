using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>PRINFO/STC and the CDW2/CDW3/CDW14 tag split, hand-encoded from PI.md §2 and §4.</summary>
public class PiCommandFieldsTests
{
    [TestCase(0x0, false, PiChecks.None)]
    [TestCase(0x4, false, PiChecks.Guard)]
    [TestCase(0x2, false, PiChecks.ApplicationTag)]
    [TestCase(0x1, false, PiChecks.ReferenceTag)]
    [TestCase(0x7, true, PiChecks.All)]
    [TestCase(0xD, false, PiChecks.Guard | PiChecks.ReferenceTag)] // PRACT does not change the checks
    [TestCase(0x8, true, PiChecks.StorageTag)]
    public void PrinfoAndStcMapToChecks(int prinfo, bool stc, PiChecks checks)
    {
        Assert.That(PiCommandFields.ChecksFromPrinfo(prinfo, stc), Is.EqualTo(checks));
        Assert.That(PiCommandFields.PrinfoFromChecks(checks, (prinfo & 8) != 0), Is.EqualTo(prinfo));
    }

    [Test]
    public void PrinfoIsFourBits()
        => Assert.That(() => PiCommandFields.ChecksFromPrinfo(0x10, false),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("4-bit field"));

    // (guard, STS, LBST, ILBRT) -> (CDW2, CDW3, CDW14).
    [TestCase(PiGuardFormat.Guard16, 0, 0UL, 0x89ABCDEFUL, 0u, 0u, 0x89ABCDEFu)]
    [TestCase(PiGuardFormat.Guard16, 8, 0x5AUL, 0x123456UL, 0u, 0u, 0x5A123456u)]
    [TestCase(PiGuardFormat.Guard16, 32, 0xDEADBEEFUL, 0UL, 0u, 0u, 0xDEADBEEFu)]
    [TestCase(PiGuardFormat.Guard32, 16, 0xA1B2UL, 0x0102030405060708UL, 0xA1B2u, 0x01020304u, 0x05060708u)]
    [TestCase(PiGuardFormat.Guard32, 64, 0xF0E1D2C3B4A59687UL, 0xBEEFUL, 0xF0E1u, 0xD2C3B4A5u, 0x9687BEEFu)]
    [TestCase(PiGuardFormat.Guard64, 0, 0UL, 0x123456789ABCUL, 0u, 0x1234u, 0x56789ABCu)]
    // Spec example, 64b STS 18: CDW3[15:0] = upper 16 bits of LBST, CDW14[31:30] = its low 2 bits, CDW14[29:0] = ILBRT.
    [TestCase(PiGuardFormat.Guard64, 18, 0x25A5AUL, 0x12345678UL, 0u, 0x9696u, 0x92345678u)]
    public void TagsSplitOverTheCommandDwords(PiGuardFormat guard, int sts, ulong storageTag, ulong referenceTag, uint cdw2, uint cdw3, uint cdw14)
    {
        var format = new ProtectionFormat(4096, 16, guard, PiType.Type1, storageTagSize: sts);
        PiCommandFields.PackTags(format, storageTag, referenceTag, out uint packed2, out uint packed3, out uint packed14);
        Assert.That((packed2, packed3, packed14), Is.EqualTo((cdw2, cdw3, cdw14)));
        PiCommandFields.UnpackTags(format, cdw2, cdw3, cdw14, out ulong unpackedStorage, out ulong unpackedReference);
        Assert.That((unpackedStorage, unpackedReference), Is.EqualTo((storageTag, referenceTag)));
    }

    [Test]
    public void UnpackIgnoresTheBitsTheSpecIgnores()
    {
        var g16 = new ProtectionFormat(512, 8, PiGuardFormat.Guard16, PiType.Type1);
        PiCommandFields.UnpackTags(g16, 0xFFFF_FFFF, 0xFFFF_FFFF, 0x11223344, out ulong storage, out ulong reference);
        Assert.That((storage, reference), Is.EqualTo((0UL, 0x11223344UL)));
        var g64 = new ProtectionFormat(4096, 16, PiGuardFormat.Guard64, PiType.Type1);
        PiCommandFields.UnpackTags(g64, 0xFFFF_FFFF, 0xABCD_0001, 0x00000002, out storage, out reference);
        Assert.That((storage, reference), Is.EqualTo((0UL, 0x0001_0000_0002UL)));
        var g32 = new ProtectionFormat(4096, 16, PiGuardFormat.Guard32, PiType.Type1, storageTagSize: 16);
        PiCommandFields.UnpackTags(g32, 0xFFFF_0001, 0, 0, out storage, out reference);
        Assert.That((storage, reference), Is.EqualTo((1UL, 0UL)), "CDW2[31:16] is not part of the 80-bit space");
    }

    [Test]
    public void PackRejectsTagsWiderThanTheirFields()
    {
        var format = new ProtectionFormat(4096, 16, PiGuardFormat.Guard64, PiType.Type1, storageTagSize: 18);
        Assert.That(() => PiCommandFields.PackTags(format, 0x40000, 0, out _, out _, out _),
            Throws.ArgumentException.With.Message.Contains("18-bit storage tag").And.Property("ParamName").EqualTo("storageTag"));
        Assert.That(() => PiCommandFields.PackTags(format, 0, 0x4000_0000, out _, out _, out _),
            Throws.ArgumentException.With.Message.Contains("30-bit reference tag").And.Property("ParamName").EqualTo("referenceTag"));
    }
}
