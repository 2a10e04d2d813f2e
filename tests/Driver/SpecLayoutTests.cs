using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>Wire structs pinned by size and offset (NVMe Base 2.0 / NVM CS 1.0 figures).</summary>
public class SpecLayoutTests
{
    [Test]
    public void WireStructSizes()
    {
        Assert.That(Unsafe.SizeOf<SubmissionEntry>(), Is.EqualTo(64));
        Assert.That(Unsafe.SizeOf<CompletionEntry>(), Is.EqualTo(16));
        Assert.That(Unsafe.SizeOf<IdentifyController>(), Is.EqualTo(4096));
        Assert.That(Unsafe.SizeOf<IdentifyNamespace>(), Is.EqualTo(4096));
        Assert.That(Unsafe.SizeOf<NvmIdentifyNamespace>(), Is.EqualTo(4096));
        Assert.That(Unsafe.SizeOf<ErrorInformationEntry>(), Is.EqualTo(64));
        Assert.That(Unsafe.SizeOf<SmartHealthLog>(), Is.EqualTo(512));
    }

    [TestCase(nameof(SubmissionEntry.NamespaceId), 4)]
    [TestCase(nameof(SubmissionEntry.MetadataPointer), 16)]
    [TestCase(nameof(SubmissionEntry.Prp1), 24)]
    [TestCase(nameof(SubmissionEntry.Prp2), 32)]
    [TestCase(nameof(SubmissionEntry.Cdw10), 40)]
    [TestCase(nameof(SubmissionEntry.Cdw14), 56)]
    [TestCase(nameof(SubmissionEntry.Cdw15), 60)]
    public void SubmissionEntryOffsets(string field, int offset)
        => Assert.That((int)Marshal.OffsetOf<SubmissionEntry>(field), Is.EqualTo(offset));

    [TestCase(nameof(IdentifyController.Mdts), 77)]
    [TestCase(nameof(IdentifyController.Ctratt), 96)]
    [TestCase(nameof(IdentifyController.Sqes), 512)]
    [TestCase(nameof(IdentifyController.Nn), 516)]
    [TestCase(nameof(IdentifyController.Oncs), 520)]
    [TestCase(nameof(IdentifyController.Sgls), 536)]
    public void IdentifyControllerOffsets(string field, int offset)
        => Assert.That((int)Marshal.OffsetOf<IdentifyController>(field), Is.EqualTo(offset));

    [TestCase(nameof(IdentifyNamespace.Nlbaf), 25)]
    [TestCase(nameof(IdentifyNamespace.Flbas), 26)]
    [TestCase(nameof(IdentifyNamespace.Dpc), 28)]
    [TestCase(nameof(IdentifyNamespace.Dps), 29)]
    [TestCase(nameof(IdentifyNamespace.Dlfeat), 33)]
    [TestCase(nameof(IdentifyNamespace.Lbaf), 128)]
    public void IdentifyNamespaceOffsets(string field, int offset)
        => Assert.That((int)Marshal.OffsetOf<IdentifyNamespace>(field), Is.EqualTo(offset));

    [Test]
    public void NvmIdentifyNamespaceOffsets()
    {
        Assert.That((int)Marshal.OffsetOf<NvmIdentifyNamespace>(nameof(NvmIdentifyNamespace.Pic)), Is.EqualTo(8));
        Assert.That((int)Marshal.OffsetOf<NvmIdentifyNamespace>(nameof(NvmIdentifyNamespace.Elbaf)), Is.EqualTo(12));
    }

    [Test]
    public void FormatIndexUsesUpperBits()
    {
        var ns = new IdentifyNamespace();
        ns.SetFormatIndex(0x25, extendedMetadata: true);
        Assert.That(ns.Flbas, Is.EqualTo(0x5 | 0x10 | (0x2 << 5)));
        Assert.That(ns.FormatIndex, Is.EqualTo(0x25));
        Assert.That(ns.ExtendedMetadata, Is.True);
    }

    [Test]
    public void LbaFormatFields()
    {
        var f = LbaFormat.Create(metadataSize: 64, dataSizeShift: 12, relativePerformance: 2);
        Assert.That(f.Value, Is.EqualTo(0x0000_0040u | (12u << 16) | (2u << 24)));
        Assert.That(f.BlockSize, Is.EqualTo(4096));
        var e = ExtendedLbaFormat.Create(storageTagSize: 18, protectionFormat: 2);
        Assert.That(e.Value, Is.EqualTo(18u | (2u << 7)));
    }

    [Test]
    public void FormatNvmCdw10PacksUpperIndexBits()
        => Assert.That(CommandFields.FormatNvmCdw10(0x13, true, 1, false, 0), Is.EqualTo(0x3u | 0x10 | (1u << 5) | (1u << 12)));

    [Test]
    public void StatusNamesAndPacking()
    {
        Assert.That(NvmeStatus.EndToEndGuardCheckError.ToString(), Is.EqualTo("EndToEndGuardCheckError (SCT 2h, SC 82h)"));
        Assert.That(NvmeStatus.EndToEndGuardCheckError.TypeAndCode, Is.EqualTo(0x282));
        Assert.That(NvmeStatus.EndToEndApplicationTagCheckError.TypeAndCode, Is.EqualTo(0x283));
        Assert.That(NvmeStatus.EndToEndReferenceTagCheckError.TypeAndCode, Is.EqualTo(0x284));
        Assert.That(NvmeStatus.EndToEndStorageTagCheckError.TypeAndCode, Is.EqualTo(0x288));
        Assert.That(NvmeStatus.InvalidProtectionInformation.TypeAndCode, Is.EqualTo(0x181));
        Assert.That(NvmeStatus.InvalidProtectionInformation.ToString(), Is.EqualTo("InvalidProtectionInformation (SCT 1h, SC 81h, DNR)"));
        var raw = new NvmeStatus(0x4282);
        Assert.That(raw.DoNotRetry, Is.True);
        Assert.That(raw.Type, Is.EqualTo(StatusCodeType.MediaAndDataIntegrity));
        Assert.That(raw.Code, Is.EqualTo(0x82));
        Assert.That(NvmeStatus.Success.IsSuccess, Is.True);
    }

    [Test]
    public void DoorbellOffsetsFollowStride()
    {
        Assert.That(ControllerRegisters.SqTailDoorbell(0, 0), Is.EqualTo(0x1000));
        Assert.That(ControllerRegisters.CqHeadDoorbell(0, 0), Is.EqualTo(0x1004));
        Assert.That(ControllerRegisters.SqTailDoorbell(3, 0), Is.EqualTo(0x1018));
        Assert.That(ControllerRegisters.CqHeadDoorbell(1, 2), Is.EqualTo(0x1000 + 3 * 16));
    }
}
