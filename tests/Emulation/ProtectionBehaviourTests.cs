using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation;

/// <summary>The controller's PI behaviour (PI.md §2, §5, §6): PRACT matrix, PRCHK/STC, Type 1 ILBRT rule, Write Zeroes, deallocation.</summary>
public class ProtectionBehaviourTests
{
    private const uint Pract = CommandFields.Pract;
    private const uint PrchkAll = CommandFields.PrchkGuard | CommandFields.PrchkApplicationTag | CommandFields.PrchkReferenceTag;

    // Guards of one 4 KiB block of all FFh / all 00h (PI.md §1 known-answer table).
    private static ulong GuardOfOnes(int pif) => pif switch { 0 => 0x8B5D, 1 => 0x25C1FE13, _ => 0xC0DDBA7302ECA3AC };

    private static TestHost PiHost(out HostQueuePair q, int blockSize, int ms, int pi, int pif = 0, int sts = 0, bool mset = false, bool pil = false)
    {
        var host = TestHost.Create(ns =>
        {
            ns.BlockSize = blockSize;
            ns.MetadataSize = ms;
            ns.PiType = pi;
            ns.GuardFormat = pif;
            ns.StorageTagSize = sts;
            ns.ExtendedLba = mset;
            ns.PiFirst = pil;
            ns.CapacityBytes = 256 * blockSize;
        });
        q = host.Start();
        if (pif != 0 || sts != 0)
            host.EnableExtendedFormats();
        return host;
    }

    /// <summary>Reads blocks raw (PRACT=0, no checks) and returns each block's metadata.</summary>
    private static byte[][] ReadMetadata(TestHost host, HostQueuePair q, ulong slba, int blocks, int bs, int ms, bool mset)
    {
        var data = host.Alloc(blocks * (bs + ms));
        var metadata = host.Alloc(blocks * ms);
        var read = TestHost.Rw(NvmOpcode.Read, slba, blocks, data.Iova, blocks * (bs + ms) > 4096 ? data.Iova + 4096 : 0);
        if (blocks * (bs + ms) > 8192)
            throw new ArgumentException("keep raw reads within two pages");
        read.MetadataPointer = metadata.Iova;
        TestHost.Expect(host.Execute(q, read), NvmeStatus.Success, "raw read");
        return Enumerable.Range(0, blocks)
            .Select(b => (mset ? data.Span.Slice(b * (bs + ms) + bs, ms) : metadata.Span.Slice(b * ms, ms)).ToArray())
            .ToArray();
    }

    private static PiTuple Tuple(byte[] metadata, int pif, int sts, bool first = false)
    {
        int size = pif == 0 ? 8 : 16;
        return PiTuple.Read(metadata.AsSpan(first ? 0 : metadata.Length - size, size), (PiGuardFormat)pif, sts);
    }

    [TestCase(0, 8, false)]
    [TestCase(0, 8, true)]
    [TestCase(1, 16, false)]
    [TestCase(1, 16, true)]
    [TestCase(2, 16, false)]
    [TestCase(2, 16, true)]
    public void PractWriteWithMsEqualToPiSizeTakesDataOnlyAndInsertsPi(int pif, int ms, bool mset)
    {
        int sts = pif == 1 ? 16 : 0;
        using var host = PiHost(out var q, 4096, ms, pi: 1, pif, sts, mset);
        var data = host.Alloc(4096);
        data.Span.Fill(0xFF);
        var write = TestHost.Rw(NvmOpcode.Write, 5, 1, data.Iova, cdw12Flags: Pract);
        write.Cdw14 = 5;
        write.Cdw15 = 0x1234;
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "PRACT write of data only");

        var tuple = Tuple(ReadMetadata(host, q, 5, 1, 4096, ms, mset)[0], pif, sts);
        Assert.That(tuple.Guard, Is.EqualTo(GuardOfOnes(pif)));
        Assert.That(tuple.ApplicationTag, Is.EqualTo(0x1234));
        Assert.That(tuple.ReferenceTag, Is.EqualTo(5ul));

