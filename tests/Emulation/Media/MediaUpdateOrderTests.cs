using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Emulation.Media;
using PolledNvme.Protection;
using PolledNvme.Queues;
using PolledNvme.Uring;

namespace PolledNvme.Tests.Emulation.Media;

/// <summary>
/// The order of a block's two media updates, made visible by failing the second one (the state a
/// crash between them leaves): a write stores its metadata before its data, so a write onto a
/// deallocated block never leaves new data behind the all-FFh tuple (which switches every check
/// off); a deallocation (Dataset Management, Write Zeroes with DEAC=1) zeroes the data before it
/// writes the tuple, so a failed one never leaves old data behind it. On every layout, through
/// the namespace (the synchronous path) and through the controller's media ring.
/// </summary>
public class MediaUpdateOrderTests
{
    private const int Block = 4096;
    private const int Blocks = 64;
    private const long DataEnd = (long)Block * Blocks;
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("pnvme-order-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static IEnumerable<TestCaseData> Layouts()
    {
        yield return new TestCaseData(16, 2, 0, false, false).SetArgDisplayNames("guard64-separate-last");
        yield return new TestCaseData(64, 2, 0, true, false).SetArgDisplayNames("guard64-separate-first");
        yield return new TestCaseData(64, 1, 16, true, true).SetArgDisplayNames("guard32-extended-first");
        yield return new TestCaseData(64, 2, 0, false, true).SetArgDisplayNames("guard64-extended-last");
    }

    private void Configure(EmulatedNamespaceOptions ns, int ms, int pif, int sts, bool first, bool extended)
    {
        ns.BlockSize = Block;
        ns.MetadataSize = ms;
        ns.PiType = 1;
        ns.GuardFormat = pif;
        ns.StorageTagSize = sts;
        ns.PiFirst = first;
        ns.ExtendedLba = extended;
        ns.CapacityBytes = DataEnd;
        ns.Backend = MediaBackendKind.File;
        ns.FilePath = Path.Combine(_dir, "ns.img");
    }

    private EmulatedNamespace Open(int ms, int pif, int sts, bool first, bool extended)
    {
        var options = new EmulatedNamespaceOptions();
        Configure(options, ms, pif, sts, first, extended);
        return new EmulatedNamespace(1, options);
    }

    private static UringFileBackend File(EmulatedNamespace ns) => (UringFileBackend)ns.Media;

    /// <summary>A block of random data with valid PI (application tag 1) for <paramref name="lba"/>.</summary>
    private static (byte[] Data, byte[] Metadata) ValidBlock(ProtectionFormat pi, long lba, int seed)
    {
        var data = new byte[Block];
        var metadata = new byte[pi.MetadataSize];
        new Random(seed).NextBytes(data);
        new ProtectionContext(pi, PiChecks.None, (ulong)lba & pi.ReferenceTagMask, applicationTag: 1).Generate(data, metadata, 1);
        return (data, metadata);
    }

    private enum Seen { ValidPi, FailedPi, Deallocated, DataBehindDeallocatedTuple }

    private static Seen Classify(EmulatedNamespace ns, long lba, out byte[] data)
    {
        ProtectionFormat pi = ns.Protection!;
        data = new byte[Block];
        var metadata = new byte[pi.MetadataSize];
        ns.Read(lba, 1, data, metadata);
        ushort tag = PiTuple.Read(metadata.AsSpan(pi.TupleOffset, pi.TupleSize), pi.GuardFormat, pi.StorageTagSize).ApplicationTag;
        if (tag == 0xFFFF)
            return data.AsSpan().IndexOfAnyExcept((byte)0) < 0 ? Seen.Deallocated : Seen.DataBehindDeallocatedTuple;
        return new ProtectionContext(pi, PiChecks.Guard | PiChecks.ReferenceTag, (ulong)lba & pi.ReferenceTagMask).Verify(data, metadata, 1, out _)
            ? Seen.ValidPi : Seen.FailedPi;
    }

    [TestCaseSource(nameof(Layouts))]
    public void AWriteOntoADeallocatedBlockWhoseDataFailsLeavesATearPiCatches(int ms, int pif, int sts, bool first, bool extended)
    {
        using var ns = Open(ms, pif, sts, first, extended);
        ns.Deallocate(5, 1);
        var (data, metadata) = ValidBlock(ns.Protection!, 5, seed: 1);
        File(ns).InjectedFault = (operation, offset) => operation == MediaOperation.Write && offset < DataEnd ? Errno.EIO : 0;
        Assert.Throws<MediaIoException>(() => ns.Write(5, 1, data, metadata));
        File(ns).InjectedFault = null;
        Assert.That(Classify(ns, 5, out _), Is.EqualTo(Seen.FailedPi), "the new tuple over the old (zero) data: PI catches it");
    }

    [TestCaseSource(nameof(Layouts))]
    public void ADeallocationWhoseDataZeroingFailsLeavesTheOldBlockIntact(int ms, int pif, int sts, bool first, bool extended)
    {
        using var ns = Open(ms, pif, sts, first, extended);
        var (data, metadata) = ValidBlock(ns.Protection!, 9, seed: 2);
        ns.Write(9, 1, data, metadata);
        File(ns).InjectedFault = (operation, offset) => operation is MediaOperation.Zero or MediaOperation.Write && offset < DataEnd ? Errno.EIO : 0;
        Assert.Throws<MediaIoException>(() => ns.Deallocate(9, 1));
        File(ns).InjectedFault = null;
        Assert.That(Classify(ns, 9, out byte[] back), Is.EqualTo(Seen.ValidPi), "never the old data behind the all-FFh tuple");
        Assert.That(back, Is.EqualTo(data));
    }

    [TestCaseSource(nameof(Layouts))]
    public void ThroughTheMediaRingAWriteAndAWriteZeroesWithDeallocateKeepTheOrder(int ms, int pif, int sts, bool first, bool extended)
    {
        using var host = TestHost.Create(ns => Configure(ns, ms, pif, sts, first, extended));
        var q = host.Start();
        host.EnableExtendedFormats();   // 32b and 64b guards need LBAFEE
        Assert.That(host.Controller.Core.Media, Is.Not.Null, "the file namespace is on the media ring");
        EmulatedNamespace ns = host.Controller.Core.Namespaces[0];
        int hostBlock = extended ? Block + ms : Block;
        var buffer = host.Alloc(2 * Block + 2 * ms);
        var separate = host.Alloc(Math.Max(ms, 1));
        buffer.Span.Fill(0x6D);
        separate.Span.Fill(0x6D);
        const uint insert = CommandFields.Pract | CommandFields.PrchkGuard | CommandFields.PrchkReferenceTag;
        SubmissionEntry Write(ulong lba)
        {
            var write = TestHost.Rw(NvmOpcode.Write, lba, 1, buffer.Iova, hostBlock > Block ? buffer.Iova + Block : 0, cdw12Flags: insert);
            write.Cdw14 = (uint)lba;
            write.MetadataPointer = extended ? 0 : separate.Iova;
            return write;
        }

        // A write onto a deallocated block whose data write fails: the tuple went first, PI catches the tear.
        ns.Deallocate(3, 1);
        File(ns).InjectedFault = (operation, offset) => operation == MediaOperation.Write && offset < DataEnd ? Errno.EIO : 0;
        Assert.That(host.Execute(q, Write(3)).Status, Is.EqualTo(NvmeStatus.WriteFault.Value));
        File(ns).InjectedFault = null;
        Assert.That(Classify(ns, 3, out _), Is.EqualTo(Seen.FailedPi));

        // Write Zeroes with DEAC=1 whose data zeroing fails: the block stays as written.
        Assert.That(host.Execute(q, Write(7)).Status, Is.Zero);
        Assert.That(Classify(ns, 7, out byte[] before), Is.EqualTo(Seen.ValidPi));
        File(ns).InjectedFault = (operation, offset) => operation is MediaOperation.Zero or MediaOperation.Write && offset < DataEnd ? Errno.EIO : 0;
        var zeroes = TestHost.Rw(NvmOpcode.WriteZeroes, 7, 1, 0, cdw12Flags: CommandFields.Deallocate);
        Assert.That(host.Execute(q, zeroes).Status, Is.EqualTo(NvmeStatus.WriteFault.Value));
        File(ns).InjectedFault = null;
        Assert.That(Classify(ns, 7, out byte[] after), Is.EqualTo(Seen.ValidPi));
        Assert.That(after, Is.EqualTo(before));
    }
}
