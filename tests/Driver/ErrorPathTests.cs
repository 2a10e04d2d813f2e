using System.Runtime.InteropServices;
using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Emulated;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// Every error path surfaces the right status through the public API and leaves the stored
/// blocks as they were (read back and compared).
/// </summary>
public class ErrorPathTests
{
    private const string Pi1Separate = "mem:lbads=4096,ms=8,pi=1,size=1M";
    private const string Pi64Extended = "mem:lbads=4096,ms=16,mset=1,pi=1,pif=2,sts=18,size=1M";

    private EmulatedSetup _setup = null!;
    private IoQueuePair _qp = null!;
    private Namespace Ns => _setup.Ns;
    private DmaAllocator Memory => _setup.Controller.Memory;

    private void Open(string address, Action<EmulatedControllerOptions>? configure = null)
    {
        _setup = EmulatedSetup.Open(address, configure);
        _qp = _setup.Controller.CreateIoQueuePair(16);
    }

    [TearDown]
    public void TearDown()
    {
        _qp?.Dispose();
        _setup?.Dispose();
        _qp = null!;
        _setup = null!;
    }

    /// <summary>Writes a recognisable pattern to blocks [0, count) with PRACT=1 and returns their raw stored image.</summary>
    private byte[] Seed(int count)
    {
        var pi = IoProtectionOptions.ControllerInserts(PiChecks.None);
        using DmaBuffer data = Memory.Allocate((int)Ns.DataBytes(count, true));
        using DmaBuffer? meta = Ns.MetadataBytes(count, true) == 0 ? null : Memory.Allocate((int)Ns.MetadataBytes(count, true));
        new Random(42).NextBytes(data.Span);
        for (int b = 0; b < count; b++)
            _qp.Wait(_qp.WriteAsync(Ns, (ulong)b, 1, Slice(data, b, count), null, pi));
        return RawImage(0, count);
    }

    private DmaBuffer Slice(DmaBuffer data, int block, int count)
    {
        int per = data.Length / count;
        DmaBuffer one = Memory.Allocate(per);
        data.Span.Slice(block * per, per).CopyTo(one.Span);
        return one;
    }

    /// <summary>Raw stored bytes (data, then separate metadata) of blocks [slba, slba+count).</summary>
    private byte[] RawImage(ulong slba, int count)
    {
        using DmaBuffer data = Memory.Allocate((int)Ns.DataBytes(count, false));
        using DmaBuffer? meta = Ns.MetadataBytes(count, false) == 0 ? null : Memory.Allocate((int)Ns.MetadataBytes(count, false));
        _qp.Wait(_qp.ReadAsync(Ns, slba, count, data, meta));
        return [.. data.Span, .. meta is null ? [] : meta.Span];
    }

    private NvmeException Fails(ValueTask task, NvmeStatus expected)
    {
        var e = Assert.Throws<NvmeException>(() => _qp.Wait(task))!;
        Assert.That(e.Status.TypeAndCode, Is.EqualTo(expected.TypeAndCode), e.Message);
        Assert.That(e.Message, Does.Contain(expected.Name).And.Contain($"SCT {(int)expected.Type:X}h, SC {expected.Code:X2}h"));
        return e;
    }

    [Test]
    public void LbaOutOfRange()
    {
        Open(Pi1Separate);
        ulong last = Ns.BlockCount - 1;
        byte[] before = RawImage(last, 1);
        using DmaBuffer data = Memory.Allocate(2 * Ns.BlockSize);
        data.Span.Fill(0xEE);
        NvmeException e = Fails(_qp.WriteAsync(Ns, last, 2, data, null, IoProtectionOptions.ControllerInserts()), NvmeStatus.LbaOutOfRange);
        Assert.That((e.NamespaceId, e.StartLba, e.BlockCount, e.Opcode), Is.EqualTo((Ns.Id, last, 2, (byte)NvmOpcode.Write)));
        Assert.That(RawImage(last, 1).AsSpan().SequenceEqual(before), "stored blocks unchanged");
    }

