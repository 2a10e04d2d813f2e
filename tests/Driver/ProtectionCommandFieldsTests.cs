using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Driver;

/// <summary>Storage/reference tag placement in CDW2/CDW3/CDW14 (PI.md §2; NVM CS 1.2 Figs 156-165).</summary>
public class ProtectionCommandFieldsTests
{
    [Test]
    public void SpecExample64bGuardSts18()
    {
        // PI.md §2: "CDW3[15:0] holds the upper 16 bits of LBST, CDW14[31:30] the low 2 bits of LBST, CDW14[29:0] the ILBRT."
        const ulong lbst = 0b10_0110_1010_0101_1101;      // 18 bits
        const ulong ilbrt = 0x2ABC_DEF1;                    // 30 bits
        ProtectionCommandFields.Encode(PiGuardFormat.Guard64, 18, ilbrt, lbst, out uint cdw2, out uint cdw3, out uint cdw14);
        Assert.That(cdw3 & 0xFFFF, Is.EqualTo((uint)(lbst >> 2)));
        Assert.That(cdw3 >> 16, Is.Zero, "CDW3[31:16] is ignored for 64b: left zero");
        Assert.That(cdw14 >> 30, Is.EqualTo((uint)(lbst & 3)));
        Assert.That(cdw14 & 0x3FFF_FFFF, Is.EqualTo((uint)ilbrt));
        Assert.That(cdw2, Is.Zero);
    }

    [Test]
    public void Guard64NoStorageTagPutsTheUpper16ReferenceBitsInCdw3()
    {
        ProtectionCommandFields.Encode(PiGuardFormat.Guard64, 0, 0xBEEF_1234_5678, 0, out uint cdw2, out uint cdw3, out uint cdw14);
        Assert.That((cdw2, cdw3, cdw14), Is.EqualTo((0u, 0xBEEFu, 0x1234_5678u)));
    }

    [Test]
    public void Guard16UsesCdw14Only()
    {
        ProtectionCommandFields.Encode(PiGuardFormat.Guard16, 8, 0x12_3456, 0xAB, out uint cdw2, out uint cdw3, out uint cdw14);
        Assert.That((cdw2, cdw3, cdw14), Is.EqualTo((0u, 0u, 0xAB12_3456u)));
    }

    [Test]
    public void Guard32SpreadsEightyBitsOverCdw2Cdw3Cdw14()
    {
        // STS 16: storage tag is bits 79:64 (CDW2[15:0]); the 64-bit reference tag fills CDW3:CDW14.
        ProtectionCommandFields.Encode(PiGuardFormat.Guard32, 16, 0x0123_4567_89AB_CDEF, 0xCAFE, out uint cdw2, out uint cdw3, out uint cdw14);
        Assert.That((cdw2, cdw3, cdw14), Is.EqualTo((0xCAFEu, 0x0123_4567u, 0x89AB_CDEFu)));
        // STS 40: storage tag bits 79:40, reference tag bits 39:0.
        ProtectionCommandFields.Encode(PiGuardFormat.Guard32, 40, 0xAB_1234_5678, 0x80_0000_0001, out cdw2, out cdw3, out cdw14);
        UInt128 space = ((UInt128)0x80_0000_0001 << 40) | 0xAB_1234_5678;
        Assert.That((cdw2, cdw3, cdw14), Is.EqualTo(((uint)(space >> 64), (uint)(space >> 32), (uint)space)));
    }

    [Test]
    public void TagsThatDoNotFitTheirBitsAreRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ProtectionCommandFields.Encode(PiGuardFormat.Guard64, 18, 1UL << 30, 0, out _, out _, out _));
        Assert.That(e!.Message, Does.Contain("reference tag").And.Contain("30 bits"));
        e = Assert.Throws<ArgumentOutOfRangeException>(() => ProtectionCommandFields.Encode(PiGuardFormat.Guard16, 0, 0, 1, out _, out _, out _));
        Assert.That(e!.Message, Does.Contain("storage tag").And.Contain("0 bits"));
        Assert.Throws<ArgumentOutOfRangeException>(() => ProtectionCommandFields.Encode(PiGuardFormat.Guard64, 49, 0, 0, out _, out _, out _));
    }
}