        // PRACT=1 read: checked, stripped, data only; the page after the data stays untouched.
        var sink = host.Alloc(8192);
        sink.Span.Fill(0xEE);
        var read = TestHost.Rw(NvmOpcode.Read, 5, 1, sink.Iova, cdw12Flags: Pract | PrchkAll);
        read.Cdw14 = 5;
        read.Cdw15 = 0xFFFF_0000 | 0x1234;
        TestHost.Expect(host.Execute(q, read), NvmeStatus.Success, "PRACT read");
        Assert.That(sink.Span[..4096].IndexOfAnyExcept((byte)0xFF), Is.EqualTo(-1));
        Assert.That(sink.Span[4096..].IndexOfAnyExcept((byte)0xEE), Is.EqualTo(-1));
    }

    [Test]
    public void PractWriteWithLargerMetadataKeepsTheHostBytesAndReplacesThePi()
    {
        using var host = PiHost(out var q, 512, 64, pi: 2);
        var data = host.Alloc(1024);
        var metadata = host.Alloc(128);
        IoCommandTests.Pattern(data.Span[..1024], 1);
        metadata.Span[..128].Fill(0x3C);   // the PI portion is garbage: PRACT overwrites it unchecked
        var write = TestHost.Rw(NvmOpcode.Write, 9, 2, data.Iova, cdw12Flags: Pract | PrchkAll);
        write.MetadataPointer = metadata.Iova;
        write.Cdw14 = 0xABCD0000;
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "PRACT write with metadata");

        var stored = ReadMetadata(host, q, 9, 2, 512, 64, mset: false);
        for (int b = 0; b < 2; b++)
        {
            Assert.That(stored[b].AsSpan(0, 56).IndexOfAnyExcept((byte)0x3C), Is.EqualTo(-1), "non-PI metadata as sent");
            Assert.That(Tuple(stored[b], 0, 0).ReferenceTag, Is.EqualTo(0xABCD0000ul + (ulong)b), "type 2 reference tags count up from ILBRT");
        }
        // The guard covers the metadata bytes before the tuple: a guard-checked read succeeds.
        var read = TestHost.Rw(NvmOpcode.Read, 9, 2, data.Iova, cdw12Flags: CommandFields.PrchkGuard);
        read.MetadataPointer = metadata.Iova;
        TestHost.Expect(host.Execute(q, read), NvmeStatus.Success, "guard-checked read");
    }

    [Test]
    public void Type1IlbrtThatIsNotTheSlbaIsInvalidProtectionInformation()
    {
        using var host = PiHost(out var q, 512, 8, pi: 1);
        var data = host.Alloc(512);
        var write = TestHost.Rw(NvmOpcode.Write, 20, 1, data.Iova, cdw12Flags: Pract);
        write.Cdw14 = 21;
        var completion = host.Execute(q, write);
        Assert.That(completion.Status, Is.EqualTo(0x4181), "SCT 1h, SC 81h, DNR");
        write.Cdw14 = 20;
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "matching ILBRT");
        var read = TestHost.Rw(NvmOpcode.Read, 20, 1, data.Iova, cdw12Flags: Pract | CommandFields.PrchkReferenceTag);
        read.Cdw14 = 0;
        Assert.That(host.Execute(q, read).Status, Is.EqualTo(NvmeStatus.InvalidProtectionInformation.Value));
    }

    [Test]
    public void Type2AcceptsAnyInitialReferenceTag()
    {
        using var host = PiHost(out var q, 512, 8, pi: 2);
        var data = host.Alloc(512);
        var write = TestHost.Rw(NvmOpcode.Write, 20, 1, data.Iova, cdw12Flags: Pract);
        write.Cdw14 = 0x777;
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");
        var read = TestHost.Rw(NvmOpcode.Read, 20, 1, data.Iova, cdw12Flags: Pract | PrchkAll);
        read.Cdw14 = 0x777;
        TestHost.Expect(host.Execute(q, read), NvmeStatus.Success, "read");
        read.Cdw14 = 0x778;
        Assert.That(host.Execute(q, read).Status, Is.EqualTo(NvmeStatus.EndToEndReferenceTagCheckError.Value));
    }

    [TestCase(CorruptionTarget.Data, 0x282)]
    [TestCase(CorruptionTarget.Guard, 0x282)]
    [TestCase(CorruptionTarget.ApplicationTag, 0x283)]
    [TestCase(CorruptionTarget.ReferenceTag, 0x284)]
    [TestCase(CorruptionTarget.StorageTag, 0x288)]
    public void CorruptedBlocksFailTheMatchingCheck(CorruptionTarget target, int expected)
    {
        // 16b guard with a 16-bit storage tag: ILBRT = CDW14[15:0], LBST = CDW14[31:16].
        using var host = PiHost(out var q, 512, 8, pi: 1, pif: 0, sts: 16);
        var data = host.Alloc(4096);
        IoCommandTests.Pattern(data.Span, 2);
        uint cdw14 = (0xBEEFu << 16) | 3;
        var write = TestHost.Rw(NvmOpcode.Write, 3, 4, data.Iova, cdw12Flags: Pract);
        write.Cdw14 = cdw14;
        write.Cdw15 = 0x4242;
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");

        var read = TestHost.Rw(NvmOpcode.Read, 3, 4, data.Iova, cdw12Flags: Pract | PrchkAll | CommandFields.StorageTagCheck);
        read.Cdw14 = cdw14;
        read.Cdw15 = 0xFFFF_0000 | 0x4242;
        TestHost.Expect(host.Execute(q, read), NvmeStatus.Success, "clean read");

        host.Controller.Faults.CorruptBlock(1, 5, target);
        var failed = host.Execute(q, read);
        Assert.That(failed.Status, Is.EqualTo(expected), new NvmeStatus(failed.Status).ToString());
        Assert.That(new NvmeStatus(failed.Status).DoNotRetry, Is.False, "E2E errors are posted without DNR (as QEMU)");
        // Only blocks 3-4 are clean; the damaged block is LBA 5.
        var head = TestHost.Rw(NvmOpcode.Read, 3, 2, data.Iova, cdw12Flags: Pract | PrchkAll | CommandFields.StorageTagCheck);
        head.Cdw14 = cdw14;
        head.Cdw15 = read.Cdw15;
        TestHost.Expect(host.Execute(q, head), NvmeStatus.Success, "undamaged blocks");
    }

    [Test]
    public void ChecksOffIgnoreCorruption()
    {
        using var host = PiHost(out var q, 512, 8, pi: 1);
        var data = host.Alloc(512);
        var write = TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova, cdw12Flags: Pract);
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");
        host.Controller.Faults.CorruptBlock(1, 0, CorruptionTarget.Guard);
        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 1, data.Iova, cdw12Flags: Pract)), NvmeStatus.Success, "PRCHK = 0");
    }

    [Test]
    public void Prchk0WriteWithABadGuardIsRejectedAndNothingIsStored()
    {
        using var host = PiHost(out var q, 512, 8, pi: 1, mset: true);
        var good = host.Alloc(520);
        var write = TestHost.Rw(NvmOpcode.Write, 7, 1, good.Iova, cdw12Flags: Pract);
        write.Cdw14 = 7;
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "PRACT write (data only)");
        var before = ReadMetadata(host, q, 7, 1, 512, 8, mset: true)[0];

        var bad = host.Alloc(520);
        bad.Span[..512].Fill(0x11);           // guard 0 in the tuple does not match this data
        var checkedWrite = TestHost.Rw(NvmOpcode.Write, 7, 1, bad.Iova, cdw12Flags: CommandFields.PrchkGuard);
        checkedWrite.Cdw14 = 7;
        Assert.That(host.Execute(q, checkedWrite).Status, Is.EqualTo(NvmeStatus.EndToEndGuardCheckError.Value));
        var sink = host.Alloc(520);
        host.Execute(q, TestHost.Rw(NvmOpcode.Read, 7, 1, sink.Iova));
        Assert.That(sink.Span[..512].IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "old data kept");
        Assert.That(sink.Span.Slice(512, 8).SequenceEqual(before), Is.True, "old PI kept");
    }

    [Test]
    public void WriteZeroesPiIsZeroWithoutPractAndGeneratedWithPract()
    {
        using var host = PiHost(out var q, 4096, 16, pi: 1, pif: 2);
        var data = host.Alloc(4096);
        data.Span.Fill(0x5A);
        var write = TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova, cdw12Flags: Pract);
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");
        write.Cdw10 = 1;
        write.Cdw14 = 1;
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");

        TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.WriteZeroes, 0, 1, 0)), NvmeStatus.Success, "write zeroes, PRACT=0");
        Assert.That(ReadMetadata(host, q, 0, 1, 4096, 16, false)[0].All(b => b == 0), Is.True, "PI all zeros (spec; QEMU differs)");

        var zeroes = TestHost.Rw(NvmOpcode.WriteZeroes, 1, 1, 0, cdw12Flags: Pract);
        zeroes.Cdw14 = 1;
        zeroes.Cdw15 = 0x0BAD;
        TestHost.Expect(host.Execute(q, zeroes), NvmeStatus.Success, "write zeroes, PRACT=1");
        var tuple = Tuple(ReadMetadata(host, q, 1, 1, 4096, 16, false)[0], 2, 0);
        Assert.That(tuple.Guard, Is.EqualTo(0x6482D367EB22B64Eul), "CRC-64/NVME of 4 KiB of zeros");
        Assert.That(tuple.ApplicationTag, Is.EqualTo(0x0BAD));
        Assert.That(tuple.ReferenceTag, Is.EqualTo(1ul));

        var withChecks = TestHost.Rw(NvmOpcode.WriteZeroes, 1, 1, 0, cdw12Flags: CommandFields.PrchkGuard);
        Assert.That(host.Execute(q, withChecks).Status, Is.EqualTo(NvmeStatus.InvalidField.Value), "PRCHK must be 0");
        withChecks.Cdw12 = CommandFields.StorageTagCheck;
        Assert.That(host.Execute(q, withChecks).Status, Is.EqualTo(NvmeStatus.InvalidField.Value), "STC must be 0");
    }

    [TestCase(1)]
    [TestCase(3)]
    public void DeallocatedBlocksReadBackZerosWithAllOnesPiThatPassesEveryCheck(int type)
    {
        using var host = PiHost(out var q, 512, 16, pi: type);
        var data = host.Alloc(512);
        data.Span.Fill(0x77);
        var write = TestHost.Rw(NvmOpcode.Write, 2, 1, data.Iova, cdw12Flags: Pract);
        write.MetadataPointer = host.Alloc(16).Iova;
        write.Cdw14 = 2;
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");
        var zeroes = TestHost.Rw(NvmOpcode.WriteZeroes, 2, 1, 0, cdw12Flags: CommandFields.Deallocate);
        TestHost.Expect(host.Execute(q, zeroes), NvmeStatus.Success, "write zeroes with DEAC");

        byte[] metadata = ReadMetadata(host, q, 2, 1, 512, 16, false)[0];
        Assert.That(metadata.AsSpan(0, 8).IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "non-PI metadata zero");
        Assert.That(metadata.AsSpan(8, 8).IndexOfAnyExcept((byte)0xFF), Is.EqualTo(-1), "PI all FFh");
        // Never-written blocks look the same.
        Assert.That(ReadMetadata(host, q, 100, 1, 512, 16, false)[0].AsSpan(8).IndexOfAnyExcept((byte)0xFF), Is.EqualTo(-1));

        var read = TestHost.Rw(NvmOpcode.Read, 2, 1, data.Iova, cdw12Flags: PrchkAll);
        read.MetadataPointer = host.Alloc(16).Iova;
        read.Cdw14 = 2;
        TestHost.Expect(host.Execute(q, read), NvmeStatus.Success, "escape disables the checks");
        Assert.That(data.Span[..512].IndexOfAnyExcept((byte)0), Is.EqualTo(-1));
    }

    [Test]
    public void Type3NeverComparesTheReferenceTag()
    {
        using var host = PiHost(out var q, 512, 8, pi: 3);
        var data = host.Alloc(512);
        var write = TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova, cdw12Flags: Pract);
        write.Cdw14 = 0x55;
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");
        host.Controller.Faults.CorruptBlock(1, 0, CorruptionTarget.ReferenceTag);
        var read = TestHost.Rw(NvmOpcode.Read, 0, 1, data.Iova, cdw12Flags: Pract | PrchkAll);
        read.Cdw14 = 0x55;
        TestHost.Expect(host.Execute(q, read), NvmeStatus.Success, "type 3: reference tag not compared");
    }

    [Test]
    public void Guard64StorageTagSplitFollowsTheSpecExample()
    {
        // NVM CS Fig 164 example, PI.md §2: 64b guard, STS=18. CDW3[15:0] = LBST[17:2],
        // CDW14[31:30] = LBST[1:0], CDW14[29:0] = ILBRT.
        using var host = PiHost(out var q, 4096, 16, pi: 1, pif: 2, sts: 18);
        const ulong lbst = 0x2ABCD;
        var data = host.Alloc(4096);
        var write = TestHost.Rw(NvmOpcode.Write, 7, 1, data.Iova, cdw12Flags: Pract);
        write.Cdw3 = (uint)(lbst >> 2) | 0xFFFF_0000;   // CDW3[31:16] is ignored for 64b guard
        write.Cdw14 = (uint)((lbst & 3) << 30) | 7;
        write.Cdw2 = 0xFFFF_FFFF;                       // CDW2 is ignored for 64b guard
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");
        var tuple = Tuple(ReadMetadata(host, q, 7, 1, 4096, 16, false)[0], 2, 18);
        Assert.That(tuple.StorageTag, Is.EqualTo(lbst));
        Assert.That(tuple.ReferenceTag, Is.EqualTo(7ul));

        var read = TestHost.Rw(NvmOpcode.Read, 7, 1, data.Iova, cdw12Flags: Pract | CommandFields.StorageTagCheck);
        read.Cdw3 = (uint)(lbst >> 2);
        read.Cdw14 = (uint)((lbst & 3) << 30) | 7;
        TestHost.Expect(host.Execute(q, read), NvmeStatus.Success, "matching storage tag");
        read.Cdw3 ^= 1;
        Assert.That(host.Execute(q, read).Status, Is.EqualTo(NvmeStatus.EndToEndStorageTagCheckError.Value));
    }

    [Test]
    public void Guard32UsesCdw2Cdw3AndCdw14()
    {
        // 32b guard, STS=16: the 80-bit space is CDW2[15:0]:CDW3:CDW14; LBST = CDW2[15:0], ILBRT = CDW3:CDW14.
        using var host = PiHost(out var q, 4096, 16, pi: 1, pif: 1, sts: 16);
        var data = host.Alloc(4096);
        var write = TestHost.Rw(NvmOpcode.Write, 0x1_0000_0002, 1, data.Iova, cdw12Flags: Pract);
        write.Cdw2 = 0x9876;
        write.Cdw3 = 1;
        write.Cdw14 = 2;
        Assert.That(host.Execute(q, write).Status, Is.EqualTo(NvmeStatus.LbaOutOfRange.Value), "namespace is small");
        write.Cdw10 = 2;
        write.Cdw11 = 0;
        write.Cdw3 = 0;
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");
        var tuple = Tuple(ReadMetadata(host, q, 2, 1, 4096, 16, false)[0], 1, 16);
        Assert.That(tuple.StorageTag, Is.EqualTo(0x9876ul));
        Assert.That(tuple.ReferenceTag, Is.EqualTo(2ul));
    }

    [Test]
    public void ComparePractMustBeZero()
    {
        using var host = PiHost(out var q, 512, 8, pi: 1);
        var data = host.Alloc(512);
        Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Compare, 0, 1, data.Iova, cdw12Flags: Pract)).Status, Is.EqualTo(NvmeStatus.InvalidField.Value));
    }

    [Test]
    public void CompareIgnoresPiInTheMetadata()
    {
        using var host = PiHost(out var q, 512, 16, pi: 1);
        var data = host.Alloc(512);
        var metadata = host.Alloc(16);
        IoCommandTests.Pattern(data.Span[..512], 4);
        metadata.Span[..8].Fill(0x21);
        var write = TestHost.Rw(NvmOpcode.Write, 0, 1, data.Iova, cdw12Flags: Pract);
        write.MetadataPointer = metadata.Iova;
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");
        metadata.Span.Slice(8, 8).Fill(0x99);   // a different PI: excluded from the comparison
        var compare = TestHost.Rw(NvmOpcode.Compare, 0, 1, data.Iova);
        compare.MetadataPointer = metadata.Iova;
        TestHost.Expect(host.Execute(q, compare), NvmeStatus.Success, "compare");
    }

    [Test]
    public void VerifyChecksWithoutTransferring()
    {
        using var host = PiHost(out var q, 512, 8, pi: 1);
        var data = host.Alloc(4096);
        var write = TestHost.Rw(NvmOpcode.Write, 0, 8, data.Iova, cdw12Flags: Pract);
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");
        var verify = TestHost.Rw(NvmOpcode.Verify, 0, 8, 0, cdw12Flags: PrchkAll);
        TestHost.Expect(host.Execute(q, verify), NvmeStatus.Success, "verify");
        host.Controller.Faults.CorruptBlock(1, 6, CorruptionTarget.Data);
        Assert.That(host.Execute(q, verify).Status, Is.EqualTo(NvmeStatus.EndToEndGuardCheckError.Value));
    }

    [Test]
    public void ExtendedFormatsNeedLbafee()
    {
        var host = TestHost.Create(ns => { ns.BlockSize = 4096; ns.MetadataSize = 16; ns.PiType = 1; ns.GuardFormat = 2; ns.CapacityBytes = 1 << 20; });
        using (host)
        {
            var q = host.Start();
            var data = host.Alloc(4096);
            Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 1, data.Iova, cdw12Flags: Pract)).Status,
                Is.EqualTo(NvmeStatus.InvalidNamespaceOrFormat.Value));
            host.EnableExtendedFormats();
            TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 1, data.Iova, cdw12Flags: Pract)), NvmeStatus.Success, "with LBAFEE");
        }
    }

    [Test]
    public void PiFirstPlacesTheTupleAtTheStartOfTheMetadata()
    {
        using var host = PiHost(out var q, 512, 16, pi: 1, pil: true);
        var data = host.Alloc(512);
        var metadata = host.Alloc(16);
        var write = TestHost.Rw(NvmOpcode.Write, 4, 1, data.Iova, cdw12Flags: Pract);
        write.MetadataPointer = metadata.Iova;
        write.Cdw14 = 4;
        TestHost.Expect(host.Execute(q, write), NvmeStatus.Success, "write");
        var stored = ReadMetadata(host, q, 4, 1, 512, 16, false)[0];
        Assert.That(Tuple(stored, 0, 0, first: true).ReferenceTag, Is.EqualTo(4ul));
    }
}