    [Test]
    public void NlbBeyondMdtsIsRejectedByTheHostAndByTheController()
    {
        Open("mem:lbads=4096,size=4M");
        byte[] before = RawImage(0, 8);
        int maxBlocks = _qp.MaxTransferBytes / Ns.BlockSize;
        using DmaBuffer data = Memory.Allocate((maxBlocks + 1) * Ns.BlockSize);
        var e = Assert.Throws<ArgumentException>(() => _qp.WriteAsync(Ns, 0, maxBlocks + 1, data));
        Assert.That(e!.Message, Does.Contain("MDTS").And.Contain(_qp.MaxTransferBytes.ToString()));
        Assert.That(_qp.InFlight, Is.Zero, "nothing was submitted");

        // The raw path sends it anyway: the controller refuses with Invalid Field.
        var cmd = new SubmissionEntry { Opcode = (byte)NvmOpcode.Write, NamespaceId = Ns.Id, Cdw12 = (uint)maxBlocks };
        Fails(_qp.SubmitRawAsync(cmd, data, _qp.MaxTransferBytes), NvmeStatus.InvalidField);
        Assert.That(RawImage(0, 8).AsSpan().SequenceEqual(before), "stored blocks unchanged");
    }

    [Test]
    public unsafe void PrpOutsideMappedMemory()
    {
        Open(Pi1Separate);
        byte[] before = Seed(2);
        void* native = NativeMemory.AlignedAlloc(4096, 4096);
        try
        {
            // Host memory the controller was never given, at an IOVA nothing is mapped at: the
            // driver refuses it before anything reaches the ring...
            using DmaBuffer bad = DmaBuffer.CreateUnowned((nint)native, 4096, 0xDEAD_0000_0000);
            using DmaBuffer meta = Memory.Allocate(8);
            var refused = Assert.Throws<ArgumentException>(() => _qp.WriteAsync(Ns, 0, 1, bad, meta, IoProtectionOptions.ControllerChecks(PiChecks.None)))!;
            Assert.That(refused.ParamName, Is.EqualTo("data"));
            Assert.That(refused.Message, Does.Contain("no controller was given"));
            Assert.That(_qp.InFlight, Is.Zero);
            // ...and a raw command that carries such PRPs anyway fails on the controller without touching memory.
            var write = new SubmissionEntry { Opcode = (byte)NvmOpcode.Write, NamespaceId = Ns.Id, Prp1 = bad.Iova, MetadataPointer = meta.Iova };
            Fails(_qp.SubmitRawAsync(write), NvmeStatus.DataTransferError);
            var read = write with { Opcode = (byte)NvmOpcode.Read };
            Fails(_qp.SubmitRawAsync(read), NvmeStatus.DataTransferError);
        }
        finally
        {
            NativeMemory.AlignedFree(native);
        }
        Assert.That(RawImage(0, 2).AsSpan().SequenceEqual(before), "stored blocks unchanged");
    }

    [Test]
    public void WriteZeroesWithPrchkIsRefused()
    {
        Open(Pi1Separate);
        byte[] before = Seed(4);
        var e = Assert.Throws<NvmeException>(() => _qp.Wait(_qp.WriteZeroesAsync(Ns, 0, 4, IoProtectionOptions.ControllerInserts(PiChecks.Guard))))!;
        // PI.md §5: PRCHK must be 000b for Write Zeroes. QEMU answers Invalid PI (0x181); the
        // emulated controller answers Invalid Field (0x002). Either way: DNR and nothing written.
        Assert.That(e.Status.TypeAndCode, Is.AnyOf(NvmeStatus.InvalidField.TypeAndCode, NvmeStatus.InvalidProtectionInformation.TypeAndCode), e.Message);
        Assert.That(e.Status.DoNotRetry, Is.True);
        Assert.That(RawImage(0, 4).AsSpan().SequenceEqual(before), "stored blocks unchanged");
        // Without checks it zeroes (and with PRACT builds PI): the command itself works.
        _qp.Wait(_qp.WriteZeroesAsync(Ns, 0, 4, IoProtectionOptions.ControllerInserts(PiChecks.None)));
        using DmaBuffer data = Memory.Allocate(4 * Ns.BlockSize);
        data.Span.Fill(1);
        _qp.Wait(_qp.ReadAsync(Ns, 0, 4, data, null, IoProtectionOptions.ControllerInserts(PiChecks.Guard | PiChecks.ReferenceTag)));
        Assert.That(data.Span.ToArray(), Is.All.EqualTo(0));
    }

