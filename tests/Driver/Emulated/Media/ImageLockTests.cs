using System.Runtime.InteropServices;
using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Emulated;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;
using PolledNvme.Queues.Uring;
using PolledNvme.Tests.Bench;

namespace PolledNvme.Tests.Driver.Emulated.Media;

using DmaBuffer = PolledNvme.Queues.DmaBuffer;

/// <summary>
/// An image has one writer: the emulated controller's file backend locks its image (open file
/// description locks), exclusively for a writer and for a format, shared for read-only (ro=1)
/// users; across processes and inside one process. The refusal names the image and the holder.
/// </summary>
public class ImageLockTests
{
    private string _dir = null!;
    private string _image = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("pnvme-lock-").FullName;
        _image = Path.Combine(_dir, "ns.img");
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static EmulatedController Create(string address) => EmulatedController.Create(EmulatedControllerOptions.Parse(address));

    private string Address(string extra = "") => $"emu:{_image},lbads=4096,ms=8,pi=1,size=1M,mode=inline{extra}";

    [Test]
    public void SecondWriterInTheSameProcessIsRefusedNamingTheImageAndThisProcess()
    {
        using (var first = Create(Address()))
        {
            var e = Assert.Throws<FileLockedException>(() => Create(Address()))!;
            Assert.That(e.Path, Is.EqualTo(_image));
            Assert.That(e.HolderProcessId, Is.EqualTo(Environment.ProcessId));
            Assert.That(e.Message, Does.Contain($"'{_image}' is in use").And.Contain($"this process (PID {Environment.ProcessId})")
                .And.Contain("open for writing").And.Contain("one writer at a time"));
            Assert.Throws<FileLockedException>(() => Create($"emu:{_image}"), "the path alone (recorded format) too");
            Assert.Throws<FileLockedException>(() => Create(Address(",format=1")), "format=1 needs the image to itself");
        }
        using (Create(Address())) { } // released on dispose
    }

    [Test]
    public void ReadOnlyUsersShareTheImageAndExcludeAWriter()
    {
        using (Create(Address())) { }
        using (var reader1 = Create($"emu:{_image},ro=1"))
        using (var reader2 = Create($"emu:{_image},ro=1"))
        {
            var e = Assert.Throws<FileLockedException>(() => Create(Address()))!;
            Assert.That(e.Message, Does.Contain($"'{_image}' is open read-only by this process").And.Contain("ro=1"));
        }
        using (Create(Address()))
        {
            var e = Assert.Throws<FileLockedException>(() => Create($"emu:{_image},ro=1"))!;
            Assert.That(e.Message, Does.Contain("open for writing"));
        }
    }

    [Test]
    public void ReadOnlyNamespaceIsWriteProtectedAndReadsWhatWasWritten()
    {
        byte[] written;
        using (var setup = EmulatedSetup.Open(Address()))
        using (var qp = setup.Controller.CreateIoQueuePair(8))
        using (DmaBuffer data = setup.Controller.Memory.Allocate(4096))
        {
            new Random(7).NextBytes(data.Span);
            written = data.Span.ToArray();
            qp.Wait(qp.WriteAsync(setup.Ns, 3, 1, data, null, IoProtectionOptions.ControllerInserts()));
        }
        byte[] before = File.ReadAllBytes(_image);
        byte[] recordBefore = File.ReadAllBytes(_image + ".pnvmefmt");

        using (var setup = EmulatedSetup.Open($"emu:{_image},ro=1"))
        using (var qp = setup.Controller.CreateIoQueuePair(8))
        using (DmaBuffer data = setup.Controller.Memory.Allocate(4096))
        {
            Assert.That(Identify(setup.Controller).Nsattr & IdentifyNamespace.NsattrWriteProtected, Is.Not.Zero, "NSATTR bit 0: write protected");
            qp.Wait(qp.ReadAsync(setup.Ns, 3, 1, data, null, IoProtectionOptions.ControllerInserts(PiChecks.Guard | PiChecks.ReferenceTag)));
            Assert.That(data.Span.ToArray(), Is.EqualTo(written));
            qp.Wait(qp.FlushAsync(setup.Ns));

            WriteProtected(() => qp.Wait(qp.WriteAsync(setup.Ns, 3, 1, data, null, IoProtectionOptions.ControllerInserts())));
            WriteProtected(() => qp.Wait(qp.WriteZeroesAsync(setup.Ns, 0, 4)));
            WriteProtected(() => qp.Wait(qp.DeallocateAsync(setup.Ns, 0, 4)));
            WriteProtected(() => setup.Controller.FormatNvm(1, 0));
            Assert.That(setup.Controller.IsOperational, Is.True);
        }
        Assert.That(File.ReadAllBytes(_image), Is.EqualTo(before), "nothing reached the image");
        Assert.That(File.ReadAllBytes(_image + ".pnvmefmt"), Is.EqualTo(recordBefore));
    }

