using System.Buffers.Binary;
using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation.Media;

/// <summary>
/// The asynchronous media path of a file namespace, at the register and queue level (inline
/// controller): the device keeps fetching while media I/O is in flight and completes commands
/// out of order; commands wait for media buffers instead of failing; Flush comes after the
/// writes before it; reset and unmapped host memory with media I/O in flight; data and PI
/// through every layout. <see cref="AsyncMedia.HoldSubmissions"/> plays slow media.
/// </summary>
public class AsyncMediaTests
{
    private const int Block = 4096;
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("pnvme-async-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private TestHost FileHost(long capacity = 16 << 20, bool direct = false, Action<EmulatedNamespaceOptions>? configure = null, int mdts = 7)
        => TestHost.Create(ns =>
        {
            ns.BlockSize = Block;
            ns.CapacityBytes = capacity;
            ns.Backend = MediaBackendKind.File;
            ns.FilePath = Path.Combine(_dir, "ns.img");
            ns.DirectIo = direct;
            configure?.Invoke(ns);
        }, controller => controller.Mdts = mdts);

    private static AsyncMedia Media(TestHost host) => host.Controller.Core.Media ?? throw new AssertionException("the file namespace is not on the asynchronous media path");

    [TestCase(false)]
    [TestCase(true)]
    public void AReadCompletesWhileALongVerifyFetchedBeforeItIsStillReading(bool direct)
    {
        using var host = FileHost(capacity: 64 << 20, direct: direct);
        var q = host.Start(entries: 8);
        var data = host.Alloc(Block);
        ushort verify = host.Submit(q, TestHost.Rw(NvmOpcode.Verify, 0, 16384, 0), ring: false);   // 64 MiB: 128 chunks of MDTS, one after the other
        ushort read = host.Submit(q, TestHost.Rw(NvmOpcode.Read, 5, 1, data.Iova));
        var first = host.Reap(q);
        Assert.That(first.CommandId, Is.EqualTo(read), "the read, fetched after the Verify, completes first");
        Assert.That(Media(host).ActiveCommands, Is.EqualTo(1), "the Verify's media I/O is still in flight");
        var second = host.Reap(q);
        Assert.That((second.CommandId, second.Status), Is.EqualTo((verify, (ushort)0)));
    }

    [Test]
    public void CommandsThatFindNoMediaBufferWaitInTheDeviceAndAllSucceed()
    {
        const int commands = 63, blocks = 128;   // 63 writes of 512 KiB: far more than the arena holds at once
        using var host = FileHost(capacity: commands * blocks * (long)Block, configure: ns => { ns.MetadataSize = 8; ns.PiType = 1; });
        var q = host.Start(entries: 64);
        int arenaPages = Media(host).ArenaPages;
        Assert.That(arenaPages, Is.LessThan(commands * (blocks + 1)), "the test needs commands to wait for buffers");
        var buffers = new DmaBuffer[commands];
        var lists = new DmaBuffer[commands];
        for (int i = 0; i < commands; i++)
        {
            buffers[i] = host.Alloc(blocks * Block);
            new Random(i).NextBytes(buffers[i].Span);
            lists[i] = PrpList(host, buffers[i], blocks * Block);
        }
        const uint insert = CommandFields.Pract | CommandFields.PrchkGuard | CommandFields.PrchkReferenceTag;
        for (int i = 0; i < commands; i++)
        {
            var write = TestHost.Rw(NvmOpcode.Write, (ulong)(i * blocks), blocks, buffers[i].Iova, lists[i].Iova, cdw12Flags: insert);
            write.Cdw14 = (uint)(i * blocks);
            host.Submit(q, write, ring: i == commands - 1);
        }
        for (int i = 0; i < commands; i++)
            Assert.That(host.Reap(q).Status, Is.Zero);

        var back = host.Alloc(blocks * Block);
        var backList = PrpList(host, back, blocks * Block);
        for (int i = 0; i < commands; i += 9)
        {
            var read = TestHost.Rw(NvmOpcode.Read, (ulong)(i * blocks), blocks, back.Iova, backList.Iova, cdw12Flags: insert);
            read.Cdw14 = (uint)(i * blocks);
            Assert.That(host.Execute(q, read).Status, Is.Zero);
            Assert.That(back.Span.SequenceEqual(buffers[i].Span), Is.True, $"command {i}'s blocks");
        }
    }

    [Test]
    public void FlushCompletesAfterTheWriteBeforeIt()
    {
        using var host = FileHost();
        var q = host.Start();
        var data = host.Alloc(Block);
        Media(host).HoldSubmissions = true;
        ushort write = host.Submit(q, TestHost.Rw(NvmOpcode.Write, 3, 1, data.Iova));
        host.Progress();
        ushort flush = host.Submit(q, TestHost.Command((byte)NvmOpcode.Flush, 1));
        for (int i = 0; i < 5; i++)
            host.Progress();
        Assert.That(host.TryReap(q, out _), Is.False, "the write is held, so the Flush waits for it");
        Media(host).HoldSubmissions = false;
        var first = host.Reap(q);
        var second = host.Reap(q);
        Assert.That((first.CommandId, second.CommandId), Is.EqualTo((write, flush)));
        Assert.That((first.Status, second.Status), Is.EqualTo(((ushort)0, (ushort)0)));
    }

    [Test]
    public void AForceUnitAccessWriteStoresMetadataAndDataDurablyAndAPlainWriteDoesNot()
    {
        using var host = FileHost(configure: ns => { ns.MetadataSize = 8; ns.PiType = 1; });
        var q = host.Start();
        var data = host.Alloc(4 * Block);
        new Random(11).NextBytes(data.Span);
        const uint insert = CommandFields.Pract | CommandFields.PrchkGuard | CommandFields.PrchkReferenceTag;
        var list = PrpList(host, data, 4 * Block);
        var write = TestHost.Rw(NvmOpcode.Write, 0, 4, data.Iova, list.Iova, cdw12Flags: insert);
        Assert.That(host.Execute(q, write).Status, Is.Zero);
        Assert.That(Media(host).DurableWrites, Is.Zero, "without FUA the page cache may hold the write");
        write.Cdw12 |= CommandFields.ForceUnitAccess;
        Assert.That(host.Execute(q, write).Status, Is.Zero);
        Assert.That(Media(host).DurableWrites, Is.EqualTo(2), "FUA: the metadata write and the data write both carry RWF_DSYNC");
        data.Span.Clear();
        var read = TestHost.Rw(NvmOpcode.Read, 0, 4, data.Iova, list.Iova, cdw12Flags: insert);
        Assert.That(host.Execute(q, read).Status, Is.Zero);
        var expected = new byte[4 * Block];
        new Random(11).NextBytes(expected);
        Assert.That(data.Span.SequenceEqual(expected), Is.True);
    }

    [TestCase(MediaBackendKind.Ram)]
    [TestCase(MediaBackendKind.Null)]
    public void RamAndNullNamespacesCompleteInTheSamePassWithoutTheMediaRing(MediaBackendKind backend)
    {
        using var host = TestHost.Create(ns => { ns.BlockSize = Block; ns.CapacityBytes = 1 << 20; ns.Backend = backend; });
        var q = host.Start();
        Assert.That(host.Controller.Core.Media, Is.Null, "no io_uring for memory media");
        var data = host.Alloc(Block);
        data.Span.Fill(0x3C);
        ushort cid = host.Submit(q, TestHost.Rw(NvmOpcode.Write, 2, 1, data.Iova));
        host.Progress();
        Assert.That(host.TryReap(q, out var completion), Is.True, "the synchronous path completes a command in the pass that fetched it");
        Assert.That((completion.CommandId, completion.Status), Is.EqualTo((cid, (ushort)0)));
    }

    [Test]
    public void AReadOfABlockBeingWrittenWaitsForTheWriteAndOthersDoNot()
    {
        using var host = FileHost(configure: ns => { ns.MetadataSize = 8; ns.PiType = 1; });
        var q = host.Start();
        var old = host.Alloc(Block);
        var fresh = host.Alloc(Block);
        var back = host.Alloc(Block);
        var other = host.Alloc(Block);
        new Random(1).NextBytes(old.Span);
        new Random(2).NextBytes(fresh.Span);
        const uint insert = CommandFields.Pract | CommandFields.PrchkGuard | CommandFields.PrchkReferenceTag;
        SubmissionEntry Rw(NvmOpcode opcode, ulong lba, DmaBuffer buffer)
        {
            var c = TestHost.Rw(opcode, lba, 1, buffer.Iova, cdw12Flags: insert);
            c.Cdw14 = (uint)lba;
            return c;
        }
        Assert.That(host.Execute(q, Rw(NvmOpcode.Write, 10, old)).Status, Is.Zero);

        Media(host).HoldSubmissions = true;
        ushort write = host.Submit(q, Rw(NvmOpcode.Write, 10, fresh));
        ushort elsewhere = host.Submit(q, Rw(NvmOpcode.Read, 50, other));
        ushort read = host.Submit(q, Rw(NvmOpcode.Read, 10, back));
        host.Progress();
        Assert.That(Media(host).ActiveCommands, Is.EqualTo(2), "the write and the read of another block run; the read of block 10 waits");
        Media(host).HoldSubmissions = false;
        var completions = new[] { host.Reap(q), host.Reap(q), host.Reap(q) };
        Assert.That(completions.Select(c => c.Status), Is.All.Zero);
        Assert.That(Array.FindIndex(completions, c => c.CommandId == read), Is.GreaterThan(Array.FindIndex(completions, c => c.CommandId == write)));
        Assert.That(completions.Select(c => c.CommandId), Does.Contain(elsewhere));
        Assert.That(back.Span.SequenceEqual(fresh.Span), Is.True, "the whole new block, never its new PI over the old data");
    }

    [Test]
    public void WriteZeroesWaitsForTheWritesInFlightOnItsNamespace()
    {
        using var host = FileHost();
        var q = host.Start();
        var data = host.Alloc(Block);
        data.Span.Fill(0x77);
        Media(host).HoldSubmissions = true;
        ushort write = host.Submit(q, TestHost.Rw(NvmOpcode.Write, 4, 1, data.Iova));
        ushort zeroes = host.Submit(q, TestHost.Rw(NvmOpcode.WriteZeroes, 0, 8, 0));
        for (int i = 0; i < 3; i++)
            host.Progress();
        Assert.That(host.TryReap(q, out _), Is.False, "Write Zeroes waits for the write");
        Media(host).HoldSubmissions = false;
        Assert.That((host.Reap(q).CommandId, host.Reap(q).CommandId), Is.EqualTo((write, zeroes)));
        Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 4, 1, data.Iova)).Status, Is.Zero);
        Assert.That(data.Span.ToArray(), Is.All.Zero, "the zeroes came after the write");
    }

    [Test]
    public void AResetWithMediaInFlightPostsNothingAndLeavesHostMemoryAlone()
    {
        using var host = FileHost();
        var q = host.Start();
        var data = host.Alloc(Block);
        new Random(1).NextBytes(data.Span);
        Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 9, 1, data.Iova)).Status, Is.Zero);
        data.Span.Fill(0xAA);
        Media(host).HoldSubmissions = true;
        host.Submit(q, TestHost.Rw(NvmOpcode.Read, 9, 1, data.Iova));
        host.Progress();
        Assert.That(Media(host).ActiveCommands, Is.EqualTo(1));
        host.Disable();   // CC.EN = 0 with the read's media I/O in flight
        Media(host).HoldSubmissions = false;
        Assert.That(Media(host).ActiveCommands, Is.Zero, "the reset waited for the media I/O");
        Assert.That(data.Span.ToArray(), Is.All.EqualTo(0xAA), "nothing of the abandoned read reached the host");
        Assert.That(host.TryReap(q, out _), Is.False, "and no completion");

        q = host.Start();
        Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 9, 1, data.Iova)).Status, Is.Zero);
        var expected = new byte[Block];
        new Random(1).NextBytes(expected);
        Assert.That(data.Span.SequenceEqual(expected), Is.True);
    }

    [Test]
    public unsafe void AReadWhoseHostBufferWasUnmappedInFlightFailsWithoutWritingIt()
    {
        using var host = FileHost();
        var q = host.Start();
        var data = host.Alloc(Block);
        Media(host).HoldSubmissions = true;
        ushort cid = host.Submit(q, TestHost.Rw(NvmOpcode.Read, 0, 1, data.Iova));
        host.Progress();
        host.Transport.Unmap(data.Iova, (nuint)data.Length);   // the host's error: its memory is no longer the device's
        data.Span.Fill(0x5A);
        Media(host).HoldSubmissions = false;
        var completion = host.Reap(q);
        Assert.That((completion.CommandId, completion.Status), Is.EqualTo((cid, NvmeStatus.DataTransferError.Value)));
        Assert.That(data.Span.ToArray(), Is.All.EqualTo(0x5A), "the device looked the mapping up again and did not write");
    }

    [TestCase(512, 0, 0, false, false)]
    [TestCase(512, 8, 1, false, true)]
    [TestCase(4096, 8, 1, true, false)]
    [TestCase(4096, 64, 3, true, true)]
    [TestCase(4096, 16, 2, false, false)]
    public void DataAndPiSurviveTheFileThroughEveryLayout(int blockSize, int ms, int pi, bool extended, bool first)
    {
        using var host = FileHost(configure: ns =>
        {
            ns.BlockSize = blockSize;
            ns.MetadataSize = ms;
            ns.PiType = pi;
            ns.PiFirst = first;
            ns.ExtendedLba = extended;
        });
        var q = host.Start();
        int blocks = 8;
        int hostBlock = extended ? blockSize + ms : blockSize;
        // PRP1 with an offset, so blocks straddle host pages.
        var buffer = host.Alloc(blocks * hostBlock + 2 * Block);
        ulong prp1 = buffer.Iova + 256;
        var list = host.Alloc(Block);
        for (int i = 0; i < (blocks * hostBlock + 256) / Block + 1; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(list.Span[(8 * i)..], buffer.Iova + (ulong)(Block * (i + 1)));
        var metadata = host.Alloc(blocks * Math.Max(ms, 1));
        var payload = new byte[blocks * hostBlock];
        new Random(blockSize + ms).NextBytes(payload);
        payload.CopyTo(buffer.Span[256..]);
        // PRACT=0 without checks: data and metadata (the host's PI bytes included) are stored as they are.
        // PRP2: the second page itself when the transfer ends there, a PRP list otherwise (NVMe Base §4.1.1).
        ulong prp2 = 256 + blocks * hostBlock <= 2 * Block ? buffer.Iova + Block : list.Iova;
        var write = TestHost.Rw(NvmOpcode.Write, 16, blocks, prp1, prp2);
        write.MetadataPointer = metadata.Iova;
        new Random(7).NextBytes(metadata.Span);
        byte[] storedMetadata = metadata.Span[..(blocks * ms)].ToArray();
        Assert.That(host.Execute(q, write).Status, Is.Zero);

        buffer.Span.Clear();
        metadata.Span.Clear();
        var read = write;
        read.Opcode = (byte)NvmOpcode.Read;
        Assert.That(host.Execute(q, read).Status, Is.Zero);
        Assert.That(buffer.Span.Slice(256, payload.Length).SequenceEqual(payload), Is.True);
        if (!extended)
            Assert.That(metadata.Span[..(blocks * ms)].ToArray(), Is.EqualTo(storedMetadata));
        var compare = write;
        compare.Opcode = (byte)NvmOpcode.Compare;
        if (!extended)
            storedMetadata.CopyTo(metadata.Span);
        Assert.That(host.Execute(q, compare).Status, Is.Zero, "Compare with the same blocks");
        buffer.Span[300] ^= 1;
        Assert.That(host.Execute(q, compare).Status, Is.EqualTo(NvmeStatus.CompareFailure.Value));
    }

    /// <summary>A PRP list for a buffer of <paramref name="bytes"/> (PRP1 = its first page).</summary>
    private static DmaBuffer PrpList(TestHost host, DmaBuffer buffer, int bytes)
    {
        var list = host.Alloc(Block);
        for (int page = 1; page < bytes / Block; page++)
            BinaryPrimitives.WriteUInt64LittleEndian(list.Span[(8 * (page - 1))..], buffer.Iova + (ulong)(page * Block));
        return list;
    }
}
