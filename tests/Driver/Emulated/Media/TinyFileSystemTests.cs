using System.Diagnostics;
using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Emulated;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Driver.Emulated.Media;

using DmaBuffer = PolledNvme.Queues.DmaBuffer;

/// <summary>
/// A real full disk, no injection: the image lives on a 1 MiB tmpfs mounted for the test (needs
/// root; skipped otherwise, MediaErrorTests and FormatCommitTests inject the same errors below
/// the backend). Writes beyond the space fail with Capacity Exceeded and say ENOSPC; a format
/// that does not fit fails, says why, and leaves the old format and data.
/// </summary>
public class TinyFileSystemTests
{
    private const int Block = 4096;
    private const int Chunk = 64; // blocks per write: 256 KiB
    private string? _mount;

    [SetUp]
    public void SetUp()
    {
        if (Tmds.Linux.LibC.geteuid() != 0)
            Assert.Ignore("mounting a 1 MiB tmpfs needs root; the injected-fault tests cover the same paths without it.");
        string dir = Directory.CreateTempSubdirectory("pnvme-tinyfs-").FullName;
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", "size=1m", "pnvme-tinyfs", dir);
        if (code != 0)
        {
            Directory.Delete(dir);
            Assert.Ignore($"cannot mount a tmpfs here (mount exited {code}: {output.Trim()}); the injected-fault tests cover the same paths.");
        }
        _mount = dir;
    }

    [TearDown]
    public void TearDown()
    {
        if (_mount is null)
            return;
        // An io_uring's teardown finishes in the kernel after the controller is disposed and may
        // keep the file system busy a moment; a lazy unmount detaches it now and frees it then.
        var (code, output) = Run("umount", "-l", _mount);
        Directory.Delete(_mount, recursive: true);
        _mount = null;
        Assert.That(code, Is.Zero, $"umount: {output}");
    }

    private static (int Code, string Output) Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }

    [Test]
    public void DiskFullFailsWritesWithCapacityExceededAndAFormatThatDoesNotFitKeepsTheOldOne()
    {
        string image = Path.Combine(_mount!, "ns.img");
        var pi = IoProtectionOptions.ControllerInserts(PiChecks.Guard | PiChecks.ReferenceTag);
        byte[] first;
        using (var setup = EmulatedSetup.Open($"emu:{image},lbads=4096,ms=8,pi=1,size=4M"))   // threaded device
        using (var qp = setup.Controller.CreateIoQueuePair(8))
        using (DmaBuffer data = setup.Controller.Memory.Allocate(Chunk * Block))
        {
            new Random(11).NextBytes(data.Span);
            first = data.Span.ToArray();
            NvmeException? full = null;
            for (ulong lba = 0; lba < (ulong)setup.Ns.BlockCount && full is null; lba += Chunk)
            {
                try
                {
                    qp.Wait(qp.WriteAsync(setup.Ns, lba, Chunk, data, null, pi));
                }
                catch (NvmeException e)
                {
                    full = e;
                }
            }
            Assert.That(full, Is.Not.Null, "4 MiB of data cannot fit in a 1 MiB file system");
            Assert.That(full!.Status.TypeAndCode, Is.EqualTo(NvmeStatus.CapacityExceeded.TypeAndCode), full.Message);
            Assert.That(full.Message, Does.Contain("ENOSPC (No space left on device) writing").And.Contain(image));
            Assert.That(setup.Controller.IsOperational, Is.True);

            qp.Wait(qp.ReadAsync(setup.Ns, 0, Chunk, data, null, pi));
            Assert.That(data.Span.ToArray(), Is.EqualTo(first), "what was written before the disk filled reads back, PI checked");

            // 512-byte blocks with 64 bytes of metadata: 512 KiB of metadata to write, and no space.
            int index = setup.Ns.LbaFormats.Select((f, i) => (f, i)).First(x => x.f.BlockSize == 512 && x.f.MetadataSize == 64).i;
            var format = Assert.Throws<NvmeException>(() => setup.Controller.FormatNvm(1, index, piType: 1))!;
            Assert.That(format.Status.TypeAndCode, Is.EqualTo(NvmeStatus.InternalError.TypeAndCode), format.Message);
            Assert.That(format.Message, Does.Contain("ENOSPC").And.Contain(image + ".pnvmefmt.new-image"));
            Assert.That(setup.Controller.IsOperational, Is.True);
            qp.Wait(qp.ReadAsync(setup.Ns, 0, Chunk, data, null, pi));
            Assert.That(data.Span.ToArray(), Is.EqualTo(first), "the failed format left the old data");
        }
        Assert.That(Directory.GetFiles(_mount!).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "ns.img", "ns.img.pnvmefmt" }),
            "the aside image was removed, its space given back");

        using (var setup = EmulatedSetup.Open($"emu:{image}"))
        using (var qp = setup.Controller.CreateIoQueuePair(8))
        using (DmaBuffer data = setup.Controller.Memory.Allocate(Chunk * Block))
        {
            Assert.That((setup.Ns.BlockSize, setup.Ns.MetadataSize), Is.EqualTo((Block, 8)), "reopened in the old format");
            qp.Wait(qp.ReadAsync(setup.Ns, 0, Chunk, data, null, pi));
            Assert.That(data.Span.ToArray(), Is.EqualTo(first));
        }
    }
}
