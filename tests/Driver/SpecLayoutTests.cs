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
        Assert.That(Unsafe.SizeOf<PowerStateDescriptor>(), Is.EqualTo(32));
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
    [TestCase(nameof(IdentifyController.Rtd3r), 84)]
    [TestCase(nameof(IdentifyController.Rtd3e), 88)]
    [TestCase(nameof(IdentifyController.Ctratt), 96)]
    [TestCase(nameof(IdentifyController.Rrls), 100)]
    [TestCase(nameof(IdentifyController.Cntrltype), 111)]
    [TestCase(nameof(IdentifyController.Fguid), 112)]
    [TestCase(nameof(IdentifyController.Crdt3), 132)]
    [TestCase(nameof(IdentifyController.Nvmsr), 253)]
    [TestCase(nameof(IdentifyController.Mec), 255)]
    [TestCase(nameof(IdentifyController.Oacs), 256)]
    [TestCase(nameof(IdentifyController.Avscc), 264)]
    [TestCase(nameof(IdentifyController.Apsta), 265)]
    [TestCase(nameof(IdentifyController.Mtfa), 270)]
    [TestCase(nameof(IdentifyController.Hmmin), 276)]
    [TestCase(nameof(IdentifyController.TnvmcapLow), 280)]
    [TestCase(nameof(IdentifyController.UnvmcapHigh), 304)]
    [TestCase(nameof(IdentifyController.Rpmbs), 312)]
    [TestCase(nameof(IdentifyController.Fwug), 319)]
    [TestCase(nameof(IdentifyController.Kas), 320)]
    [TestCase(nameof(IdentifyController.Mxtmt), 326)]
    [TestCase(nameof(IdentifyController.Sanicap), 328)]
    [TestCase(nameof(IdentifyController.Endgidmax), 340)]
    [TestCase(nameof(IdentifyController.Anacap), 343)]
    [TestCase(nameof(IdentifyController.Pels), 352)]
    [TestCase(nameof(IdentifyController.Domainid), 356)]
    [TestCase(nameof(IdentifyController.MegcapLow), 368)]
    [TestCase(nameof(IdentifyController.Sqes), 512)]
    [TestCase(nameof(IdentifyController.Nn), 516)]
    [TestCase(nameof(IdentifyController.Oncs), 520)]
    [TestCase(nameof(IdentifyController.Icsvscc), 530)]
    [TestCase(nameof(IdentifyController.Ocfs), 534)]
    [TestCase(nameof(IdentifyController.Sgls), 536)]
    [TestCase(nameof(IdentifyController.Mnan), 540)]
    [TestCase(nameof(IdentifyController.MaxdnaLow), 544)]
    [TestCase(nameof(IdentifyController.Maxcna), 560)]
    [TestCase(nameof(IdentifyController.Subnqn), 768)]
    [TestCase(nameof(IdentifyController.Ioccsz), 1792)]
    [TestCase(nameof(IdentifyController.Icdoff), 1800)]
    [TestCase(nameof(IdentifyController.Msdbd), 1803)]
    [TestCase(nameof(IdentifyController.Ofcs), 1804)]
    [TestCase(nameof(IdentifyController.Psd), 2048)]
    [TestCase(nameof(IdentifyController.Vs), 3072)]
    public void IdentifyControllerOffsets(string field, int offset)
        => Assert.That((int)Marshal.OffsetOf<IdentifyController>(field), Is.EqualTo(offset));

    [TestCase(nameof(IdentifyNamespace.Nlbaf), 25)]
    [TestCase(nameof(IdentifyNamespace.Flbas), 26)]
    [TestCase(nameof(IdentifyNamespace.Dpc), 28)]
    [TestCase(nameof(IdentifyNamespace.Dps), 29)]
    [TestCase(nameof(IdentifyNamespace.Rescap), 31)]
    [TestCase(nameof(IdentifyNamespace.Fpi), 32)]
    [TestCase(nameof(IdentifyNamespace.Dlfeat), 33)]
    [TestCase(nameof(IdentifyNamespace.Nawupf), 36)]
    [TestCase(nameof(IdentifyNamespace.Nabspf), 44)]
    [TestCase(nameof(IdentifyNamespace.Noiob), 46)]
    [TestCase(nameof(IdentifyNamespace.NvmcapLow), 48)]
    [TestCase(nameof(IdentifyNamespace.NvmcapHigh), 56)]
    [TestCase(nameof(IdentifyNamespace.Npwg), 64)]
    [TestCase(nameof(IdentifyNamespace.Nows), 72)]
    [TestCase(nameof(IdentifyNamespace.Mcl), 76)]
    [TestCase(nameof(IdentifyNamespace.Msrc), 80)]
    [TestCase(nameof(IdentifyNamespace.Nulbaf), 82)]
    [TestCase(nameof(IdentifyNamespace.Anagrpid), 92)]
    [TestCase(nameof(IdentifyNamespace.Nsattr), 99)]
    [TestCase(nameof(IdentifyNamespace.Nvmsetid), 100)]
    [TestCase(nameof(IdentifyNamespace.Endgid), 102)]
    [TestCase(nameof(IdentifyNamespace.Nguid), 104)]
    [TestCase(nameof(IdentifyNamespace.Eui64), 120)]
    [TestCase(nameof(IdentifyNamespace.Lbaf), 128)]
    [TestCase(nameof(IdentifyNamespace.Vs), 384)]
    public void IdentifyNamespaceOffsets(string field, int offset)
        => Assert.That((int)Marshal.OffsetOf<IdentifyNamespace>(field), Is.EqualTo(offset));

    [TestCase(nameof(PowerStateDescriptor.Mp), 0)]
    [TestCase(nameof(PowerStateDescriptor.Flags), 3)]
    [TestCase(nameof(PowerStateDescriptor.Enlat), 4)]
    [TestCase(nameof(PowerStateDescriptor.Exlat), 8)]
    [TestCase(nameof(PowerStateDescriptor.Rrt), 12)]
    [TestCase(nameof(PowerStateDescriptor.Rwl), 15)]
    [TestCase(nameof(PowerStateDescriptor.Idlp), 16)]
    [TestCase(nameof(PowerStateDescriptor.Ips), 18)]
    [TestCase(nameof(PowerStateDescriptor.Actp), 20)]
    [TestCase(nameof(PowerStateDescriptor.Apws), 22)]
    public void PowerStateDescriptorOffsets(string field, int offset)
        => Assert.That((int)Marshal.OffsetOf<PowerStateDescriptor>(field), Is.EqualTo(offset));

    [TestCase(nameof(SmartHealthLog.EnduranceGroupCriticalWarningSummary), 6)]
    [TestCase(nameof(SmartHealthLog.DataUnitsRead), 32)]
    [TestCase(nameof(SmartHealthLog.DataUnitsReadHigh), 40)]
    [TestCase(nameof(SmartHealthLog.ErrorLogEntriesHigh), 184)]
    [TestCase(nameof(SmartHealthLog.WarningTemperatureTime), 192)]
    [TestCase(nameof(SmartHealthLog.CriticalCompositeTemperatureTime), 196)]
    [TestCase(nameof(SmartHealthLog.TemperatureSensor), 200)]
    [TestCase(nameof(SmartHealthLog.ThermalTemperature1TransitionCount), 216)]
    [TestCase(nameof(SmartHealthLog.ThermalTemperature2TotalTime), 228)]
    public void SmartHealthLogOffsets(string field, int offset)
        => Assert.That((int)Marshal.OffsetOf<SmartHealthLog>(field), Is.EqualTo(offset));

    [TestCase(nameof(ErrorInformationEntry.ParameterErrorLocation), 14)]
    [TestCase(nameof(ErrorInformationEntry.TransportType), 29)]
    [TestCase(nameof(ErrorInformationEntry.CommandSpecific), 32)]
    [TestCase(nameof(ErrorInformationEntry.TransportTypeSpecificInfo), 40)]
    public void ErrorInformationEntryOffsets(string field, int offset)
        => Assert.That((int)Marshal.OffsetOf<ErrorInformationEntry>(field), Is.EqualTo(offset));

    [Test]
    public void PowerStatesSitAt2048PlusThirtyTwoEach()
    {
        var id = new IdentifyController();
        id.SetPowerState(3, new PowerStateDescriptor { Mp = 0x1234, Flags = PowerStateDescriptor.FlagNonOperational, Exlat = 7, Apws = 0x82 });
        var page = new byte[IdentifyController.Size];
        MemoryMarshal.Write(page, in id);
        Assert.That(page[2048 + 3 * 32], Is.EqualTo(0x34));
        Assert.That(page[2048 + 3 * 32 + 1], Is.EqualTo(0x12));
        Assert.That(page[2048 + 3 * 32 + 3], Is.EqualTo(PowerStateDescriptor.FlagNonOperational));
        Assert.That(page[2048 + 3 * 32 + 8], Is.EqualTo(7));
        var back = MemoryMarshal.Read<IdentifyController>(page).GetPowerState(3);
        Assert.That(back.ActivePowerScale, Is.EqualTo(2));
        Assert.That(back.ActivePowerWorkload, Is.EqualTo(2));
    }

    [Test]
    public void WideCountersJoinTheirHalves()
    {
        var page = new byte[IdentifyController.Size];
        page[280] = 1;                 // TNVMCAP low byte
        page[280 + 15] = 0x80;         // TNVMCAP top byte
        var id = MemoryMarshal.Read<IdentifyController>(page);
        Assert.That(id.Tnvmcap, Is.EqualTo((UInt128.One << 127) + 1));
        var ns = new IdentifyNamespace { NvmcapLow = 5, NvmcapHigh = 2 };
        Assert.That(ns.Nvmcap, Is.EqualTo((new UInt128(2, 0)) + 5));
    }

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
