using System.Buffers.Binary;
using NUnit.Framework;
using PolledNvme.Queues.Uring;
using PolledNvme.Driver.Emulated;
using PolledNvme.Driver.Emulated.Media;
using Tmds.Linux;

namespace PolledNvme.Tests.Driver.Emulated.Media;

/// <summary>
/// The io_uring file backend: QEMU layout, format record, holes, persistence; files checked with
/// System.IO. Run twice: through io_uring, and with io_uring unavailable (setup failure injected),
/// where the backend falls back to synchronous system calls.
/// </summary>
[TestFixture(true)]
[TestFixture(false)]
public class UringFileBackendTests(bool useRing)
{
    private const int Block = 4096;
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("pnvme-ufb-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static MediaFormatRecord Format(long blocks, int ms = 16, int pi = 1, int pif = 2, int bs = Block)
        => new(bs, ms, pi, PiFirst: false, pif, StorageTagSize: 0, ExtendedLba: false, blocks);

    [Test]
    public void NewFileIsLaidOutDataThenMetadataThenTrailer()
    {
        string path = PathOf("ns.img");
        MediaFormatRecord format = Format(blocks: 64);
        byte[] data = new byte[2 * Block];
        new Random(1).NextBytes(data);
        byte[] metadata = new byte[2 * 16];
        new Random(2).NextBytes(metadata);
        using (var backend = Open(path, format, formatRequested: false, out bool fresh))
        {
            Assert.That(fresh, Is.True);
            Assert.That(backend.Length, Is.EqualTo(64L * (Block + 16)));
            Assert.That(backend.IsDirect, Is.True, "ext4/xfs temp dirs support O_DIRECT");
            backend.Write(10L * Block, data);                       // aligned: the O_DIRECT path
            backend.Write(64L * Block + 10 * 16, metadata);         // 16-byte records: the buffered path
            backend.Flush();
        }

        byte[] file = File.ReadAllBytes(path);
        Assert.That(file.Length, Is.EqualTo(64L * (Block + 16)), "nothing appended: QEMU derives the block count and metadata offset from the size");
        Assert.That(file.AsSpan(10 * Block, 2 * Block).SequenceEqual(data), Is.True, "data of LBA n at n * lbasize (QEMU layout)");
        Assert.That(file.AsSpan(64 * Block + 10 * 16, 32).SequenceEqual(metadata), Is.True, "metadata after all data, ms bytes per LBA");
        byte[] record = File.ReadAllBytes(path + ".pnvmefmt");
        Assert.That(record.Length, Is.EqualTo(64));
        Assert.That(record.AsSpan(0, 8).SequenceEqual("PNVMEFMT"u8), Is.True);
        Assert.That(record[32], Is.EqualTo(12), "lbads");
        Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(38)), Is.EqualTo(16), "ms");
        Assert.That(record[33], Is.EqualTo(1), "pi");
        Assert.That(record[35], Is.EqualTo(2), "pif");
        Assert.That(BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(24)), Is.EqualTo(64), "block count");
    }

    [Test]
    public void DataPersistsAcrossCloseAndOpen()
    {
        string path = PathOf("p.img");
        byte[] data = new byte[Block + 512];
        new Random(3).NextBytes(data);
        using (var b = Open(path, Format(16), false, out _))
            b.Write(3 * Block + 512, data); // unaligned start: buffered
        using (var b = Open(path, Format(16), false, out bool fresh))
        {
            Assert.That(fresh, Is.False);
            byte[] back = new byte[data.Length];
            b.Read(3 * Block + 512, back);
            Assert.That(back, Is.EqualTo(data));
            byte[] aligned = new byte[2 * Block];
            b.Read(3 * Block, aligned); // aligned: O_DIRECT sees what the buffered write left
            Assert.That(aligned.AsSpan(512, data.Length).SequenceEqual(data), Is.True);
        }
    }

    [Test]
    public void MismatchingFormatIsRefusedAndLeavesTheFileIntact()
    {
        string path = PathOf("m.img");
        using (var b = Open(path, Format(16), false, out _))
            b.Write(0, Enumerable.Repeat((byte)0xA5, Block).ToArray());
        byte[] before = File.ReadAllBytes(path);

        var e = Assert.Throws<MediaFormatMismatchException>(() => Open(path, Format(16, ms: 8, pif: 0), false, out _));
        Assert.That(e!.Message, Does.Contain("is formatted lbads=12,ms=16,pi=1,pil=0,pif=2")
            .And.Contain("asks for lbads=12,ms=8,pi=1,pil=0,pif=0").And.Contain("format=1"));
        Assert.Throws<MediaFormatMismatchException>(() => Open(path, Format(32), false, out _), "capacity is part of the format");
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
    }

    [Test]
    public void RequestedFormatReLaysTheFile()
    {
        string path = PathOf("f.img");
        using (var b = Open(path, Format(16), false, out _))
            b.Write(0, Enumerable.Repeat((byte)0xA5, Block).ToArray());
        MediaFormatRecord other = Format(8, ms: 8, pif: 0, bs: 512);
        using (var b = Open(path, other, formatRequested: true, out bool fresh))
        {
            Assert.That(fresh, Is.True);
            Assert.That(b.Format, Is.EqualTo(other));
            byte[] back = new byte[512];
            b.Read(0, back);
            Assert.That(back, Is.All.Zero, "re-laying erases");
        }
        Assert.That(new FileInfo(path).Length, Is.EqualTo(other.MediaLength));
        using (Open(path, other, false, out bool fresh2))
            Assert.That(fresh2, Is.False, "the new record is accepted on reopen");
    }

    [Test]
    public void FileWithoutARecordIsRefused()
    {
        string path = PathOf("qemu.img");
        byte[] content = new byte[16 * (Block + 16)];
        new Random(4).NextBytes(content);
        File.WriteAllBytes(path, content);
        var e = Assert.Throws<MediaFormatMismatchException>(() => Open(path, Format(16), false, out _));
        Assert.That(e!.Message, Does.Contain("no PolledNvme format record").And.Contain("format=1"));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(content));
    }

    [Test]
    public void DamagedRecordIsRefused()
    {
        string path = PathOf("d.img");
        MediaFormatRecord format = Format(16);
        using (Open(path, format, false, out _)) { }
        byte[] record = File.ReadAllBytes(path + ".pnvmefmt");
        record[38] = 8; // ms 16 -> 8 without fixing the CRC
        File.WriteAllBytes(path + ".pnvmefmt", record);
        var e = Assert.Throws<MediaFormatRecordDamagedException>(() => Open(path, format, false, out _));
        Assert.That(e!.Message, Does.Contain("CRC-32C mismatch").And.Contain(path + ".pnvmefmt")
            .And.Contain("format=1").And.Contain("restore the record"));
    }

    [Test]
    public void TruncatedFileIsRefused()
    {
        string path = PathOf("t.img");
        MediaFormatRecord format = Format(16);
        using (Open(path, format, false, out _)) { }
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Write))
            fs.SetLength(Block); // shorter than the record says
        var e = Assert.Throws<MediaFormatMismatchException>(() => Open(path, format, false, out _));
        Assert.That(e!.Message, Does.Contain("truncated or extended"));
    }

    [Test]
    public unsafe void ZeroPunchesHolesForWholePagesAndWritesTheEdges()
    {
        string path = PathOf("z.img");
        byte[] pattern = new byte[16 * Block];
        new Random(5).NextBytes(pattern);
        using var b = Open(path, Format(16), false, out _);
        b.Write(0, pattern);
        b.Flush();
        long allocatedBefore = AllocatedBytes(path);

        b.Zero(Block + 100, 8 * Block); // [4196, 36868): pages 2..8 become a hole, edges written
        b.Flush();
        byte[] file = File.ReadAllBytes(path);
        Assert.That(file.AsSpan(0, Block + 100).SequenceEqual(pattern.AsSpan(0, Block + 100)), Is.True);
        Assert.That(file.AsSpan(Block + 100, 8 * Block).IndexOfAnyExcept((byte)0), Is.EqualTo(-1));
        Assert.That(file.AsSpan(9 * Block + 100, 7 * Block - 100).SequenceEqual(pattern.AsSpan(9 * Block + 100)), Is.True);
        Assert.That(AllocatedBytes(path), Is.LessThanOrEqualTo(allocatedBefore - 7 * Block), "whole pages were deallocated on the filesystem");
        Assert.That(new FileInfo(path).Length, Is.EqualTo(Format(16).MediaLength), "the size is kept");
    }

    [Test]
    public void AccessOutsideTheMediaIsRefused()
    {
        using var b = Open(PathOf("o.img"), Format(4), false, out _);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => b.Write(b.Length - 8, new byte[16]));
        Assert.That(e!.Message, Does.Contain("outside the").And.Contain("media"));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Read(-1, new byte[1]));
    }

    [Test]
    public void BlockDeviceOrMissingDirectoryIsAClearError()
    {
        var e = Assert.Throws<UringException>(() => Open(PathOf("no/such/dir.img"), Format(4), false, out _));
        Assert.That(e!.ErrnoName, Is.EqualTo("ENOENT"));
        Assert.That(e.Message, Does.Contain("no/such/dir.img"));
    }

    [Test]
    public void ReadsAndWritesAllocateNothing()
    {
        using var b = Open(PathOf("alloc.img"), Format(64), false, out _);
        var data = new byte[2 * Block];
        var metadata = new byte[32];
        for (int warm = 0; warm < 3; warm++)
        {
            b.Write(warm * 2L * Block, data);
            b.Read(warm * 2L * Block, data);
            b.Write(64L * Block + warm * 32, metadata);
            b.Read(64L * Block + warm * 32, metadata);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 32; i++)
        {
            b.Write(i * 2L * Block, data);          // O_DIRECT through the registered bounce buffer
            b.Read(i * 2L * Block, data);
            b.Write(64L * Block + i * 32, metadata); // buffered
            b.Read(64L * Block + i * 32, metadata);
        }
        b.Flush();
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    private UringFileBackend Open(string path, MediaFormatRecord format, bool formatRequested, out bool fresh)
    {
        var backend = UringFileBackend.Open(path, format, formatRequested, out fresh, preferDirect: true, useRing
            ? () => UringRing.Create(new UringRingOptions { SqEntries = 8, SingleIssuer = false })
            : () => throw new UringUnavailableException(Errno.ENOSYS, "injected: io_uring_setup failed with ENOSYS"));
        Assert.That(backend.UsesIoUring, Is.EqualTo(useRing));
        Assert.That(backend.FallbackReason, useRing ? Is.Null : Does.Contain("ENOSYS"));
        return backend;
    }

    private static unsafe long AllocatedBytes(string path)
    {
        // st_blocks counts 512-byte units actually allocated (holes excluded).
        byte[] name = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        stat st;
        fixed (byte* p = name)
            Assert.That(LibC.stat(p, &st), Is.Zero);
        return st.st_blocks * 512L;
    }
}