    [Test]
    public void Type1ReferenceTagMustMatchTheLba()
    {
        Open(Pi1Separate);
        byte[] before = Seed(4);
        using DmaBuffer data = Memory.Allocate(Ns.BlockSize);
        data.Span.Fill(0x3C);
        var pi = IoProtectionOptions.ControllerInserts() with { ReferenceTag = 3 };   // SLBA is 2
        NvmeException e = Fails(_qp.WriteAsync(Ns, 2, 1, data, null, pi), NvmeStatus.InvalidProtectionInformation);
        Assert.That(e.Status.DoNotRetry, Is.True);
        Assert.That(RawImage(0, 4).AsSpan().SequenceEqual(before), "stored blocks unchanged");
        // The default reference tag is the SLBA: the same write without an explicit tag succeeds.
        _qp.Wait(_qp.WriteAsync(Ns, 2, 1, data, null, IoProtectionOptions.ControllerInserts()));
    }

    private static IEnumerable<TestCaseData> Corruptions()
    {
        yield return new TestCaseData(CorruptionTarget.Data, PiChecks.Guard, NvmeStatus.EndToEndGuardCheckError);
        yield return new TestCaseData(CorruptionTarget.Guard, PiChecks.Guard, NvmeStatus.EndToEndGuardCheckError);
        yield return new TestCaseData(CorruptionTarget.ApplicationTag, PiChecks.ApplicationTag, NvmeStatus.EndToEndApplicationTagCheckError);
        yield return new TestCaseData(CorruptionTarget.ReferenceTag, PiChecks.ReferenceTag, NvmeStatus.EndToEndReferenceTagCheckError);
        yield return new TestCaseData(CorruptionTarget.StorageTag, PiChecks.StorageTag, NvmeStatus.EndToEndStorageTagCheckError);
    }

    [TestCaseSource(nameof(Corruptions))]
    public void InjectedCorruptionIsReportedWithItsStatus(CorruptionTarget target, PiChecks check, NvmeStatus expected)
    {
        Open(Pi64Extended);
        var write = IoProtectionOptions.ControllerInserts(PiChecks.None) with { ApplicationTag = 0xBEEF, StorageTag = 0x2AAAA };
        using DmaBuffer data = Memory.Allocate(4 * Ns.BlockSize);
        new Random(5).NextBytes(data.Span);
        _qp.Wait(_qp.WriteAsync(Ns, 0, 4, data, null, write));
        _setup.Device.Faults.CorruptBlock(Ns.Id, 2, target);
        byte[] corrupted = RawImage(0, 4);

        var read = write with { Checks = check };
        using DmaBuffer back = Memory.Allocate(data.Length);
        NvmeException e = Fails(_qp.ReadAsync(Ns, 0, 4, back, null, read), expected);
        Assert.That(e.Status.Type, Is.EqualTo(StatusCodeType.MediaAndDataIntegrity));
        // Blocks before the damaged one read fine; the damage stays where it was (reads change nothing).
        _qp.Wait(_qp.ReadAsync(Ns, 0, 2, back, null, read));
        Assert.That(back.Span[..(2 * Ns.BlockSize)].SequenceEqual(data.Span[..(2 * Ns.BlockSize)]));
        Assert.That(RawImage(0, 4).AsSpan().SequenceEqual(corrupted), "stored blocks unchanged");

        // The host engine finds the same damage in a raw read, naming the block and the kind.
        using DmaBuffer raw = Memory.Allocate((int)Ns.DataBytes(4, false));
        _qp.Wait(_qp.ReadAsync(Ns, 0, 4, raw));
        var host = new byte[4 * Ns.BlockSize];
        var error = Assert.Throws<ProtectionException>(() => HostProtection.VerifyFrom(Ns, in read, 0, raw, null, host, 4))!.Error;
        Assert.That(error.BlockIndex, Is.EqualTo(2));
        Assert.That(error.Kind, Is.EqualTo(target == CorruptionTarget.Data ? PiErrorKind.Guard : (PiErrorKind)Enum.Parse(typeof(PiErrorKind), target.ToString())));
        Assert.That(error.Expected, Is.Not.EqualTo(error.Actual));
    }