    private static void WriteProtected(TestDelegate action)
    {
        var e = Assert.Throws<NvmeException>(action)!;
        Assert.That(e.Status.TypeAndCode, Is.EqualTo(NvmeStatus.NamespaceWriteProtected.TypeAndCode), e.Message);
        Assert.That(e.Message, Does.Contain("NamespaceIsWriteProtected (SCT 0h, SC 20h, DNR)"));
    }

    private static IdentifyNamespace Identify(NvmeController controller)
    {
        using DmaBuffer page = controller.Memory.Allocate(4096);
        var command = new SubmissionEntry { Opcode = (byte)AdminOpcode.Identify, NamespaceId = 1, Cdw10 = (byte)IdentifyCns.Namespace };
        var cqe = controller.ExecuteAdminRaw(command, page, 4096);
        Assert.That(new NvmeStatus(cqe.Status).IsSuccess, Is.True);
        return MemoryMarshal.Read<IdentifyNamespace>(page.Span);
    }

    [Test]
    public void ReadOnlyNeedsAnExistingImageAndCannotBeCombinedWithFormat()
    {
        var e = Assert.Throws<FileNotFoundException>(() => Create($"emu:{_image},ro=1,lbads=4096,size=1M"))!;
        Assert.That(e.Message, Does.Contain(_image).And.Contain("ro=1"));
        Assert.That(File.Exists(_image), Is.False, "a read-only open creates nothing");
        var both = Assert.Throws<ArgumentException>(() => EmulatedControllerOptions.Parse($"emu:{_image},ro=1,format=1"))!;
        Assert.That(both.Message, Does.Contain("ro=1").And.Contain("format=1"));
    }

    [Test]
    public void FormatNvmLocksTheNewImageBeforeItReplacesTheOld()
    {
        using var setup = EmulatedSetup.Open(Address());
        setup.Controller.FormatNvm(1, 0);
        var e = Assert.Throws<FileLockedException>(() => Create($"emu:{_image}"))!;
        Assert.That(e.HolderProcessId, Is.EqualTo(Environment.ProcessId), "the new inode at the path is locked by the formatter");
    }

    [Test]
    public void AWriterInAnotherProcessIsNamedAndFormatAndSecondWritersAreRefused()
    {
        using var child = CrashWriterChild.Start(_image, blocks: 256, firstGeneration: 1);
        Assert.That(child.WaitReady(TimeSpan.FromSeconds(60)), Is.True, $"the writer did not open the image: {child.Errors}");
        byte[] record = File.ReadAllBytes(_image + ".pnvmefmt");

        var e = Assert.Throws<FileLockedException>(() => Create($"emu:{_image}"))!;
        Assert.That(e.HolderProcessId, Is.EqualTo(child.Id));
        Assert.That(e.Message, Does.Contain($"PID {child.Id} (").And.Contain(_image));

        // pnvme format from this (second) process: refused before any I/O, one line, exit 1.
        var format = CliRunner.Run("format", "--device", $"emu:{_image}", "--lbaf", "0");
        Assert.That(format.ExitCode, Is.EqualTo(1), format.Stderr);
        Assert.That(format.Stderr, Does.Contain($"PID {child.Id}").And.Contain(_image).And.Not.Contain("   at "));
        Assert.That(File.ReadAllBytes(_image + ".pnvmefmt"), Is.EqualTo(record), "the format record was not touched");

        // The io_uring engine on the same image: a writer and a reader are both refused.
        var uring = Assert.Throws<FileLockedException>(() => new UringFileEngine(new UringEngineOptions { Path = _image, ReadPercent = 0 }))!;
        Assert.That(uring.HolderProcessId, Is.EqualTo(child.Id));
        Assert.Throws<FileLockedException>(() => new UringFileEngine(new UringEngineOptions { Path = _image, ReadPercent = 100 }));
        Assert.That(child.HasExited, Is.False, child.Errors);

        // SIGKILL releases the lock at once, although the child's io_uring registered the image.
        child.Kill();
        var after = CliRunner.Run("format", "--device", $"emu:{_image}", "--lbaf", "0");
        Assert.That(after.ExitCode, Is.EqualTo(0), after.Stderr);
    }
}
