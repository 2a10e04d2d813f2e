using NUnit.Framework;
using PolledNvme.Uring;

namespace PolledNvme.Tests.Uring;

/// <summary>The kernel-path benchmark engine: counts, mixes, offsets, latencies, and bad input.</summary>
public class UringFileEngineTests
{
    private const int Block = 4096;
    private UringTempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new UringTempDirectory();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private sealed class CountingSink : IUringLatencySink
    {
        public long Reads, Writes, NonPositive;
        public void Record(bool isWrite, long nanoseconds)
        {
            if (isWrite) Writes++; else Reads++;
            if (nanoseconds < 0) NonPositive++;
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void RandomReadsCompleteExactlyTheRequestedCount(bool direct)
    {
        string path = _dir.File("r.bin");
        UringFileEngine.PrepareFile(path, 1 << 20);
        using var engine = new UringFileEngine(new UringEngineOptions { Path = path, Direct = direct, QueueDepth = 16, BatchSize = 4 });
        var sink = new CountingSink();
        UringRunResult r = engine.Run(ioCount: 5000, duration: TimeSpan.Zero, sink);
        Assert.That(r.Reads, Is.EqualTo(5000));
        Assert.That(r.Writes, Is.Zero);
        Assert.That(r.BytesRead, Is.EqualTo(5000L * Block));
        Assert.That(sink.Reads, Is.EqualTo(5000), "one latency per I/O");
        Assert.That(sink.NonPositive, Is.Zero);
        if (!direct)
            Assert.That(r.EnterCalls, Is.LessThan(5000 / 2), "page-cache reads complete inline: one io_uring_enter per batch of 4");
        Assert.That(r.Iops, Is.GreaterThan(0));
    }

    [Test]
    public void SequentialWritesCoverTheRegionInOrder()
    {
        string path = _dir.File("w.bin");
        File.WriteAllBytes(path, new byte[64 * Block]);
        using (var engine = new UringFileEngine(new UringEngineOptions
        {
            Path = path, Random = false, ReadPercent = 0, Offset = 8 * Block, Size = 32 * Block, QueueDepth = 8,
        }))
        {
            UringRunResult r = engine.Run(ioCount: 32, duration: TimeSpan.Zero);
            Assert.That(r.Writes, Is.EqualTo(32));
        }
        byte[] onDisk = File.ReadAllBytes(path);
        for (int block = 0; block < 64; block++)
        {
            bool written = onDisk.AsSpan(block * Block, Block).IndexOfAnyExcept((byte)0) >= 0;
            Assert.That(written, Is.EqualTo(block is >= 8 and < 40), $"block {block}");
        }
    }

    [Test]
    public void MixedRunSplitsRoughlyByReadPercent()
    {
        string path = _dir.File("m.bin");
        UringFileEngine.PrepareFile(path, 1 << 20);
        using var engine = new UringFileEngine(new UringEngineOptions { Path = path, ReadPercent = 70 });
        var sink = new CountingSink();
        UringRunResult r = engine.Run(10_000, TimeSpan.Zero, sink);
        Assert.That(r.Ios, Is.EqualTo(10_000));
        Assert.That(r.Reads, Is.InRange(6500, 7500));
        Assert.That(sink.Writes, Is.EqualTo(r.Writes));
    }

    [Test]
    public void DurationEndsTheRun()
    {
        string path = _dir.File("d.bin");
        UringFileEngine.PrepareFile(path, 1 << 20);
        using var engine = new UringFileEngine(new UringEngineOptions { Path = path, RegisterBuffers = false, RegisterFile = false });
        UringRunResult r = engine.Run(0, TimeSpan.FromMilliseconds(200));
        // Only the lower bound is the engine's promise; how far past it a run ends depends on the machine's load.
        Assert.That(r.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(200)));
        Assert.That(r.Reads, Is.GreaterThan(0));
    }

    [Test]
    public void ARunWithoutAnyLimitIsRefused()
    {
        string path = _dir.File("n.bin");
        UringFileEngine.PrepareFile(path, 64 * 1024);
        using var engine = new UringFileEngine(new UringEngineOptions { Path = path });
        var e = Assert.Throws<ArgumentException>(() => engine.Run(0, TimeSpan.Zero));
        Assert.That(e!.Message, Does.Contain("never end"));
    }

    [Test]
    public void RegionLargerThanTheFileIsRefused()
    {
        string path = _dir.File("small.bin");
        UringFileEngine.PrepareFile(path, 64 * 1024);
        var e = Assert.Throws<ArgumentException>(() => new UringFileEngine(new UringEngineOptions { Path = path, Size = 1 << 20 }));
        Assert.That(e!.Message, Does.Contain("does not fit").And.Contain("65536 bytes"));
    }

    [Test]
    public void MissingFileReportsEnoent()
    {
        var e = Assert.Throws<UringException>(() => new UringFileEngine(new UringEngineOptions { Path = _dir.File("absent") }));
        Assert.That(e!.ErrnoName, Is.EqualTo("ENOENT"));
        Assert.That(e.Operation, Is.EqualTo("open"));
    }

    [TestCase(nameof(UringEngineOptions.BlockSize), 1000)]
    [TestCase(nameof(UringEngineOptions.QueueDepth), 0)]
    [TestCase(nameof(UringEngineOptions.BatchSize), 64)]
    [TestCase(nameof(UringEngineOptions.ReadPercent), 101)]
    [TestCase(nameof(UringEngineOptions.Offset), 100)]
    public void BadOptionsAreRejectedByName(string name, int value)
    {
        var o = new UringEngineOptions { Path = _dir.File("x") };
        o = name switch
        {
            nameof(UringEngineOptions.BlockSize) => o with { BlockSize = value },
            nameof(UringEngineOptions.QueueDepth) => o with { QueueDepth = value },
            nameof(UringEngineOptions.BatchSize) => o with { BatchSize = value },
            nameof(UringEngineOptions.ReadPercent) => o with { ReadPercent = value },
            _ => o with { Offset = value },
        };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new UringFileEngine(o));
        Assert.That(e!.ParamName, Is.EqualTo(name));
    }

