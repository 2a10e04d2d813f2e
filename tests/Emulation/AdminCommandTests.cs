using System.Buffers.Binary;
using System.Runtime.InteropServices;
using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation;

/// <summary>Admin command set conformance: Identify, queue create/delete, features, logs, abort, AER.</summary>
public class AdminCommandTests
{
    [Test]
    public void IdentifyControllerReportsTheModel()
    {
        using var host = TestHost.Create(controller: o => { o.Mdts = 5; o.SerialNumber = "SN42"; });
        host.Enable();
        var (completion, page) = host.Identify((byte)IdentifyCns.Controller);
        Assert.That(completion.Status, Is.Zero);
        var id = MemoryMarshal.Read<IdentifyController>(page.Span);
        Assert.Multiple(() =>
        {
            Assert.That(id.Mdts, Is.EqualTo(5));
            Assert.That(id.Sqes, Is.EqualTo(0x66));
            Assert.That(id.Cqes, Is.EqualTo(0x44));
            Assert.That(id.Nn, Is.EqualTo(1u));
            Assert.That(id.Ver, Is.EqualTo(0x0002_0000u));
            Assert.That(id.SerialNumber, Is.EqualTo("SN42"));
            Assert.That(id.ExtendedLbaFormatsSupported, Is.True);
            Assert.That(id.Oncs & IdentifyController.OncsWriteZeroes, Is.Not.Zero);
            Assert.That(id.Oncs & IdentifyController.OncsVerify, Is.Not.Zero);
            Assert.That(id.Oncs & IdentifyController.OncsCompare, Is.Not.Zero);
            Assert.That(id.Oncs & IdentifyController.OncsDatasetManagement, Is.Not.Zero);
            Assert.That(id.Oacs & 2, Is.Not.Zero, "Format NVM");
            Assert.That(id.Cntrltype, Is.EqualTo(1));
        });
    }

    [Test]
    public void IdentifyNamespaceReportsTheFormatInUse()
    {
        using var host = TestHost.Create(ns => { ns.BlockSize = 4096; ns.MetadataSize = 16; ns.PiType = 2; ns.ExtendedLba = true; ns.CapacityBytes = 4 << 20; });
        host.Enable();
        var (completion, page) = host.Identify((byte)IdentifyCns.Namespace, 1);
        Assert.That(completion.Status, Is.Zero);
        var id = MemoryMarshal.Read<IdentifyNamespace>(page.Span);
        var lbaf = id.GetLbaFormat(id.FormatIndex);
        Assert.Multiple(() =>
        {
            Assert.That(id.Nsze, Is.EqualTo(1024ul));
            Assert.That(id.Ncap, Is.EqualTo(1024ul));
            Assert.That(lbaf.BlockSize, Is.EqualTo(4096));
            Assert.That(lbaf.MetadataSize, Is.EqualTo(16));
            Assert.That(id.ExtendedMetadata, Is.True);
            Assert.That(id.PiType, Is.EqualTo(2));
            Assert.That(id.PiFirst, Is.False);
            Assert.That(id.Dpc & 7, Is.EqualTo(7));
            Assert.That(id.Mc, Is.EqualTo(3));
            Assert.That(id.Dlfeat, Is.EqualTo(0x09));
            Assert.That(id.FormatCount, Is.EqualTo(12));
        });
    }

    [Test]
    public void NvmIdentifyNamespaceReportsPifAndSts()
    {
        using var host = TestHost.Create(ns => { ns.BlockSize = 4096; ns.MetadataSize = 16; ns.PiType = 1; ns.GuardFormat = 2; ns.StorageTagSize = 18; ns.CapacityBytes = 4 << 20; });
        host.Enable();
        var (_, nsPage) = host.Identify((byte)IdentifyCns.Namespace, 1);
        int index = MemoryMarshal.Read<IdentifyNamespace>(nsPage.Span).FormatIndex;
        var (completion, page) = host.Identify((byte)IdentifyCns.CommandSetNamespace, 1, csi: 0);
        Assert.That(completion.Status, Is.Zero);
        var nvm = MemoryMarshal.Read<NvmIdentifyNamespace>(page.Span);
        Assert.Multiple(() =>
        {
            Assert.That(index, Is.EqualTo(12), "the configured format is appended to the table");
            Assert.That(nvm.GetExtendedLbaFormat(index).ProtectionFormat, Is.EqualTo(2));
            Assert.That(nvm.GetExtendedLbaFormat(index).StorageTagSize, Is.EqualTo(18));
            Assert.That(nvm.Lbstm, Is.EqualTo((1ul << 18) - 1));
            Assert.That(nvm.GetExtendedLbaFormat(8).ProtectionFormat, Is.EqualTo(1), "32b guard entry");
            Assert.That(nvm.GetExtendedLbaFormat(8).StorageTagSize, Is.EqualTo(16));
        });
        Assert.That(host.Identify((byte)IdentifyCns.CommandSetNamespace, 1, csi: 2).Completion.Status, Is.EqualTo(NvmeStatus.InvalidField.Value));
    }

