using System.Buffers.Binary;
using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation;

/// <summary>NVM command set I/O: data movement, PRP walking, DMA protection, status cases, backends.</summary>
public class IoCommandTests
{
    internal static void Pattern(Span<byte> span, int seed)
    {
        for (int i = 0; i < span.Length; i++)
            span[i] = (byte)(i * 7 + seed * 31 + (i >> 9));
    }

    [Test]
    public void WriteThenReadRoundTripsAcrossTwoPages()
    {
        using var host = TestHost.Create();
        var q = host.Start();
        var source = host.Alloc(8192);
        Pattern(source.Span.Slice(512, 4096), 1);
        // PRP1 starts mid-page, so the 4 KiB transfer spans two pages: PRP2 is the second page.
        var write = TestHost.Rw(NvmOpcode.Write, 10, 8, source.Iova + 512, source.Iova + 4096);
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");
        var sink = host.Alloc(4096);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 10, 8, sink.Iova)), NvmeStatus.Success, "read");
        Assert.That(sink.Span.SequenceEqual(source.Span.Slice(512, 4096)), Is.True);
    }

    [Test]
    public void PrpListIsWalkedAcrossChainedListPages()
    {
        using var host = TestHost.Create();
        var q = host.Start();
        // Five separate data pages; PRP1 = page 0, the list holds pages 1-4. The list starts 16
        // bytes before the end of its page: entry 0 = page 1, entry 1 = pointer to the next list page.
        var pages = Enumerable.Range(0, 5).Select(_ => host.Alloc(4096)).ToArray();
        for (int i = 0; i < pages.Length; i++)
            Pattern(pages[i].Span, i);
        var lists = host.Alloc(8192);
        ulong listStart = lists.Iova + 4096 - 16;
        BinaryPrimitives.WriteUInt64LittleEndian(lists.Span[(4096 - 16)..], pages[1].Iova);
        BinaryPrimitives.WriteUInt64LittleEndian(lists.Span[(4096 - 8)..], lists.Iova + 4096);
        for (int i = 2; i < 5; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(lists.Span[(4096 + 8 * (i - 2))..], pages[i].Iova);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 40, pages[0].Iova, listStart)), NvmeStatus.Success, "write");

        var sink = host.Alloc(5 * 4096);
        var list = host.Alloc(4096);
        for (int i = 1; i < 5; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(list.Span[(8 * (i - 1))..], sink.Iova + (ulong)(4096 * i));
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 40, sink.Iova, list.Iova)), NvmeStatus.Success, "read");
        for (int i = 0; i < 5; i++)
            Assert.That(sink.Span.Slice(4096 * i, 4096).SequenceEqual(pages[i].Span), Is.True, $"page {i}");
    }

    [Test]
    public unsafe void DmaOutsideTheMappingsFailsAndLeavesTheMediaUnchanged()
    {
        using var host = TestHost.Create();
        var q = host.Start();
        var original = host.Alloc(3 * 4096);
        Pattern(original.Span, 3);
        var list = host.Alloc(4096);
        BinaryPrimitives.WriteUInt64LittleEndian(list.Span, original.Iova + 4096);
        BinaryPrimitives.WriteUInt64LittleEndian(list.Span[8..], original.Iova + 8192);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 24, original.Iova, list.Iova)), NvmeStatus.Success, "write");

        var other = host.Alloc(3 * 4096);
        var badList = host.Alloc(4096);
        BinaryPrimitives.WriteUInt64LittleEndian(badList.Span, other.Iova + 4096);
        BinaryPrimitives.WriteUInt64LittleEndian(badList.Span[8..], 0x6_0000_0000);   // not mapped
        var attempts = new (string What, SubmissionEntry Command)[]
        {
            ("unmapped PRP1", TestHost.Rw(NvmOpcode.Write, 0, 8, 0x6_0000_0000)),
            ("host virtual address as PRP1", TestHost.Rw(NvmOpcode.Write, 0, 8, (ulong)other.Pointer)),
            ("unmapped PRP list entry", TestHost.Rw(NvmOpcode.Write, 0, 24, other.Iova, badList.Iova)),
            ("unmapped PRP list", TestHost.Rw(NvmOpcode.Write, 0, 24, other.Iova, 0x6_0000_0000)),
            ("PRP2 past the end of its mapping", TestHost.Rw(NvmOpcode.Write, 0, 16, other.Iova + 8192, other.Iova + 12288)),
        };
        foreach (var (what, command) in attempts)
            Assert.That(host.Execute(q, command).Status, Is.EqualTo(NvmeStatus.DataTransferError.Value), what);

        var sink = host.Alloc(3 * 4096);
        var sinkList = host.Alloc(4096);
        BinaryPrimitives.WriteUInt64LittleEndian(sinkList.Span, sink.Iova + 4096);
        BinaryPrimitives.WriteUInt64LittleEndian(sinkList.Span[8..], sink.Iova + 8192);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 24, sink.Iova, sinkList.Iova)), NvmeStatus.Success, "read");
        Assert.That(sink.Span.SequenceEqual(original.Span), Is.True);
    }

    [Test]
    public void MisalignedPrpsAreInvalidPrpOffsets()
    {
        using var host = TestHost.Create();
        var q = host.Start();
        var buffer = host.Alloc(3 * 4096);
        Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 1, buffer.Iova + 2)).Status, Is.EqualTo(NvmeStatus.PrpOffsetInvalid.Value), "PRP1 not dword aligned");
        Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 16, buffer.Iova, buffer.Iova + 4096 + 512)).Status,
            Is.EqualTo(NvmeStatus.PrpOffsetInvalid.Value), "PRP2 page with an offset");
        var list = host.Alloc(4096);
        BinaryPrimitives.WriteUInt64LittleEndian(list.Span, buffer.Iova + 4096 + 8);
        Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 24, buffer.Iova, list.Iova)).Status,
            Is.EqualTo(NvmeStatus.PrpOffsetInvalid.Value), "list entry with an offset");
    }

    [Test]
    public void AChainPointerWithAnOffsetIsAnInvalidPrpOffset()
    {
        // Found by the SQE fuzzer: the pointer to the next list page (the last slot of a list page) was taken
        // at any qword offset, like PRP2. It is a PRP entry inside a list, so its offset must be 0 (NVMe Base
        // 2.0 Fig 87); QEMU refuses it too.
        using var host = TestHost.Create();
        var q = host.Start();
        var data = host.Alloc(5 * 4096);
        var lists = host.Alloc(8192);
        BinaryPrimitives.WriteUInt64LittleEndian(lists.Span[(4096 - 16)..], data.Iova + 4096);
        BinaryPrimitives.WriteUInt64LittleEndian(lists.Span[(4096 - 8)..], lists.Iova + 4096 + 8);   // chain: offset 8
        for (int i = 2; i < 5; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(lists.Span[(4096 + 8 + 8 * (i - 2))..], data.Iova + (ulong)(4096 * i));
        var write = TestHost.Rw(NvmOpcode.Write, 0, 40, data.Iova, lists.Iova + 4096 - 16);
        Assert.That(new NvmeStatus(host.Execute(q, write).Status), Is.EqualTo(NvmeStatus.PrpOffsetInvalid));
    }

    [Test]
    public void APrpListIsReadOnlyAsFarAsTheTransferNeedsIt()
    {
        // Found by the SQE fuzzer: the device read a PRP list to the end of its memory page. With 8 KiB pages
        // and a list in the last bytes of a 4 KiB mapping, the entries it does not need lie outside every
        // mapping, and a valid command failed with Data Transfer Error. Only the needed entries are read (QEMU too).
        const int page = 8192;
        using var host = TestHost.Create();
        Assert.That(host.Enable(cc: TestHost.DefaultCc | (1u << ControllerConfiguration.MpsShift)) & ControllerStatus.Ready, Is.Not.Zero);
        var q = host.CreateQueuePair(1);
        var data = host.AllocAligned(3 * page, page);
        Pattern(data.Span, 5);
        var list = host.Alloc(4096);
        if (list.Iova % page != 0)
        {
            host.Alloc(8192);   // each mapping is followed by a guard page: this one shifts the next IOVA by 12 KiB
            list = host.Alloc(4096);
        }
        Assert.That(list.Iova % page, Is.Zero, "the list's memory page runs past its 4 KiB mapping");
        BinaryPrimitives.WriteUInt64LittleEndian(list.Span[(4096 - 16)..], data.Iova + page);
        BinaryPrimitives.WriteUInt64LittleEndian(list.Span[(4096 - 8)..], data.Iova + 2 * page);
        var write = TestHost.Rw(NvmOpcode.Write, 0, 3 * page / 512, data.Iova, list.Iova + 4096 - 16);
        Assert.That(new NvmeStatus(host.Execute(q, write).Status), Is.EqualTo(NvmeStatus.Success));
        var sink = host.AllocAligned(3 * page, page);
        var sinkList = host.AllocAligned(page, page);
        BinaryPrimitives.WriteUInt64LittleEndian(sinkList.Span, sink.Iova + page);
        BinaryPrimitives.WriteUInt64LittleEndian(sinkList.Span[8..], sink.Iova + 2 * page);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 3 * page / 512, sink.Iova, sinkList.Iova)), NvmeStatus.Success, "read");
        Assert.That(sink.Span.SequenceEqual(data.Span), Is.True);
    }

    [Test]
    public void StatusCases()
    {
        using var host = TestHost.Create(controller: o => o.Mdts = 1);   // 8 KiB
        var q = host.Start();
        var buffer = host.Alloc(16384);
        Assert.Multiple(() =>
        {
            Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 2048, 1, buffer.Iova)).Status, Is.EqualTo(NvmeStatus.LbaOutOfRange.Value), "SLBA = NSZE");
            Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 2047, 2, buffer.Iova)).Status, Is.EqualTo(NvmeStatus.LbaOutOfRange.Value), "runs past the end");
            Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Read, ulong.MaxValue, 2, buffer.Iova)).Status, Is.EqualTo(NvmeStatus.LbaOutOfRange.Value), "wraps");
            Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 1, buffer.Iova, nsid: 0)).Status, Is.EqualTo(NvmeStatus.InvalidNamespaceOrFormat.Value), "nsid 0");
            Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 1, buffer.Iova, nsid: 2)).Status, Is.EqualTo(NvmeStatus.InvalidNamespaceOrFormat.Value), "nsid 2");
            Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 1, buffer.Iova, nsid: 0xFFFF_FFFF)).Status, Is.EqualTo(NvmeStatus.InvalidNamespaceOrFormat.Value), "broadcast");
            Assert.That(host.Execute(q, TestHost.Rw((NvmOpcode)0x7F, 0, 1, buffer.Iova)).Status, Is.EqualTo(NvmeStatus.InvalidCommandOpcode.Value), "opcode");
            Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 17, buffer.Iova, buffer.Iova + 4096)).Status, Is.EqualTo(NvmeStatus.InvalidField.Value), "above MDTS");
            Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 16, buffer.Iova, buffer.Iova + 4096, cdw12Flags: CommandFields.ForceUnitAccess)).Status, Is.Zero, "FUA at MDTS");
            Assert.That(host.Execute(q, TestHost.Command((byte)NvmOpcode.Flush, 1)).Status, Is.Zero, "flush");
            Assert.That(host.Execute(q, TestHost.Command((byte)NvmOpcode.Flush, 0xFFFF_FFFF)).Status, Is.Zero, "flush all");
            Assert.That(host.Execute(q, TestHost.Command((byte)NvmOpcode.Flush, 3)).Status, Is.EqualTo(NvmeStatus.InvalidNamespaceOrFormat.Value), "flush nsid 3");
        });
        var sgl = TestHost.Rw(NvmOpcode.Read, 0, 1, buffer.Iova);
        sgl.Flags = 0x40;
        Assert.That(host.Execute(q, sgl).Status, Is.EqualTo(NvmeStatus.InvalidField.Value), "PSDT = SGL");
    }

    [Test]
    public void WriteZeroesAndDeallocateReadBackZeros()
    {
        using var host = TestHost.Create();
        var q = host.Start();
        var data = host.Alloc(4096);
        Pattern(data.Span, 5);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 8, data.Iova)), NvmeStatus.Success, "write");
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 8, 8, data.Iova)), NvmeStatus.Success, "write");
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.WriteZeroes, 2, 3, 0)), NvmeStatus.Success, "write zeroes");

        var ranges = host.Alloc(4096);
        BinaryPrimitives.WriteUInt32LittleEndian(ranges.Span[4..], 2);    // NLB
        BinaryPrimitives.WriteUInt64LittleEndian(ranges.Span[8..], 9);    // SLBA
        var dsm = TestHost.Command((byte)NvmOpcode.DatasetManagement, 1);
        dsm.Prp1 = ranges.Iova;
        dsm.Cdw10 = 0;
        dsm.Cdw11 = CommandFields.DsmAttributeDeallocate;
        TestHost.Expect(host.Execute(q, dsm), NvmeStatus.Success, "deallocate");

        var sink = host.Alloc(8192);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 16, sink.Iova, sink.Iova + 4096)), NvmeStatus.Success, "read");
        for (int lba = 0; lba < 16; lba++)
        {
            bool zero = lba is >= 2 and < 5 or >= 9 and < 11;
            var block = sink.Span.Slice(lba * 512, 512);
            Assert.That(block.IndexOfAnyExcept((byte)0) < 0, Is.EqualTo(zero), $"LBA {lba}");
            if (!zero)
                Assert.That(block.SequenceEqual(data.Span.Slice(lba % 8 * 512, 512)), Is.True, $"LBA {lba} kept");
        }
    }

    [Test]
    public void DeallocateRangeOutOfRangeChangesNothing()
    {
        using var host = TestHost.Create();
        var q = host.Start();
        var data = host.Alloc(4096);
        Pattern(data.Span, 6);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 8, data.Iova)), NvmeStatus.Success, "write");
        var ranges = host.Alloc(4096);
        BinaryPrimitives.WriteUInt32LittleEndian(ranges.Span[4..], 8);
        BinaryPrimitives.WriteUInt32LittleEndian(ranges.Span[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(ranges.Span[24..], 2048);   // second range past the end
        var dsm = TestHost.Command((byte)NvmOpcode.DatasetManagement, 1);
        dsm.Prp1 = ranges.Iova;
        dsm.Cdw10 = 1;
        dsm.Cdw11 = CommandFields.DsmAttributeDeallocate;
        Assert.That(host.Execute(q, dsm).Status, Is.EqualTo(NvmeStatus.LbaOutOfRange.Value));
        var sink = host.Alloc(4096);
        host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 8, sink.Iova));
        Assert.That(sink.Span.SequenceEqual(data.Span), Is.True);
    }

    [Test]
    public void CompareMatchesAndMismatches()
    {
        using var host = TestHost.Create(ns => ns.MetadataSize = 8);
        var q = host.Start();
        var data = host.Alloc(1024);
        var metadata = host.Alloc(16);
        Pattern(data.Span, 7);
        Pattern(metadata.Span[..16], 8);
        var write = TestHost.Rw(NvmOpcode.Write, 4, 2, data.Iova);
        write.MetadataPointer = metadata.Iova;
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");
        var compare = TestHost.Rw(NvmOpcode.Compare, 4, 2, data.Iova);
        compare.MetadataPointer = metadata.Iova;
        Assert.That(host.Execute(q, compare).Status, Is.Zero, "same data");
        metadata.Span[9] ^= 0x10;
        Assert.That(host.Execute(q, compare).Status, Is.EqualTo(NvmeStatus.CompareFailure.Value), "metadata differs");
        metadata.Span[9] ^= 0x10;
        data.Span[600] ^= 1;
        Assert.That(host.Execute(q, compare).Status, Is.EqualTo(NvmeStatus.CompareFailure.Value), "data differs");
    }

    [Test]
    public void SeparateMetadataTravelsThroughMptr()
    {
        using var host = TestHost.Create(ns => { ns.MetadataSize = 64; });
        var q = host.Start();
        var data = host.Alloc(2048);
        var metadata = host.Alloc(256);
        Pattern(data.Span, 9);
        Pattern(metadata.Span[..256], 10);
        var write = TestHost.Rw(NvmOpcode.Write, 100, 4, data.Iova);
        write.MetadataPointer = metadata.Iova;
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");
        var dataOut = host.Alloc(2048);
        var metadataOut = host.Alloc(256);
        var read = TestHost.Rw(NvmOpcode.Read, 100, 4, dataOut.Iova);
        read.MetadataPointer = metadataOut.Iova;
        TestHost.Expect(host.Execute(q, read), NvmeStatus.Success, "read");
        Assert.That(dataOut.Span[..2048].SequenceEqual(data.Span[..2048]), Is.True);
        Assert.That(metadataOut.Span[..256].SequenceEqual(metadata.Span[..256]), Is.True);
        read.MetadataPointer = 0x9_0000_0000;
        Assert.That(host.Execute(q, read).Status, Is.EqualTo(NvmeStatus.DataTransferError.Value), "unmapped MPTR");
        read.MetadataPointer = metadataOut.Iova + 4096 - 128;
        Assert.That(host.Execute(q, read).Status, Is.EqualTo(NvmeStatus.DataTransferError.Value), "MPTR buffer runs past its mapping");
    }

    [Test]
    public void ExtendedLbaInterleavesMetadataWithData()
    {
        using var host = TestHost.Create(ns => { ns.MetadataSize = 8; ns.ExtendedLba = true; });
        var q = host.Start();
        var data = host.Alloc(3 * 520);
        Pattern(data.Span[..(3 * 520)], 11);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 3, data.Iova)), NvmeStatus.Success, "write");
        var sink = host.Alloc(3 * 520);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 3, sink.Iova)), NvmeStatus.Success, "read");
        Assert.That(sink.Span[..(3 * 520)].SequenceEqual(data.Span[..(3 * 520)]), Is.True);
        // Only the data portion is block data: a 512-byte-per-block read of the same blocks would
        // need a separate buffer; reading one block shows the metadata bytes after the data.
        var one = host.Alloc(520);
        host.Execute(q, TestHost.Rw(NvmOpcode.Read, 1, 1, one.Iova));
        Assert.That(one.Span[..520].SequenceEqual(data.Span.Slice(520, 520)), Is.True);
    }

    [Test]
    public void MdtsCountsInterleavedMetadata()
    {
        // MDTS 1 = 8 KiB: 15 extended blocks of 520 bytes fit (7800), 16 do not (8320).
        using var host = TestHost.Create(ns => { ns.MetadataSize = 8; ns.ExtendedLba = true; }, o => o.Mdts = 1);
        var q = host.Start();
        var buffer = host.Alloc(16384);
        var list = host.Alloc(4096);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(list.Span, buffer.Iova + 4096);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(list.Span[8..], buffer.Iova + 8192);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 15, buffer.Iova, buffer.Iova + 4096)), NvmeStatus.Success, "15 blocks");
        Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 16, buffer.Iova, list.Iova)).Status, Is.EqualTo(NvmeStatus.InvalidField.Value));
    }

    [Test]
    public void WriteZeroesClearsMetadataOfANamespaceWithoutPi()
    {
        using var host = TestHost.Create(ns => ns.MetadataSize = 8);
        var q = host.Start();
        var data = host.Alloc(512);
        var metadata = host.Alloc(8);
        data.Span.Fill(1);
        metadata.Span.Fill(2);
        var write = TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova);
        write.MetadataPointer = metadata.Iova;
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.WriteZeroes, 0, 1, 0)), NvmeStatus.Success, "write zeroes");
        var read = TestHost.Rw(NvmOpcode.Read, 0, 1, data.Iova);
        read.MetadataPointer = metadata.Iova;
        TestHost.Expect(host.Execute(q, read), NvmeStatus.Success, "read");
        Assert.That(data.Span[..512].IndexOfAnyExcept((byte)0), Is.EqualTo(-1));
        Assert.That(metadata.Span[..8].IndexOfAnyExcept((byte)0), Is.EqualTo(-1));
    }

    [Test]
    public void SeveralQueuePairsAreServedInOnePass()
    {
        using var host = TestHost.Create();
        var q1 = host.Start(entries: 8);
        var q2 = host.CreateQueuePair(2, entries: 8);
        var data = host.Alloc(512);
        for (int i = 0; i < 3; i++)
        {
            host.Submit(q1, TestHost.Rw(NvmOpcode.Write, (ulong)i, 1, data.Iova));
            host.Submit(q2, TestHost.Rw(NvmOpcode.Read, (ulong)i, 1, data.Iova));
        }
        Assert.That(host.Controller.Step(), Is.EqualTo(6));
        for (int i = 0; i < 3; i++)
        {
            Assert.That(host.TryReap(q1, out var c1) && c1.SqId == 1 && c1.Status == 0, Is.True);
            Assert.That(host.TryReap(q2, out var c2) && c2.SqId == 2 && c2.Status == 0, Is.True);
        }
    }

    [Test]
    public void NullBackendStoresNothing()
    {
        using var host = TestHost.Create(ns => ns.Backend = MediaBackendKind.Null);
        var q = host.Start();
        var data = host.Alloc(4096);
        Pattern(data.Span, 12);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Write, 0, 8, data.Iova)), NvmeStatus.Success, "write");
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 8, data.Iova)), NvmeStatus.Success, "read");
        Assert.That(data.Span.IndexOfAnyExcept((byte)0), Is.EqualTo(-1));
    }

    [Test]
    public void FileBackendPersistsInQemuLayout()
    {
        string path = Path.Combine(Path.GetTempPath(), $"pnvme-emu-{Guid.NewGuid():N}.img");
        try
        {
            void Configure(EmulatedNamespaceOptions ns)
            {
                ns.Backend = MediaBackendKind.File;
                ns.FilePath = path;
                ns.MetadataSize = 8;
                ns.CapacityBytes = 64 * 512;
            }
            byte[] written;
            using (var host = TestHost.Create(Configure))
            {
                var q = host.Start();
                var data = host.Alloc(1024);
                var metadata = host.Alloc(16);
                Pattern(data.Span[..1024], 13);
                metadata.Span[..16].Fill(0xA5);
                var write = TestHost.Rw(NvmOpcode.Write, 3, 2, data.Iova);
                write.MetadataPointer = metadata.Iova;
                TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");
                written = data.Span[..1024].ToArray();
            }
            byte[] file = File.ReadAllBytes(path);
            Assert.That(file, Has.Length.EqualTo(64 * (512 + 8)));
            Assert.That(file.AsSpan(3 * 512, 1024).SequenceEqual(written), Is.True, "data at LBA * 512");
            Assert.That(file.AsSpan(64 * 512 + 3 * 8, 16).IndexOfAnyExcept((byte)0xA5), Is.EqualTo(-1), "metadata after all data");

            using (var host = TestHost.Create(Configure))
            {
                var q = host.Start();
                var sink = host.Alloc(1024);
                var metadataSink = host.Alloc(16);
                var read = TestHost.Rw(NvmOpcode.Read, 3, 2, sink.Iova);
                read.MetadataPointer = metadataSink.Iova;
                TestHost.Expect(host.Execute(q, read), NvmeStatus.Success, "read after reopen");
                Assert.That(sink.Span[..1024].SequenceEqual(written), Is.True);
                Assert.That(metadataSink.Span[..16].IndexOfAnyExcept((byte)0xA5), Is.EqualTo(-1));
            }
        }
        finally
        {
            File.Delete(path);
            File.Delete(path + PolledNvme.Emulation.Media.MediaFormatRecord.SidecarSuffix); // the io_uring backend's format record
        }
    }
}