    [Test]
    public void ShortTransferIsReportedWithTheOffset()
    {
        string path = _dir.File("shrink.bin");
        UringFileEngine.PrepareFile(path, 64 * Block);
        using var engine = new UringFileEngine(new UringEngineOptions { Path = path, Random = false, QueueDepth = 1 });
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Write)) fs.SetLength(Block + 100); // shrinks under the engine
        var e = Assert.Throws<IOException>(() => engine.Run(10, TimeSpan.Zero));
        Assert.That(e!.Message, Does.Contain("offset 4096").And.Contain("transferred 100 of 4096"));
    }

    [Test]
    public void AllocationDoesNotGrowWithTheNumberOfIos()
    {
        string path = _dir.File("a.bin");
        UringFileEngine.PrepareFile(path, 1 << 20);
        using var engine = new UringFileEngine(new UringEngineOptions { Path = path, ReadPercent = 50 });
        var sink = new CountingSink();
        engine.Run(2000, TimeSpan.Zero, sink); // JIT, tiering
        long before = GC.GetAllocatedBytesForCurrentThread();
        engine.Run(100, TimeSpan.Zero, sink);
        long small = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        engine.Run(20_000, TimeSpan.Zero, sink);
        long large = GC.GetAllocatedBytesForCurrentThread() - before;
        // Per-run setup (ring, probe) is the same for both runs; one-time runtime work (tiering, OSR)
        // may land in either on a busy machine. Any per-I/O allocation is at least 24 bytes per I/O.
        Assert.That(large - small, Is.LessThan(20_000 - 100), $"{small} bytes for 100 I/Os, {large} for 20,000: nothing per I/O");
    }
}
