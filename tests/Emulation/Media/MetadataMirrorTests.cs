using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Emulation.Media;
using PolledNvme.Uring;

namespace PolledNvme.Tests.Emulation.Media;

/// <summary>
/// The in-memory copy of a file image's metadata region (<see cref="MetadataMirror"/>): a PI read
/// takes one media operation (its data), the mirror follows only what the file took (a failed
/// metadata write leaves both as they were), and an image reopened from the file reads the same.
/// </summary>
public class MetadataMirrorTests
{
    private const int Block = 4096;
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("pnvme-mirror-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private void Configure(EmulatedNamespaceOptions ns)
    {
        ns.BlockSize = Block;
        ns.MetadataSize = 8;
        ns.PiType = 1;
        ns.CapacityBytes = 1 << 20;
        ns.Backend = MediaBackendKind.File;
        ns.FilePath = Path.Combine(_dir, "ns.img");
    }

    private const uint Insert = CommandFields.Pract | CommandFields.PrchkGuard | CommandFields.PrchkReferenceTag;

    [Test]
    public void APiReadTakesOneMediaOperationAndAFailedMetadataWriteLeavesTheOldTuple()
    {
        byte[] written;
        using (var host = TestHost.Create(Configure))
        {
            var q = host.Start();
            Assert.That(host.Controller.Core.Media, Is.Not.Null, "the file namespace is on the media ring");
            var file = (UringFileBackend)host.Controller.Core.Namespaces[0].Media;
            Assert.That(file.Mirror, Is.Not.Null, "a 2 KiB metadata region is mirrored");
            var data = host.Alloc(Block);
            new Random(5).NextBytes(data.Span);
            written = data.Span.ToArray();
            var write = TestHost.Rw(NvmOpcode.Write, 4, 1, data.Iova, cdw12Flags: Insert);
            write.Cdw14 = 4;
            Assert.That(host.Execute(q, write).Status, Is.Zero);

            int reads = 0;
            file.InjectedFault = (operation, _) => { if (operation == MediaOperation.Read) reads++; return 0; };
            var read = write;
            read.Opcode = (byte)NvmOpcode.Read;
            Assert.That(host.Execute(q, read).Status, Is.Zero, "guard and reference tag checked against the mirrored tuple");
            Assert.That(reads, Is.EqualTo(1), "the data only: the tuple came from memory");

            // A write whose metadata write fails: the command fails, and the old tuple still guards the old data.
            long metadataStart = file.Mirror!.Offset;
            file.InjectedFault = (operation, offset) => operation == MediaOperation.Write && offset >= metadataStart ? Errno.EIO : 0;
            new Random(6).NextBytes(data.Span);
            Assert.That(host.Execute(q, write).Status, Is.EqualTo(NvmeStatus.WriteFault.Value));
            file.InjectedFault = null;
            Assert.That(host.Execute(q, read).Status, Is.Zero, "neither the file nor the mirror took the new tuple");
            Assert.That(data.Span.ToArray(), Is.EqualTo(written));
        }

        // Reopened: the mirror loads from the file and agrees.
        using (var host = TestHost.Create(Configure))
        {
            var q = host.Start();
            var data = host.Alloc(Block);
            var read = TestHost.Rw(NvmOpcode.Read, 4, 1, data.Iova, cdw12Flags: Insert);
            read.Cdw14 = 4;
            Assert.That(host.Execute(q, read).Status, Is.Zero);
            Assert.That(data.Span.ToArray(), Is.EqualTo(written));
        }
    }
}