    [Test]
    public void ActiveNamespaceListStartsAfterTheGivenNsid()
    {
        var options = new EmulatedControllerOptions
        {
            Mode = EmulatedControllerMode.Inline,
            Namespaces = [new() { CapacityBytes = 1 << 20 }, new() { CapacityBytes = 1 << 20 }, new() { CapacityBytes = 1 << 20 }],
        };
        using var host = new TestHost(options);
        host.Enable();
        var (completion, page) = host.Identify((byte)IdentifyCns.ActiveNamespaceList, 1);
        Assert.That(completion.Status, Is.Zero);
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(page.Span), Is.EqualTo(2u));
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(page.Span[4..]), Is.EqualTo(3u));
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(page.Span[8..]), Is.Zero);
    }

    [TestCase((byte)IdentifyCns.Namespace, 0u)]
    [TestCase((byte)IdentifyCns.Namespace, 2u)]
    [TestCase((byte)IdentifyCns.Namespace, 0xFFFF_FFFFu)]
    [TestCase((byte)IdentifyCns.CommandSetNamespace, 7u)]
    public void IdentifyOfAMissingNamespaceFails(byte cns, uint nsid)
    {
        using var host = TestHost.Create();
        host.Enable();
        Assert.That(host.Identify(cns, nsid).Completion.Status, Is.EqualTo(NvmeStatus.InvalidNamespaceOrFormat.Value));
    }

    [Test]
    public void UnknownCnsAndOpcodeAreRejected()
    {
        using var host = TestHost.Create();
        host.Enable();
        Assert.That(host.Identify(0x1F).Completion.Status, Is.EqualTo(NvmeStatus.InvalidField.Value));
        Assert.That(host.Admin(TestHost.Command(0x7F)).Status, Is.EqualTo(NvmeStatus.InvalidCommandOpcode.Value));
    }

    [Test]
    public void IdentifyIntoUnmappedMemoryIsADataTransferError()
    {
        using var host = TestHost.Create();
        host.Enable();
        var c = TestHost.Command((byte)AdminOpcode.Identify);
        c.Cdw10 = 1;
        c.Prp1 = 0x7000_0000;
        Assert.That(host.Admin(c).Status, Is.EqualTo(NvmeStatus.DataTransferError.Value));
    }

    private static SubmissionEntry CreateCq(ushort qid, int entries, ulong prp1, bool contiguous = true)
    {
        var c = TestHost.Command((byte)AdminOpcode.CreateIoCompletionQueue);
        c.Cdw10 = qid | ((uint)(entries - 1) << 16);
        c.Cdw11 = contiguous ? 1u : 0u;
        c.Prp1 = prp1;
        return c;
    }

    private static SubmissionEntry CreateSq(ushort qid, int entries, ulong prp1, ushort cqid)
    {
        var c = TestHost.Command((byte)AdminOpcode.CreateIoSubmissionQueue);
        c.Cdw10 = qid | ((uint)(entries - 1) << 16);
        c.Cdw11 = 1 | ((uint)cqid << 16);
        c.Prp1 = prp1;
        return c;
    }

    private static SubmissionEntry Delete(AdminOpcode opcode, ushort qid)
    {
        var c = TestHost.Command((byte)opcode);
        c.Cdw10 = qid;
        return c;
    }

    [Test]
    public void CreateCompletionQueueErrors()
    {
        using var host = TestHost.Create(controller: o => { o.MaxQueueEntries = 64; o.MaxIoQueuePairs = 4; });
        host.Enable();
        var ring = host.Alloc(64 * 16);
        Assert.Multiple(() =>
        {
            Assert.That(host.Admin(CreateCq(0, 16, ring.Iova)).Status, Is.EqualTo(NvmeStatus.InvalidQueueIdentifier.Value), "qid 0");
            Assert.That(host.Admin(CreateCq(5, 16, ring.Iova)).Status, Is.EqualTo(NvmeStatus.InvalidQueueIdentifier.Value), "qid above NCQA");
            Assert.That(host.Admin(CreateCq(1, 1, ring.Iova)).Status, Is.EqualTo(NvmeStatus.InvalidQueueSize.Value), "one entry");
            Assert.That(host.Admin(CreateCq(1, 65, ring.Iova)).Status, Is.EqualTo(NvmeStatus.InvalidQueueSize.Value), "above MQES");
            Assert.That(host.Admin(CreateCq(1, 16, ring.Iova, contiguous: false)).Status, Is.EqualTo(NvmeStatus.InvalidField.Value), "PC=0 with CQR");
            Assert.That(host.Admin(CreateCq(1, 16, ring.Iova + 64)).Status, Is.EqualTo(NvmeStatus.PrpOffsetInvalid.Value), "unaligned");
            Assert.That(host.Admin(CreateCq(1, 16, 0x5000_0000)).Status, Is.EqualTo(NvmeStatus.DataTransferError.Value), "unmapped");
            Assert.That(host.Admin(CreateCq(1, 64, ring.Iova)).Status, Is.Zero);
            Assert.That(host.Admin(CreateCq(1, 16, ring.Iova)).Status, Is.EqualTo(NvmeStatus.InvalidQueueIdentifier.Value), "exists");
        });
    }

    [Test]
    public void CreateSubmissionQueueErrors()
    {
        using var host = TestHost.Create(controller: o => o.MaxIoQueuePairs = 4);
        host.Enable();
        var cq = host.Alloc(4096);
        var sq = host.Alloc(16 * 64);
        Assert.That(host.Admin(CreateSq(1, 16, sq.Iova, 1)).Status, Is.EqualTo(NvmeStatus.CompletionQueueInvalid.Value), "no CQ 1 yet");
        Assert.That(host.Admin(CreateSq(1, 16, sq.Iova, 0)).Status, Is.EqualTo(NvmeStatus.CompletionQueueInvalid.Value), "the admin CQ");
        Assert.That(host.Admin(CreateCq(1, 16, cq.Iova)).Status, Is.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(host.Admin(CreateSq(0, 16, sq.Iova, 1)).Status, Is.EqualTo(NvmeStatus.InvalidQueueIdentifier.Value));
            Assert.That(host.Admin(CreateSq(9, 16, sq.Iova, 1)).Status, Is.EqualTo(NvmeStatus.InvalidQueueIdentifier.Value));
            Assert.That(host.Admin(CreateSq(1, 1, sq.Iova, 1)).Status, Is.EqualTo(NvmeStatus.InvalidQueueSize.Value));
            Assert.That(host.Admin(CreateSq(1, 65, sq.Iova, 1)).Status, Is.EqualTo(NvmeStatus.DataTransferError.Value), "ring runs past the mapping");
            Assert.That(host.Admin(CreateSq(1, 16, sq.Iova, 1)).Status, Is.Zero);
            Assert.That(host.Admin(CreateSq(1, 16, sq.Iova, 1)).Status, Is.EqualTo(NvmeStatus.InvalidQueueIdentifier.Value), "exists");
        });
    }

    [Test]
    public void DeleteQueuesInTheRightOrder()
    {
        using var host = TestHost.Create();
        host.Start();
        Assert.That(host.Admin(Delete(AdminOpcode.DeleteIoCompletionQueue, 1)).Status, Is.EqualTo(NvmeStatus.InvalidQueueDeletion.Value));
        Assert.That(host.Admin(Delete(AdminOpcode.DeleteIoSubmissionQueue, 1)).Status, Is.Zero);
        Assert.That(host.Admin(Delete(AdminOpcode.DeleteIoSubmissionQueue, 1)).Status, Is.EqualTo(NvmeStatus.InvalidQueueIdentifier.Value));
        Assert.That(host.Admin(Delete(AdminOpcode.DeleteIoCompletionQueue, 1)).Status, Is.Zero);
        Assert.That(host.Admin(Delete(AdminOpcode.DeleteIoCompletionQueue, 1)).Status, Is.EqualTo(NvmeStatus.InvalidQueueIdentifier.Value));
        Assert.That(host.Admin(Delete(AdminOpcode.DeleteIoSubmissionQueue, 0)).Status, Is.EqualTo(NvmeStatus.InvalidQueueIdentifier.Value));
    }

    [Test]
    public void DeletingASubmissionQueueAbortsWhatItStillHolds()
    {
        using var host = TestHost.Create();
        var q = host.Start();
        var data = host.Alloc(512);
        ushort first = host.Submit(q, TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova));
        ushort second = host.Submit(q, TestHost.Rw(NvmOpcode.Write, 1, 1, data.Iova));
        Assert.That(host.Admin(Delete(AdminOpcode.DeleteIoSubmissionQueue, 1)).Status, Is.Zero);   // admin runs first
        Assert.That(host.TryReap(q, out var a), Is.True);
        Assert.That(host.TryReap(q, out var b), Is.True);
        Assert.That((a.CommandId, b.CommandId), Is.EqualTo((first, second)));
        Assert.That(a.Status, Is.EqualTo(NvmeStatus.AbortedSqDeletion.Value));
        Assert.That(b.Status, Is.EqualTo(NvmeStatus.AbortedSqDeletion.Value));
    }

    [Test]
    public void NumberOfQueuesLimitsQueueCreationAndIsFixedOnceQueuesExist()
    {
        using var host = TestHost.Create(controller: o => o.MaxIoQueuePairs = 8);
        host.Enable();
        var c = TestHost.Command((byte)AdminOpcode.SetFeatures);
        c.Cdw10 = (uint)FeatureId.NumberOfQueues;
        c.Cdw11 = 1 | (1u << 16);                 // 2 SQs, 2 CQs (0's based)
        var completion = host.Admin(c);
        Assert.That(completion.Status, Is.Zero);
        Assert.That(completion.Result, Is.EqualTo(1u | (1u << 16)));
        c.Cdw11 = 99 | (99u << 16);
        Assert.That(host.Admin(c).Result, Is.EqualTo(7u | (7u << 16)), "capped at the maximum");
        c.Cdw11 = 1 | (1u << 16);
        host.Admin(c);
        var ring = host.Alloc(4096);
        Assert.That(host.Admin(CreateCq(3, 4, ring.Iova)).Status, Is.EqualTo(NvmeStatus.InvalidQueueIdentifier.Value));
        host.CreateQueuePair(1);
        Assert.That(host.Admin(c).Status, Is.EqualTo(NvmeStatus.CommandSequenceError.Value));
        var get = TestHost.Command((byte)AdminOpcode.GetFeatures);
        get.Cdw10 = (uint)FeatureId.NumberOfQueues;
        Assert.That(host.Admin(get).Result, Is.EqualTo(1u | (1u << 16)));
        c.Cdw11 = 0xFFFF;
        host.Disable();
        host.Enable();
        Assert.That(host.Admin(c).Status, Is.EqualTo(NvmeStatus.InvalidField.Value), "NSQR 65535");
    }

    [Test]
    public void HostBehaviorSupportRoundTrips()
    {
        using var host = TestHost.Create();
        host.Enable();
        var buffer = host.Alloc(512);
        var get = TestHost.Command((byte)AdminOpcode.GetFeatures);
        get.Cdw10 = (uint)FeatureId.HostBehaviorSupport;
        get.Prp1 = buffer.Iova;
        Assert.That(host.Admin(get).Status, Is.Zero);
        Assert.That(buffer.Span[2], Is.Zero);
        host.EnableExtendedFormats();
        buffer.Span.Clear();
        host.Admin(get);
        Assert.That(buffer.Span[2], Is.EqualTo(1));
    }

    [Test]
    public void LbafeeIsRefusedWithoutElbas()
    {
        using var host = TestHost.Create(controller: o => o.ExtendedLbaFormats = false);
        host.Enable();
        var buffer = host.Alloc(512);
        buffer.Span[2] = 1;
        var c = TestHost.Command((byte)AdminOpcode.SetFeatures);
        c.Cdw10 = (uint)FeatureId.HostBehaviorSupport;
        c.Prp1 = buffer.Iova;
        Assert.That(host.Admin(c).Status, Is.EqualTo(NvmeStatus.InvalidField.Value));
    }

    [Test]
    public void NamespaceDescriptorsCarryNguidAndCsi()
    {
        using var host = TestHost.Create();
        host.Enable();
        var (completion, page) = host.Identify((byte)IdentifyCns.NamespaceDescriptors, 1);
        Assert.That(completion.Status, Is.Zero);
        var span = page.Span;
        Assert.That((span[0], span[1]), Is.EqualTo(((byte)2, (byte)16)), "NIDT NGUID, 16 bytes");
        Assert.That(span.Slice(4, 16).IndexOfAnyExcept((byte)0), Is.Not.EqualTo(-1), "non-zero NGUID");
        Assert.That((span[20], span[21], span[24]), Is.EqualTo(((byte)4, (byte)1, (byte)0)), "NIDT CSI = NVM");
        var nguid = span.Slice(4, 16).ToArray();
        var id = MemoryMarshal.Read<IdentifyNamespace>(host.Identify((byte)IdentifyCns.Namespace, 1).Page.Span);
        unsafe
        {
            Assert.That(new ReadOnlySpan<byte>(id.Nguid, 16).SequenceEqual(nguid), Is.True, "same NGUID in CNS 00h");
        }
    }

    [Test]
    public void FeatureValuesAndCapabilities()
    {
        using var host = TestHost.Create();
        host.Enable();
        var get = TestHost.Command((byte)AdminOpcode.GetFeatures);
        get.Cdw10 = (uint)FeatureId.VolatileWriteCache;
        Assert.That(host.Admin(get).Result, Is.EqualTo(1u), "write cache on by default");
        var set = TestHost.Command((byte)AdminOpcode.SetFeatures);
        set.Cdw10 = (uint)FeatureId.VolatileWriteCache;
        set.Cdw11 = 0;
        Assert.That(host.Admin(set).Status, Is.Zero);
        Assert.That(host.Admin(get).Result, Is.Zero, "current");
        get.Cdw10 = (uint)FeatureId.VolatileWriteCache | (1u << 8);
        Assert.That(host.Admin(get).Result, Is.EqualTo(1u), "default");
        get.Cdw10 = (uint)FeatureId.VolatileWriteCache | (3u << 8);
        Assert.That(host.Admin(get).Result, Is.EqualTo(4u), "supported capabilities: changeable only");
        set.Cdw10 = (uint)FeatureId.PowerManagement;
        set.Cdw11 = 1;
        Assert.That(host.Admin(set).Status, Is.EqualTo(NvmeStatus.InvalidField.Value), "only power state 0 exists");
    }

    [Test]
    public void UnsupportedOrSavedFeaturesAreRejected()
    {
        using var host = TestHost.Create();
        host.Enable();
        var c = TestHost.Command((byte)AdminOpcode.SetFeatures);
        c.Cdw10 = 0x7E;
        Assert.That(host.Admin(c).Status, Is.EqualTo(NvmeStatus.InvalidField.Value));
        c.Cdw10 = (uint)FeatureId.VolatileWriteCache | (1u << 31);
        Assert.That(host.Admin(c).Status, Is.EqualTo(NvmeStatus.FeatureNotSaveable.Value));
    }

    [Test]
    public void SmartLogCountsHostCommandsAndDataUnits()
    {
        using var host = TestHost.Create();
        var q = host.Start();
        var data = host.Alloc(8 * 512);
        for (int i = 0; i < 3; i++)
            TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 8, data.Iova)), NvmeStatus.Success, "write");
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 8, data.Iova)), NvmeStatus.Success, "read");
        var log = host.Alloc(512);
        var c = TestHost.Command((byte)AdminOpcode.GetLogPage, 0xFFFF_FFFF);
        c.Cdw10 = (uint)LogPageId.SmartHealth | ((512u / 4 - 1) << 16);
        c.Prp1 = log.Iova;
        Assert.That(host.Admin(c).Status, Is.Zero);
        var smart = MemoryMarshal.Read<SmartHealthLog>(log.Span);
        Assert.Multiple(() =>
        {
            Assert.That(smart.HostWriteCommands, Is.EqualTo(3ul));
            Assert.That(smart.HostReadCommands, Is.EqualTo(1ul));
            Assert.That(smart.DataUnitsWritten, Is.EqualTo(1ul), "24 units of 512 bytes round up to 1 thousand");
            Assert.That(smart.DataUnitsRead, Is.EqualTo(1ul));
        });
        c.NamespaceId = 1;
        Assert.That(host.Admin(c).Status, Is.EqualTo(NvmeStatus.InvalidField.Value), "no per-namespace SMART (LPA bit 0 = 0)");
    }

    [Test]
    public void ErrorLogRecordsTheFailedCommand()
    {
        using var host = TestHost.Create();
        var q = host.Start();
        var data = host.Alloc(512);
        var failed = host.Execute(q, TestHost.Rw(NvmOpcode.Read, 5000, 1, data.Iova));
        Assert.That(failed.Status, Is.EqualTo(NvmeStatus.LbaOutOfRange.Value));
        var log = host.Alloc(4096);
        var c = TestHost.Command((byte)AdminOpcode.GetLogPage);
        c.Cdw10 = (uint)LogPageId.ErrorInformation | ((64u / 4 - 1) << 16);
        c.Prp1 = log.Iova;
        Assert.That(host.Admin(c).Status, Is.Zero);
        var entry = MemoryMarshal.Read<ErrorInformationEntry>(log.Span);
        Assert.Multiple(() =>
        {
            Assert.That(entry.ErrorCount, Is.EqualTo(1ul));
            Assert.That(entry.SqId, Is.EqualTo(1));
            Assert.That(entry.CommandId, Is.EqualTo(failed.CommandId));
            Assert.That(entry.Status, Is.EqualTo(NvmeStatus.LbaOutOfRange));
            Assert.That(entry.Lba, Is.EqualTo(5000ul));
            Assert.That(entry.NamespaceId, Is.EqualTo(1u));
        });
        // Past the end of the log: zeros; an offset beyond the log or a transfer above MDTS: Invalid Field.
        var big = host.Alloc(8192);
        big.Span.Fill(0xEE);
        c.Prp1 = big.Iova;
        c.Prp2 = big.Iova + 4096;
        c.Cdw10 = (uint)LogPageId.ErrorInformation | ((8192u / 4 - 1) << 16);
        c.Cdw12 = 64;
        Assert.That(host.Admin(c).Status, Is.Zero);
        Assert.That(big.Span.IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "entries 1-15 are empty, the rest past the log");
        c.Cdw12 = 1028;
        Assert.That(host.Admin(c).Status, Is.EqualTo(NvmeStatus.InvalidField.Value), "offset past the log");
        c.Cdw12 = 0;
        c.Cdw10 = (uint)LogPageId.ErrorInformation | (0xFFFFu << 16);
        c.Cdw11 = 0xFFFF;
        Assert.That(host.Admin(c).Status, Is.EqualTo(NvmeStatus.InvalidField.Value), "above MDTS");
        c.Cdw10 = 0x42;
        c.Cdw11 = 0;
        Assert.That(host.Admin(c).Status, Is.EqualTo(NvmeStatus.InvalidLogPage.Value));
    }

    [Test]
    public void LogReadOfMdtsBytesFromAnOffsetReturnsTheRestOfTheLogThenZeros()
    {
        // Found by the SQE fuzzer: offset + length above the device's internal buffer was refused, although
        // the offset lies inside the log and the length within MDTS (a request past the end of a log is valid).
        using var host = TestHost.Create(controller: o => o.Mdts = 1);
        host.Enable();
        int mdts = 4096 << 1;
        var log = host.Alloc(mdts);
        log.Span.Fill(0xEE);
        var c = TestHost.Command((byte)AdminOpcode.GetLogPage, 0xFFFF_FFFF);
        c.Cdw10 = (uint)LogPageId.SmartHealth | ((uint)(mdts / 4 - 1) << 16);
        c.Cdw12 = 256;
        c.Prp1 = log.Iova;
        c.Prp2 = log.Iova + 4096;
        Assert.That(new NvmeStatus(host.Admin(c).Status), Is.EqualTo(NvmeStatus.Success));
        var whole = host.Alloc(512);
        c.Cdw10 = (uint)LogPageId.SmartHealth | ((512u / 4 - 1) << 16);
        c.Cdw12 = 0;
        c.Prp1 = whole.Iova;
        c.Prp2 = 0;
        Assert.That(new NvmeStatus(host.Admin(c).Status), Is.EqualTo(NvmeStatus.Success));
        Assert.That(log.Span[..256].SequenceEqual(whole.Span[256..512]), "the log from the offset on");
        Assert.That(log.Span[256..mdts].IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "zeros past the end of the log");
    }

    [Test]
    public void AbortRemovesACommandThatWasNotFetchedYet()
    {
        using var host = TestHost.Create();
        var q = host.Start();
        var data = host.Alloc(512);
        ushort victim = host.Submit(q, TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova));
        var abort = TestHost.Command((byte)AdminOpcode.Abort);
        abort.Cdw10 = 1u | ((uint)victim << 16);
        var completion = host.Admin(abort);   // the admin queue is served first
        Assert.That(completion.Status, Is.Zero);
        Assert.That(completion.Result & 1, Is.Zero, "aborted");
        var aborted = host.Reap(q);
        Assert.That(aborted.CommandId, Is.EqualTo(victim));
        Assert.That(aborted.Status, Is.EqualTo(NvmeStatus.AbortedByRequest.Value));
        abort.Cdw10 = 1u | (999u << 16);
        Assert.That(host.Admin(abort).Result & 1, Is.EqualTo(1u), "nothing to abort");
    }

    [Test]
    public void TwoAbortsOfOneCommandLeaveNothingBehindForTheNextCommandWithItsId()
    {
        // Found by the SQE fuzzer: the second Abort of the same waiting command left a second abort request
        // behind, which then aborted the next command submitted with that command id.
        using var host = TestHost.Create();
        var q = host.Start();
        var data = host.Alloc(512);
        ushort victim = host.Submit(q, TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova));
        var abort = TestHost.Command((byte)AdminOpcode.Abort);
        abort.Cdw10 = 1u | ((uint)victim << 16);
        host.Submit(host.AdminQueue, abort);
        host.Submit(host.AdminQueue, abort);
        Assert.That(host.Reap(host.AdminQueue).Result & 1, Is.Zero, "first Abort: aborted");
        Assert.That(host.Reap(host.AdminQueue).Status, Is.Zero, "second Abort");
        Assert.That(new NvmeStatus(host.Reap(q).Status), Is.EqualTo(NvmeStatus.AbortedByRequest));
        q.NextCommandId = victim;   // the id is free again: a driver reuses it
        var next = host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova));
        Assert.That(next.CommandId, Is.EqualTo(victim));
        Assert.That(new NvmeStatus(next.Status), Is.EqualTo(NvmeStatus.Success), "no abort request may outlive its command");
    }

    [Test]
    public void AnAbortedCommandThatAFaultWasArmedForLeavesNeitherAbortNorFaultOnTheWrongCommand()
    {
        // Found by the SQE fuzzer: with a failure armed for the next write, the aborted write took
        // the injected status and its abort request stayed behind, aborting the next command that
        // reused the command id. An aborted command never runs: the abort wins, the fault waits
        // for the next command that does run.
        using var host = TestHost.Create();
        var q = host.Start();
        var data = host.Alloc(512);
        var injected = NvmeStatus.Create(StatusCodeType.MediaAndDataIntegrity, 0x81, false);
        host.Controller.Faults.FailNextCommand(FaultQueue.Io, (byte)NvmOpcode.Write, injected);
        ushort victim = host.Submit(q, TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova));
        var abort = TestHost.Command((byte)AdminOpcode.Abort);
        abort.Cdw10 = 1u | ((uint)victim << 16);
        Assert.That(host.Admin(abort).Result & 1, Is.Zero, "Abort: aborted");
        Assert.That(new NvmeStatus(host.Reap(q).Status), Is.EqualTo(NvmeStatus.AbortedByRequest));
        q.NextCommandId = victim;
        Assert.That(new NvmeStatus(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova)).Status), Is.EqualTo(injected), "the armed fault hits the next write that runs");
        q.NextCommandId = victim;
        Assert.That(new NvmeStatus(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova)).Status), Is.EqualTo(NvmeStatus.Success), "nothing is left behind");
    }

    [Test]
    public void AsynchronousEventRequestsAreHeldUpToTheLimit()
    {
        using var host = TestHost.Create();
        host.Enable();
        for (int i = 0; i < AdminCommands.AsyncEventLimit; i++)
            host.Submit(host.AdminQueue, TestHost.Command((byte)AdminOpcode.AsynchronousEventRequest));
        host.Controller.Step();
        Assert.That(host.TryReap(host.AdminQueue, out _), Is.False, "held");
        var over = host.Admin(TestHost.Command((byte)AdminOpcode.AsynchronousEventRequest));
        Assert.That(over.Status, Is.EqualTo(NvmeStatus.Create(StatusCodeType.CommandSpecific, 0x05, true).Value));
    }
}