    [Test]
    public void InvalidOpcodeThroughTheRawPath()
    {
        Open(Pi1Separate);
        byte[] before = Seed(2);
        NvmeException e = Fails(_qp.SubmitRawAsync(new SubmissionEntry { Opcode = 0x7F, NamespaceId = Ns.Id }), NvmeStatus.InvalidCommandOpcode);
        Assert.That(e.Message, Does.Contain("7Fh"));
        Assert.That(RawImage(0, 2).AsSpan().SequenceEqual(before), "stored blocks unchanged");
    }

    [Test]
    public void InvalidNamespace()
    {
        Open(Pi1Separate);
        byte[] before = Seed(2);
        using DmaBuffer data = Memory.Allocate(Ns.BlockSize);
        var cmd = new SubmissionEntry { Opcode = (byte)NvmOpcode.Write, NamespaceId = 99 };
        Fails(_qp.SubmitRawAsync(cmd, data), NvmeStatus.InvalidNamespaceOrFormat);
        Assert.That(RawImage(0, 2).AsSpan().SequenceEqual(before), "stored blocks unchanged");
        var e = Assert.Throws<ArgumentException>(() => _setup.Controller.GetNamespace(99));
        Assert.That(e!.Message, Does.Contain("99").And.Contain("active"));
    }

    [Test]
    public void InjectedStatusReachesTheCallerAndTheErrorLog()
    {
        Open(Pi1Separate);
        _setup.Device.Faults.FailNextCommand(FaultQueue.Io, (byte)NvmOpcode.Read, NvmeStatus.UnrecoveredReadError);
        using DmaBuffer data = Memory.Allocate(Ns.BlockSize);
        Fails(_qp.ReadAsync(Ns, 1, 1, data, null, IoProtectionOptions.ControllerInserts()), NvmeStatus.UnrecoveredReadError);
        ErrorInformationEntry[] log = _setup.Controller.GetErrorLog(4);
        Assert.That(log[0].ErrorCount, Is.GreaterThan(0UL));
        Assert.That(log[0].Status.TypeAndCode, Is.EqualTo(NvmeStatus.UnrecoveredReadError.TypeAndCode));
        Assert.That(log[0].SqId, Is.EqualTo(_qp.Id));
    }

    private static IEnumerable<TestCaseData> WrongBuffers()
    {
        // (address, pract, data bytes per block, metadata bytes per block or -1 for none, what the message names)
        yield return new TestCaseData("mem:lbads=512,ms=8,mset=1,pi=1,size=1M", false, 512, -1, "extended LBAs").SetName("Extended_without_metadata_room");
        yield return new TestCaseData("mem:lbads=512,ms=8,mset=1,pi=1,size=1M", false, 520, 8, "no metadata buffer").SetName("Extended_with_separate_buffer");
        yield return new TestCaseData("mem:lbads=512,ms=8,pi=1,size=1M", false, 512, -1, "metadata buffer").SetName("Separate_missing_metadata");
        yield return new TestCaseData("mem:lbads=512,ms=8,pi=1,size=1M", false, 512, 4, "metadata buffer").SetName("Separate_metadata_too_small");
        yield return new TestCaseData("mem:lbads=512,ms=8,pi=1,size=1M", true, 512, 8, "PRACT=1 with MS 8 == PI size").SetName("Pract_MsEqualsPi_with_metadata");
        yield return new TestCaseData("mem:lbads=4096,ms=16,mset=1,pi=1,pif=2,size=1M", false, 4096, -1, "4096+16").SetName("Extended64_data_only_without_pract");
    }

    [TestCaseSource(nameof(WrongBuffers))]
    public void WrongBufferSizesNameTheSizes(string address, bool pract, int dataPerBlock, int metaPerBlock, string named)
    {
        Open(address);
        using DmaBuffer data = Memory.Allocate(dataPerBlock * 2);
        using DmaBuffer? meta = metaPerBlock < 0 ? null : Memory.Allocate(metaPerBlock * 2);
        var pi = new IoProtectionOptions { Pract = pract };
        var e = Assert.Throws<ArgumentException>(() => _qp.WriteAsync(Ns, 0, 2, data, meta, pi));
        Assert.That(e!.Message, Does.Contain(named).And.Contain($"got {data.Length} bytes of data"));
        Assert.That(_qp.InFlight, Is.Zero);
        Assert.That(_qp.AvailableSlots, Is.EqualTo(_qp.Depth), "a refused command does not leak its request slot");
    }
}
