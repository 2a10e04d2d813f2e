using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;
using PolledNvme.Uring;

namespace PolledNvme.Tests.Emulation.Media;

/// <summary>
/// Page-cache writes done on the device thread (<see cref="AsyncMedia"/>, AsyncMedia.Inline.cs):
/// which writes go inline and which stay in the ring (Force Unit Access, O_DIRECT data), and
/// that the inline path keeps the ring's order — a write's metadata completes before its data
/// starts, a failed metadata write leaves the data unwritten, a short one is resumed before the
/// data goes. Failures come from <see cref="AsyncMedia.InlineWriteFault"/> (a real pwrite result
/// would need a file system that fails on demand).
/// </summary>
public class InlineWriteTests
{
    private const int Block = 4096;
    private const uint Insert = CommandFields.Pract | CommandFields.PrchkGuard | CommandFields.PrchkReferenceTag;
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("pnvme-inline-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private TestHost PiFileHost(bool direct = false) => TestHost.Create(ns =>
    {
        ns.BlockSize = Block;
        ns.MetadataSize = 8;
        ns.PiType = 1;
        ns.CapacityBytes = 16 << 20;
        ns.Backend = MediaBackendKind.File;
        ns.FilePath = Path.Combine(_dir, "ns.img");
        ns.DirectIo = direct;
    });

    private static AsyncMedia Media(TestHost host) => host.Controller.Core.Media ?? throw new AssertionException("the file namespace is not on the asynchronous media path");

    private static SubmissionEntry Write(ulong lba, DmaBuffer data, bool fua = false)
    {
        var write = TestHost.Rw(NvmOpcode.Write, lba, 1, data.Iova, cdw12Flags: Insert | (fua ? CommandFields.ForceUnitAccess : 0));
        write.Cdw14 = (uint)lba;
        return write;
    }

    private static void AssertReadsBack(TestHost host, HostQueuePair q, ulong lba, byte[] expected)
    {
        var back = host.Alloc(Block);
        var read = TestHost.Rw(NvmOpcode.Read, lba, 1, back.Iova, cdw12Flags: Insert);
        read.Cdw14 = (uint)lba;
        Assert.That(host.Execute(q, read).Status, Is.Zero, $"block {lba} reads back with its PI checked");
        Assert.That(back.Span.SequenceEqual(expected), Is.True, $"block {lba}'s data");
    }

    [Test]
    public void PlainPageCacheWritesGoInlineAndForceUnitAccessWritesGoToTheRing()
    {
        using var host = PiFileHost();
        var q = host.Start();
        var data = host.Alloc(Block);
        new Random(5).NextBytes(data.Span);
        byte[] written = data.Span.ToArray();

        Assert.That(host.Execute(q, Write(7, data)).Status, Is.Zero);
        Assert.That((Media(host).InlineWrites, Media(host).DurableWrites), Is.EqualTo((2L, 0L)), "metadata and data written by the device thread");

        Assert.That(host.Execute(q, Write(8, data, fua: true)).Status, Is.Zero);
        Assert.That((Media(host).InlineWrites, Media(host).DurableWrites), Is.EqualTo((2L, 2L)), "FUA: both parts in the ring with RWF_DSYNC");

        Media(host).InlineBufferedWrites = false;
        Assert.That(host.Execute(q, Write(9, data)).Status, Is.Zero);
        Assert.That(Media(host).InlineWrites, Is.EqualTo(2), "switched off: the ring takes page-cache writes too");

        foreach (ulong lba in new ulong[] { 7, 8, 9 })
            AssertReadsBack(host, q, lba, written);
    }

    [Test]
    public void WithODirectOnlyTheMetadataWriteGoesInlineAndTheDataAfterIt()
    {
        using var host = PiFileHost(direct: true);
        var q = host.Start();
        var data = host.Alloc(Block);
        new Random(6).NextBytes(data.Span);
        var seen = new List<long>();
        Media(host).InlineWriteFault = (offset, _) =>
        {
            seen.Add(offset);
            return 0;
        };
        Assert.That(host.Execute(q, Write(3, data)).Status, Is.Zero);
        var ns = host.Controller.Core.Namespaces[0];
        Assert.That(seen, Is.EqualTo(new[] { ns.MetadataOffset(3) }), "the data part goes to the ring (O_DIRECT), the metadata part inline before it");
        AssertReadsBack(host, q, 3, data.Span.ToArray());
    }

    [Test]
    public void AFailedInlineMetadataWriteFailsTheCommandAndLeavesTheDataUnwritten()
    {
        using var host = PiFileHost();
        var q = host.Start();
        var data = host.Alloc(Block);
        new Random(7).NextBytes(data.Span);
        var ns = host.Controller.Core.Namespaces[0];
        var writes = new List<long>();
        Media(host).InlineWriteFault = (offset, _) =>
        {
            writes.Add(offset);
            return offset == ns.MetadataOffset(12) ? -Errno.EIO : 0;
        };

        var completion = host.Execute(q, Write(12, data));
        Assert.That(new NvmeStatus(completion.Status).TypeAndCode, Is.EqualTo(NvmeStatus.WriteFault.TypeAndCode), "EIO on a write is Write Fault");
        Assert.That(writes, Is.EqualTo(new[] { ns.MetadataOffset(12) }), "the data write was cancelled, never made");

        var block = new byte[Block];
        var metadata = new byte[8];
        ns.Read(12, 1, block, metadata);
        Assert.That(block.All(b => b == 0) && metadata.All(b => b == 0xFF), Is.True, "the block is still deallocated: zeros behind the all-FFh tuple");

        Media(host).InlineWriteFault = null;
        Assert.That(host.Execute(q, Write(12, data)).Status, Is.Zero, "the device lives on");
        AssertReadsBack(host, q, 12, data.Span.ToArray());
    }

    [Test]
    public void AShortInlineMetadataWriteIsResumedBeforeTheDataIsWritten()
    {
        using var host = PiFileHost();
        var q = host.Start();
        var data = host.Alloc(Block);
        new Random(8).NextBytes(data.Span);
        var ns = host.Controller.Core.Namespaces[0];
        var writes = new List<(long Offset, int Length)>();
        bool cut = false;
        Media(host).InlineWriteFault = (offset, length) =>
        {
            writes.Add((offset, length));
            if (cut || offset != ns.MetadataOffset(20))
                return 0;
            cut = true;
            return 3;   // 3 of the 8 bytes
        };

        Assert.That(host.Execute(q, Write(20, data)).Status, Is.Zero);
        Assert.That(writes, Is.EqualTo(new[] { (ns.MetadataOffset(20), 8), (ns.MetadataOffset(20) + 3, 5), (ns.DataOffset(20), Block) }),
            "the metadata's rest, then the data: the short write held the data back");
        AssertReadsBack(host, q, 20, data.Span.ToArray());
    }
}
