using NUnit.Framework;
using PolledNvme.Uring;

namespace PolledNvme.Tests.Uring;

/// <summary>Every prepared opcode against temp files; contents checked with System.IO, independently of the ring.</summary>
public unsafe class UringRingOpsTests
{
    private const int Block = 4096;
    private UringTempDirectory _dir = null!;
    private UringRing _ring = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new UringTempDirectory();
        _ring = UringRing.Create(new UringRingOptions { SqEntries = 32, CqEntries = 64 });
    }

    [TearDown]
    public void TearDown()
    {
        _ring.Dispose();
        _dir.Dispose();
    }

    [Test]
    public void NopRoundTripsUserData()
    {
        ulong[] values = [0, 1, 0xDEAD_BEEF_0000_0001, ulong.MaxValue];
        foreach (ulong value in values)
            _ring.GetSqe().PrepareNop(value);
        _ring.Submit();
        var seen = new List<ulong>();
        for (int i = 0; i < values.Length; i++)
        {
            UringCqe cqe = _ring.WaitCompletion();
            Assert.That(cqe.Result, Is.Zero);
            seen.Add(cqe.UserData);
        }
        Assert.That(seen, Is.EquivalentTo(values));
        Assert.That(_ring.InFlight, Is.Zero);
    }

    [Test]
    public void WriteThenReadMatchesTheFile()
    {
        string path = _dir.File("rw.bin");
        byte[] expected = UringTestIo.Pattern(3 * Block, seed: 1);
        using var file = NativeFile.Open(path, writable: true, direct: false, create: true);
        using var buffer = new AlignedBuffer(3 * Block);
        expected.CopyTo(buffer.Span);

        _ring.GetSqe().PrepareWrite(file.Fd, buffer.Pointer, 3 * Block, offset: Block, userData: 11);
        UringCqe written = UringTestIo.SubmitOne(_ring);
        Assert.That(written.UserData, Is.EqualTo(11UL));
        Assert.That(written.Result, Is.EqualTo(3 * Block));

        byte[] onDisk = File.ReadAllBytes(path);
        Assert.That(onDisk.Length, Is.EqualTo(4 * Block));
        Assert.That(onDisk.AsSpan(0, Block).IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "the hole before the write reads as zeros");
        Assert.That(onDisk.AsSpan(Block).SequenceEqual(expected), Is.True);

        // Read back something written by System.IO, not by us.
        byte[] other = UringTestIo.Pattern(Block, seed: 2);
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Write)) { fs.Position = 2 * Block; fs.Write(other); }
        buffer.Span.Clear();
        _ring.GetSqe().PrepareRead(file.Fd, buffer.Pointer, Block, offset: 2 * Block, userData: 12);
        UringCqe read = UringTestIo.SubmitOne(_ring);
        Assert.That(read.Result, Is.EqualTo(Block));
        Assert.That(buffer.Slice(0, Block).SequenceEqual(other), Is.True);
    }

    [Test]
    public void ReadPastEndOfFileIsShort()
    {
        string path = _dir.File("short.bin");
        File.WriteAllBytes(path, UringTestIo.Pattern(100, seed: 3));
        using var file = NativeFile.Open(path, writable: false, direct: false);
        using var buffer = new AlignedBuffer(Block);
        _ring.GetSqe().PrepareRead(file.Fd, buffer.Pointer, Block, 0, 1);
        Assert.That(UringTestIo.SubmitOne(_ring).Result, Is.EqualTo(100));
    }

    [Test]
    public void WritevAndReadvScatterAndGather()
    {
        string path = _dir.File("vec.bin");
        using var file = NativeFile.Open(path, writable: true, direct: false, create: true);
        int[] lengths = [512, 4096, 1000];
        var buffers = lengths.Select(l => new AlignedBuffer((nuint)l)).ToArray();
        try
        {
            byte[] expected = UringTestIo.Pattern(lengths.Sum(), seed: 4);
            var iov = stackalloc IoVec[3];
            int at = 0;
            for (int i = 0; i < 3; i++)
            {
                expected.AsSpan(at, lengths[i]).CopyTo(buffers[i].Span);
                iov[i] = buffers[i].AsIoVec();
                at += lengths[i];
            }
            _ring.GetSqe().PrepareWritev(file.Fd, (nint)iov, 3, offset: 7, userData: 21);
            Assert.That(UringTestIo.SubmitOne(_ring).Result, Is.EqualTo(expected.Length));
            Assert.That(File.ReadAllBytes(path).AsSpan(7).SequenceEqual(expected), Is.True);

            foreach (var b in buffers) b.Span.Clear();
            _ring.GetSqe().PrepareReadv(file.Fd, (nint)iov, 3, offset: 7, userData: 22);
            UringCqe cqe = UringTestIo.SubmitOne(_ring);
            Assert.That(cqe.Result, Is.EqualTo(expected.Length));
            Assert.That(cqe.UserData, Is.EqualTo(22UL));
            byte[] gathered = buffers.SelectMany(b => b.Span.ToArray()).ToArray();
            Assert.That(gathered.SequenceEqual(expected), Is.True);
        }
        finally
        {
            foreach (var b in buffers) b.Dispose();
        }
    }

    [Test]
    public void FixedBuffersAndFixedFiles()
    {
        string path = _dir.File("fixed.bin");
        File.WriteAllBytes(path, new byte[8 * Block]);
        using var file = NativeFile.Open(path, writable: true, direct: false);
        using var registered = new AlignedBuffer(4 * Block);
        _ring.RegisterBuffers([registered.AsIoVec()]);
        _ring.RegisterFiles([file.Fd]);
        Assert.That(_ring.HasRegisteredBuffers, Is.True);
        Assert.That(_ring.RegisteredFileCount, Is.EqualTo(1));

        byte[] expected = UringTestIo.Pattern(2 * Block, seed: 5);
        expected.CopyTo(registered.Slice(Block, 2 * Block));
        // Fixed file index 0, a slice inside registered buffer 0.
        _ring.GetSqe().PrepareWriteFixed(0, registered.Pointer + Block, 2 * Block, offset: 5 * Block, bufferIndex: 0, userData: 31, fixedFile: true);
        Assert.That(UringTestIo.SubmitOne(_ring).Result, Is.EqualTo(2 * Block));
        Assert.That(File.ReadAllBytes(path).AsSpan(5 * Block, 2 * Block).SequenceEqual(expected), Is.True);

        registered.Span.Clear();
        _ring.GetSqe().PrepareReadFixed(file.Fd, registered.Pointer, 2 * Block, offset: 5 * Block, bufferIndex: 0, userData: 32);
        Assert.That(UringTestIo.SubmitOne(_ring).Result, Is.EqualTo(2 * Block));
        Assert.That(registered.Slice(0, 2 * Block).SequenceEqual(expected), Is.True);

        // A fixed read that leaves the registered buffer is refused by the kernel.
        _ring.GetSqe().PrepareReadFixed(file.Fd, registered.Pointer + 3 * Block, 2 * Block, 0, 0, 33);
        UringCqe outside = UringTestIo.SubmitOne(_ring);
        Assert.That(outside.Result, Is.EqualTo(-Errno.EFAULT));
        var e = UringErrors.ForCompletion(UringOpcode.ReadFixed, outside.Result, file.Fd, 0, 2 * Block);
        Assert.That(e.Message, Does.Contain("READ_FIXED").And.Contain("EFAULT").And.Contain("registered buffer"));

        _ring.UnregisterFiles();
        _ring.UnregisterBuffers();
        Assert.That(_ring.HasRegisteredBuffers, Is.False);
    }

    [Test]
    public void RegisteringTwiceIsRefusedClearly()
    {
        using var registered = new AlignedBuffer(Block);
        _ring.RegisterBuffers([registered.AsIoVec()]);
        var e = Assert.Throws<InvalidOperationException>(() => _ring.RegisterBuffers([registered.AsIoVec()]));
        Assert.That(e!.Message, Does.Contain("already registered"));
        Assert.Throws<ArgumentException>(() => _ring.RegisterFiles([]));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void FsyncSucceeds(bool dataOnly)
    {
        string path = _dir.File("sync.bin");
        File.WriteAllBytes(path, UringTestIo.Pattern(Block, seed: 6));
        using var file = NativeFile.Open(path, writable: true, direct: false);
        _ring.GetSqe().PrepareFsync(file.Fd, dataOnly, userData: 41);
        UringCqe cqe = UringTestIo.SubmitOne(_ring);
        Assert.That(cqe.Result, Is.Zero);
        Assert.That(cqe.UserData, Is.EqualTo(41UL));
    }

    [Test]
    public void PunchHoleZeroesTheRangeAndKeepsTheSize()
    {
        string path = _dir.File("hole.bin");
        byte[] original = UringTestIo.Pattern(4 * Block, seed: 7);
        File.WriteAllBytes(path, original);
        using var file = NativeFile.Open(path, writable: true, direct: false);
        _ring.GetSqe().PreparePunchHole(file.Fd, offset: Block, length: 2 * Block, userData: 51);
        UringCqe cqe = UringTestIo.SubmitOne(_ring);
        Assert.That(cqe.Result, Is.Zero, () => UringErrors.ForCompletion(UringOpcode.Fallocate, cqe.Result, file.Fd, Block, 2 * Block).Message);

        byte[] after = File.ReadAllBytes(path);
        Assert.That(after.Length, Is.EqualTo(4 * Block), "FALLOC_FL_KEEP_SIZE");
        Assert.That(after.AsSpan(0, Block).SequenceEqual(original.AsSpan(0, Block)), Is.True);
        Assert.That(after.AsSpan(Block, 2 * Block).IndexOfAnyExcept((byte)0), Is.EqualTo(-1));
        Assert.That(after.AsSpan(3 * Block).SequenceEqual(original.AsSpan(3 * Block)), Is.True);
    }

    [Test]
    public void BatchOfManyWritesLandsEveryBlock()
    {
        const int blocks = 1000;
        string path = _dir.File("batch.bin");
        using var file = NativeFile.Open(path, writable: true, direct: false, create: true);
        using var buffer = new AlignedBuffer(blocks * 64);
        for (int i = 0; i < blocks; i++)
            BitConverter.TryWriteBytes(buffer.Slice(i * 64, 64), (long)i * 7919);

        int next = 0, completed = 0, largestSubmit = 0;
        var done = new bool[blocks];
        Span<UringCqe> cqes = stackalloc UringCqe[64];
        while (completed < blocks)
        {
            while (next < blocks && _ring.TryGetSqe(out UringSqe* sqe))
            {
                sqe->PrepareWrite(file.Fd, buffer.Pointer + next * 64, 64, (ulong)next * 64, (ulong)next);
                next++;
            }
            largestSubmit = Math.Max(largestSubmit, _ring.SubmitAndWait(1));
            int n;
            while ((n = _ring.ReapBatch(cqes)) > 0)
                for (int i = 0; i < n; i++)
                {
                    Assert.That(cqes[i].Result, Is.EqualTo(64));
                    Assert.That(done[cqes[i].UserData], Is.False, "each completion once");
                    done[cqes[i].UserData] = true;
                    completed++;
                }
        }
        Assert.That(largestSubmit, Is.EqualTo((int)_ring.SqEntries), "a full SQ is handed over by one io_uring_enter");
        byte[] onDisk = File.ReadAllBytes(path);
        for (int i = 0; i < blocks; i++)
            Assert.That(BitConverter.ToInt64(onDisk, i * 64), Is.EqualTo((long)i * 7919), $"block {i}");
    }

    [Test]
    public void NeverMoreInFlightThanTheCompletionQueueHolds()
    {
        using var ring = UringRing.Create(new UringRingOptions { SqEntries = 8, CqEntries = 16 });
        int prepared = 0;
        for (int round = 0; round < 4; round++)
        {
            while (ring.TryGetSqe(out UringSqe* sqe))
            {
                sqe->PrepareNop((ulong)prepared++);
            }
            ring.Submit(); // frees SQ slots, but completions still occupy the CQ
        }
        Assert.That(prepared, Is.EqualTo(16), "capped by the CQ size, not by SQ slots");
        Assert.That(ring.InFlight, Is.EqualTo(16));
        Assert.That(ring.Capacity, Is.Zero);
        var e = Assert.Throws<InvalidOperationException>(() => ring.GetSqe());
        Assert.That(e!.Message, Does.Contain("16 in flight"));

        for (int i = 0; i < 16; i++)
            Assert.That(ring.WaitCompletion().Result, Is.Zero);
        Assert.That(ring.InFlight, Is.Zero);
        Assert.That(ring.Capacity, Is.EqualTo(8));
    }

    [Test]
    public void WaitingWithNothingInFlightIsRefused()
    {
        var e = Assert.Throws<InvalidOperationException>(() => _ring.WaitCompletion());
        Assert.That(e!.Message, Does.Contain("no operation in flight"));
    }

    [Test]
    public void BadFileDescriptorReportsEbadfAndTheOperation()
    {
        using var buffer = new AlignedBuffer(Block);
        _ring.GetSqe().PrepareRead(12345, buffer.Pointer, Block, 0, userData: 61);
        UringCqe cqe = UringTestIo.SubmitOne(_ring);
        Assert.That(cqe.Result, Is.EqualTo(-Errno.EBADF));
        Assert.That(cqe.UserData, Is.EqualTo(61UL));
        UringException e = UringErrors.ForCompletion(UringOpcode.Read, cqe.Result, 12345, 0, Block);
        Assert.That(e.Operation, Is.EqualTo("READ"));
        Assert.That(e.ErrnoName, Is.EqualTo("EBADF"));
        Assert.That(e.Message, Does.StartWith("READ of 4096 bytes at offset 0 on fd 12345 failed with EBADF"));
    }

    [Test]
    public void MisalignedDirectIoReportsEinvalWithTheAlignmentRule()
    {
        string path = _dir.File("direct.bin");
        File.WriteAllBytes(path, UringTestIo.Pattern(4 * Block, seed: 8));
        NativeFile file;
        try
        {
            file = NativeFile.Open(path, writable: true, direct: true);
        }
        catch (UringException e) when (e.Errno == Errno.EINVAL)
        {
            Assert.Ignore($"the temp filesystem does not support O_DIRECT: {e.Message}");
            return;
        }
        using (file)
        using (var buffer = new AlignedBuffer(2 * Block))
        {
            _ring.GetSqe().PrepareRead(file.Fd, buffer.Pointer + 1, Block, 0, 71); // misaligned address
            UringCqe cqe = UringTestIo.SubmitOne(_ring);
            Assert.That(cqe.Result, Is.EqualTo(-Errno.EINVAL));
            UringException e = UringErrors.ForCompletion(UringOpcode.Read, cqe.Result, file.Fd, 0, Block, direct: true);
            Assert.That(e.Message, Does.Contain("EINVAL").And.Contain("O_DIRECT").And.Contain("multiples of the device's logical block size"));

            _ring.GetSqe().PrepareRead(file.Fd, buffer.Pointer, Block, 0, 72); // aligned: fine
            Assert.That(UringTestIo.SubmitOne(_ring).Result, Is.EqualTo(Block));
            Assert.That(buffer.Slice(0, Block).SequenceEqual(File.ReadAllBytes(path).AsSpan(0, Block)), Is.True);
        }
    }
}
