using NUnit.Framework;
using PolledNvme.Bench.Commands;
using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Run;
using PolledNvme.Driver;
using PolledNvme.Driver.Emulated.Media;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues.Uring;

namespace PolledNvme.Tests.Driver.Emulated.Media;

using DmaBuffer = PolledNvme.Queues.DmaBuffer;

/// <summary>
/// A failing backing file (disk full, I/O error) fails the command with the status a drive
/// would post (Capacity Exceeded, Write Fault, Unrecovered Read Error), the errno, file and
/// offset reach the host with the failure, the Error Information log names the LBA, and the
/// controller keeps working. The file system's errors are injected below the backend
/// (<see cref="MediaFileIo.InjectedFault"/>); TinyFileSystemTests fills a real one.
/// </summary>
public class MediaErrorTests
{
    private const int Block = 4096;
    private string _dir = null!;
    private string _image = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("pnvme-merr-").FullName;
        _image = Path.Combine(_dir, "ns.img");
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static UringFileBackend Backend(EmulatedSetup setup) => (UringFileBackend)setup.Device.Core.Namespaces[0].Media;

    [TestCase("write", "ENOSPC", 0x0, 0x81, TestName = "DiskFullOnWriteIsCapacityExceeded")]
    [TestCase("write", "EDQUOT", 0x0, 0x81, TestName = "QuotaExceededOnWriteIsCapacityExceeded")]
    [TestCase("write", "EIO", 0x2, 0x80, TestName = "IoErrorOnWriteIsWriteFault")]
    [TestCase("read", "EIO", 0x2, 0x81, TestName = "IoErrorOnReadIsUnrecoveredReadError")]
    [TestCase("write-zeroes", "ENOSPC", 0x0, 0x81, TestName = "DiskFullOnWriteZeroesIsCapacityExceeded")]
    [TestCase("flush", "EIO", 0x2, 0x80, TestName = "IoErrorOnFlushIsWriteFault")]
    [TestCase("read", "EBADF", 0x0, 0x06, TestName = "OtherErrnoIsInternalError")]
    public void MediaFailureGivesTheSpecStatusTheErrnoAndTheFileAndTheControllerLivesOn(string command, string errnoName, int sct, int sc)
    {
        int errno = errnoName switch { "ENOSPC" => Errno.ENOSPC, "EDQUOT" => Errno.EDQUOT, "EIO" => Errno.EIO, _ => Errno.EBADF };
        using var setup = EmulatedSetup.Open($"emu:{_image},lbads=4096,ms=8,pi=1,size=1M");   // threaded device
        using var qp = setup.Controller.CreateIoQueuePair(8);
        using DmaBuffer data = setup.Controller.Memory.Allocate(4 * Block);
        new Random(3).NextBytes(data.Span);
        var pi = IoProtectionOptions.ControllerInserts(PiChecks.Guard | PiChecks.ReferenceTag);
        qp.Wait(qp.WriteAsync(setup.Ns, 16, 4, data, null, pi));
        byte[] written = data.Span.ToArray();

        MediaOperation failing = command switch
        {
            "read" => MediaOperation.Read,
            "write-zeroes" => MediaOperation.Write,
            "flush" => MediaOperation.Flush,
            _ => MediaOperation.Write,
        };
        Backend(setup).InjectedFault = (operation, _) => operation == failing || (command == "write-zeroes" && operation == MediaOperation.Zero) ? errno : 0;
        ValueTask task = command switch
        {
            "read" => qp.ReadAsync(setup.Ns, 16, 4, data, null, pi),
            "write-zeroes" => qp.WriteZeroesAsync(setup.Ns, 16, 4),
            "flush" => qp.FlushAsync(setup.Ns),
            _ => qp.WriteAsync(setup.Ns, 16, 4, data, null, pi),
        };
        var e = Assert.Throws<NvmeException>(() => qp.Wait(task))!;
        Backend(setup).InjectedFault = null;

        Assert.That(((int)e.Status.Type, (int)e.Status.Code), Is.EqualTo((sct, sc)), e.Message);
        Assert.That(e.Detail, Does.StartWith($"{errnoName} (").And.Contain($"'{_image}'"));
        if (command != "flush")
            Assert.That(e.Detail, Does.Contain("at offset"));
        Assert.That(e.Message, Does.Contain(e.Status.ToString()).And.Contain(e.Detail!), "the exception's message carries both");

        var log = setup.Controller.GetErrorLog(1)[0];
        Assert.That(log.Status.TypeAndCode, Is.EqualTo(e.Status.TypeAndCode));
        Assert.That(log.NamespaceId, Is.EqualTo(1u));
        if (command is "read" or "write")
            Assert.That(log.Lba, Is.EqualTo(16UL), "the Error Information entry names the first LBA that failed");

        // Nothing half-done, and the controller carries on: the blocks read back as written.
        Assert.That(setup.Controller.IsOperational, Is.True, "no CSTS.CFS");
        if (command != "write-zeroes")
        {
            qp.Wait(qp.ReadAsync(setup.Ns, 16, 4, data, null, pi));
            Assert.That(data.Span.ToArray(), Is.EqualTo(written));
        }
        qp.Wait(qp.WriteAsync(setup.Ns, 20, 4, data, null, pi));
        qp.Wait(qp.FlushAsync(setup.Ns));
    }

    [Test]
    public void RamFormatThatCannotAllocateKeepsTheOldMedia()
    {
        var format = new MediaFormatRecord(Block, 0, 0, false, 0, 0, false, BlockCount: 16);
        using var ram = new RamBackend(format, default);
        ram.Write(100, [1, 2, 3]);
        var e = Assert.Throws<MediaIoException>(() => ram.Reformat(format with { BlockCount = 1L << 48 }, default))!;
        Assert.That(e.ErrnoName, Is.EqualTo("ENOMEM"));
        Assert.That(ram.Length, Is.EqualTo(16L * Block));
        var back = new byte[3];
        ram.Read(100, back);
        Assert.That(back, Is.EqualTo(new byte[] { 1, 2, 3 }));
    }

    [Test]
    public void BenchReportsTheMediaErrorBehindTheStatus()
    {
        var options = BenchOptionParser.Parse(["--device", $"emu:{_image},lbads=4096,ms=8,pi=1,size=4M", "--rw=randwrite",
            "--runtime=200ms", "--iodepth=4", "--progress=0", "--pin=0"]);
        using var controller = DeviceTargets.OpenController(options.Device!, out var emulated);
        ((UringFileBackend)emulated!.Core.Namespaces[0].Media).InjectedFault = (operation, _) => operation == MediaOperation.Write ? Errno.ENOSPC : 0;
        using var target = new NvmeBenchTarget(controller, ownsController: false);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = BenchCommand.RunPlan(BenchPlan.Create(options, target), target, stdout, stderr, progress: null);
        Assert.That(code, Is.EqualTo(1), stdout.ToString() + stderr);
        Assert.That(stderr.ToString(), Does.Contain("CapacityExceeded (SCT 0h, SC 81h, DNR): ENOSPC (No space left on device) writing")
            .And.Contain(_image));
    }
}
