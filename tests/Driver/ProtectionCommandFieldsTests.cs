using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>PI fields of commands built by the driver (PI.md §2, §4; NVM CS 1.2 Figs 156-165).</summary>
public class ProtectionCommandFieldsTests
{
    /// <summary>A namespace with one LBA format, as Identify (CNS 00h + 05h) would describe it.</summary>
    private static Namespace NamespaceWith(int blockSize, int ms, PiGuardFormat guard, PiType type, int sts, ulong lbstm = ulong.MaxValue)
    {
        var identify = new IdentifyNamespace { Nsze = 1 << 20, Nlbaf = 0, Dps = (byte)type };
        identify.SetLbaFormat(0, LbaFormat.Create(ms, int.Log2(blockSize)));
        identify.SetFormatIndex(0, extendedMetadata: true);
        var nvm = new NvmIdentifyNamespace { Lbstm = lbstm };
        nvm.SetExtendedLbaFormat(0, ExtendedLbaFormat.Create(sts, (int)guard));
        return new Namespace(null!, 1, identify, nvm, extendedFormatsEnabled: true);   // no controller: only the command fields are built
    }

    [Test]
    public void SpecExample64bGuardSts18()
    {
        // PI.md §2: "CDW3[15:0] holds the upper 16 bits of LBST, CDW14[31:30] the low 2 bits of LBST, CDW14[29:0] the ILBRT."
        const ulong lbst = 0b10_0110_1010_0101_1101;      // 18 bits
        const ulong ilbrt = 0x2ABC_DEF1;                    // 30 bits
        Namespace ns = NamespaceWith(4096, 16, PiGuardFormat.Guard64, PiType.Type2, 18);
        var pi = new IoProtectionOptions { Checks = PiChecks.All, ReferenceTag = ilbrt, StorageTag = lbst, ApplicationTag = 0xABCD, ApplicationTagMask = 0x0FF0 };
        var cmd = new SubmissionEntry { Cdw12 = 7 };
        ProtectionCommandFields.Apply(ns, in pi, slba: 123, ref cmd);
        Assert.That(cmd.Cdw3 & 0xFFFF, Is.EqualTo((uint)(lbst >> 2)));
        Assert.That(cmd.Cdw3 >> 16, Is.Zero, "CDW3[31:16] is ignored for 64b: left zero");
        Assert.That(cmd.Cdw14 >> 30, Is.EqualTo((uint)(lbst & 3)));
        Assert.That(cmd.Cdw14 & 0x3FFF_FFFF, Is.EqualTo((uint)ilbrt));
        Assert.That(cmd.Cdw2, Is.Zero);
        // PRINFO = 0111b (no PRACT, guard/app/ref) at CDW12[29:26], STC at bit 24, NLB untouched; LBAT/LBATM in CDW15.
        Assert.That(cmd.Cdw12, Is.EqualTo((0x7u << 26) | (1u << 24) | 7u));
        Assert.That(cmd.Cdw15, Is.EqualTo(0x0FF0_ABCDu));
    }

    [Test]
    public void Type1DefaultsTheReferenceTagToTheLowBitsOfTheSlba()
    {
        Namespace ns16 = NamespaceWith(512, 8, PiGuardFormat.Guard16, PiType.Type1, 0);
        var cmd = new SubmissionEntry();
        var pract = IoProtectionOptions.ControllerInserts();
        ProtectionCommandFields.Apply(ns16, in pract, slba: 0x1_2345_6789, ref cmd);
        Assert.That((cmd.Cdw2, cdw3: cmd.Cdw3, cmd.Cdw14), Is.EqualTo((0u, 0u, 0x2345_6789u)), "32-bit reference tag: SLBA bits 31:0");
        Assert.That(cmd.Cdw12 >> 26, Is.EqualTo(0b1101u), "PRACT + guard + ref");

        Namespace ns64 = NamespaceWith(4096, 16, PiGuardFormat.Guard64, PiType.Type1, 0);
        cmd = default;
        ProtectionCommandFields.Apply(ns64, in pract, slba: 0xBEEF_1234_5678, ref cmd);
        Assert.That((cmd.Cdw3, cmd.Cdw14), Is.EqualTo((0xBEEFu, 0x1234_5678u)), "48-bit reference tag: bits 47:32 in CDW3[15:0]");

        Namespace ns3 = NamespaceWith(4096, 16, PiGuardFormat.Guard64, PiType.Type3, 0);
        cmd = default;
        ProtectionCommandFields.Apply(ns3, in pract, slba: 99, ref cmd);
        Assert.That((cmd.Cdw3, cmd.Cdw14), Is.EqualTo((0u, 0u)), "Type 3 has no LBA-derived reference tag");
    }

    [Test]
    public void Guard32SpreadsEightyBitsOverCdw2Cdw3Cdw14()
    {
        Namespace ns = NamespaceWith(4096, 16, PiGuardFormat.Guard32, PiType.Type2, 16);
        var pi = new IoProtectionOptions { ReferenceTag = 0x0123_4567_89AB_CDEF, StorageTag = 0xCAFE };
        var cmd = new SubmissionEntry();
        ProtectionCommandFields.Apply(ns, in pi, 0, ref cmd);
        Assert.That((cmd.Cdw2, cmd.Cdw3, cmd.Cdw14), Is.EqualTo((0xCAFEu, 0x0123_4567u, 0x89AB_CDEFu)));
    }

    [Test]
    public void TagsThatDoNotFitTheirBitsAreRejected()
    {
        Namespace ns = NamespaceWith(4096, 16, PiGuardFormat.Guard64, PiType.Type2, 18);
        var tooWideRef = new IoProtectionOptions { ReferenceTag = 1UL << 30 };
        var cmd = new SubmissionEntry();
        var e = Assert.Throws<ArgumentException>(() => ProtectionCommandFields.Apply(ns, in tooWideRef, 0, ref cmd));
        Assert.That(e!.Message, Does.Contain("Reference tag").And.Contain("30-bit"));
        var tooWideStorage = new IoProtectionOptions { StorageTag = 1UL << 18 };
        e = Assert.Throws<ArgumentException>(() => ProtectionCommandFields.Apply(ns, in tooWideStorage, 0, ref cmd));
        Assert.That(e!.Message, Does.Contain("Storage tag").And.Contain("18-bit"));
    }

    [Test]
    public void NamespaceWithoutPiGetsOnlyPrinfo()
    {
        Namespace ns = NamespaceWith(512, 0, PiGuardFormat.Guard16, PiType.None, 0);
        Assert.That(ns.ProtectionFormat, Is.Null);
        var pi = IoProtectionOptions.ControllerInserts();
        var cmd = new SubmissionEntry();
        ProtectionCommandFields.Apply(ns, in pi, 5, ref cmd);
        Assert.That((cmd.Cdw2, cmd.Cdw3, cmd.Cdw14, cmd.Cdw15), Is.EqualTo((0u, 0u, 0u, 0u)));
    }
}
