using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;

namespace PolledNvme.Tests.Emulation.Media;

/// <summary>
/// When the device hands its media operations to the kernel (inline controller, one pass that
/// fetches a full queue): O_DIRECT operations in groups of at most
/// <see cref="AsyncMedia.DirectSubmitBatch"/>, so the disk starts on the first ones while the
/// device prepares the rest; page-cache operations, which complete inside the enter, in one
/// io_uring_enter per pass. Counted through the media path's submission seams, not timed.
/// </summary>
public class DirectSubmissionTests
{
    private const int Block = 4096;
    private const int Commands = 32;
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("pnvme-direct-submit-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private TestHost FileHost(bool direct) => TestHost.Create(ns =>
    {
        ns.BlockSize = Block;
        ns.CapacityBytes = 16 << 20;
        ns.Backend = MediaBackendKind.File;
        ns.FilePath = Path.Combine(_dir, "ns.img");
        ns.DirectIo = direct;
    });

    private static AsyncMedia Media(TestHost host) => host.Controller.Core.Media ?? throw new AssertionException("the file namespace is not on the asynchronous media path");

    /// <summary>Places <see cref="Commands"/> one-block commands in the queue, rings once, and gives the device one pass.</summary>
    private static ushort[] SubmitInOnePass(TestHost host, HostQueuePair q, NvmOpcode opcode, DmaBuffer[] buffers)
    {
        var ids = new ushort[Commands];
        for (int i = 0; i < Commands; i++)
            ids[i] = host.Submit(q, TestHost.Rw(opcode, (ulong)(i * 7), 1, buffers[i].Iova), ring: i == Commands - 1);
        host.Progress();
        return ids;
    }

    [TestCase(NvmOpcode.Write)]
    [TestCase(NvmOpcode.Read)]
    public void OneDirectPassHandsItsOperationsToTheKernelInSmallGroupsAndAllComplete(NvmOpcode opcode)
    {
        using var host = FileHost(direct: true);
        var q = host.Start(entries: 64);
        Assert.That(host.Controller.Core.Namespaces[0].AsyncFile!.IsDirect, Is.True, "ext4/xfs temp dirs support O_DIRECT");
        var buffers = new DmaBuffer[Commands];
        for (int i = 0; i < Commands; i++)
        {
            buffers[i] = host.Alloc(Block);
            buffers[i].Span.Fill((byte)(i + 1));
        }
        var media = Media(host);
        long before = media.Submissions;
        media.LargestSubmission = 0;

        var ids = SubmitInOnePass(host, q, opcode, buffers);

        Assert.That(media.LargestSubmission, Is.EqualTo((uint)AsyncMedia.DirectSubmitBatch),
            "no io_uring_enter hands over more than a group, and the pass fills its groups");
        Assert.That(media.Submissions - before, Is.EqualTo(Commands / AsyncMedia.DirectSubmitBatch),
            "the groups go as they fill, within the pass that fetched them");
        var seen = new HashSet<ushort>();
        for (int i = 0; i < Commands; i++)
        {
            var completion = host.Reap(q);
            Assert.That(completion.Status, Is.Zero);
            seen.Add(completion.CommandId);
        }
        Assert.That(seen, Is.EquivalentTo(ids));
        if (opcode == NvmOpcode.Write)
        {
            var back = host.Alloc(Block);
            for (int i = 0; i < Commands; i += 5)
            {
                Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Read, (ulong)(i * 7), 1, back.Iova)).Status, Is.Zero);
                Assert.That(back.Span.SequenceEqual(buffers[i].Span), Is.True, $"block of command {i}");
            }
        }
    }

    [Test]
    public void APageCachePassHandsItsReadsToTheKernelInOneEnter()
    {
        using var host = FileHost(direct: false);
        var q = host.Start(entries: 64);
        var buffers = new DmaBuffer[Commands];
        for (int i = 0; i < Commands; i++)
            buffers[i] = host.Alloc(Block);
        var media = Media(host);
        long before = media.Submissions;
        media.LargestSubmission = 0;

        SubmitInOnePass(host, q, NvmOpcode.Read, buffers);

        Assert.That((media.Submissions - before, media.LargestSubmission), Is.EqualTo((1L, (uint)Commands)),
            "page-cache reads complete inside the enter: one per pass");
        for (int i = 0; i < Commands; i++)
            Assert.That(host.Reap(q).Status, Is.Zero);
    }
}
