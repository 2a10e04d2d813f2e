using NUnit.Framework;
using PolledNvme.Bench.Engines;
using PolledNvme.Emulation;
using PolledNvme.Uring;

namespace PolledNvme.Tests.Uring;

/// <summary>
/// One writer per file on the kernel path too: the io_uring engine and pnvme's <c>uring:</c>
/// target lock their file (exclusive when they write, shared when they only read), and they
/// exclude the emulated controller on the same file and the other way round.
/// </summary>
public class UringFileLockTests
{
    private UringTempDirectory _dir = null!;
    private string _path = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new UringTempDirectory();
        _path = _dir.File("f.bin");
        UringFileEngine.PrepareFile(_path, 1 << 20);
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private UringFileEngine Engine(int readPercent) => new(new UringEngineOptions { Path = _path, ReadPercent = readPercent, QueueDepth = 4 });

    [Test]
    public void TwoWritingEnginesOnOneFileConflictInsideOneProcess()
    {
        using (Engine(readPercent: 50))
        {
            var e = Assert.Throws<FileLockedException>(() => Engine(readPercent: 0))!;
            Assert.That(e.Path, Is.EqualTo(_path));
            Assert.That(e.HolderProcessId, Is.EqualTo(Environment.ProcessId));
            Assert.That(e.Message, Does.Contain(_path).And.Contain("open for writing"));
            Assert.Throws<FileLockedException>(() => Engine(readPercent: 100), "a reader waits for the writer too");
        }
    }

    [Test]
    public void ReadingEnginesShareTheFileAndKeepAWriterOut()
    {
        using var first = Engine(readPercent: 100);
        using var second = Engine(readPercent: 100);
        var e = Assert.Throws<FileLockedException>(() => Engine(readPercent: 0))!;
        Assert.That(e.Message, Does.Contain("open read-only"));
        Assert.That(second.Run(ioCount: 64, duration: TimeSpan.Zero).Reads, Is.EqualTo(64));
    }

    [Test]
    public void TheLockGoesWithTheEngineEvenAfterARingRegisteredTheFile()
    {
        using (var engine = Engine(readPercent: 0))
            Assert.That(engine.Run(ioCount: 64, duration: TimeSpan.Zero).Writes, Is.EqualTo(64)); // RegisterFile: the ring held the descriptor
        using (Engine(readPercent: 0)) { }
    }

    [Test]
    public void UringTargetLocksLikeTheEngineAndExcludesTheEmulatedController()
    {
        using (var writer = new UringBenchTarget(UringDeviceOptions.Parse($"uring:{_path}"), writes: true))
        {
            var e = Assert.Throws<FileLockedException>(() => new UringBenchTarget(UringDeviceOptions.Parse($"uring:{_path}"), writes: false))!;
            Assert.That(e.HolderProcessId, Is.EqualTo(Environment.ProcessId));
            var emu = Assert.Throws<FileLockedException>(() => EmulatedController.Create(
                EmulatedControllerOptions.Parse($"emu:{_path},lbads=4096,size=1M,format=1,mode=inline")))!;
            Assert.That(emu.Message, Does.Contain(_path), "the emulated controller does not re-lay a file another user has open");
        }
        using (new UringBenchTarget(UringDeviceOptions.Parse($"uring:{_path}"), writes: false))
        using (new UringBenchTarget(UringDeviceOptions.Parse($"uring:{_path}"), writes: false))
            Assert.Throws<FileLockedException>(() => Engine(readPercent: 0));
        Assert.That(new FileInfo(_path).Length, Is.EqualTo(1 << 20), "the refused emulated controller did not touch the file");
    }
}
