using System.Buffers.Binary;
using NUnit.Framework;
using PolledNvme.Driver.Emulated;
using PolledNvme.Driver.Emulated.Media;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Driver.Emulated.Media;

/// <summary>An emulated namespace on the io_uring file backend: deallocation, zeroes, Format NVM, reopen.</summary>
public class UringFileNamespaceTests
{
    private const int Block = 4096;
    private const int Blocks = 64;
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("pnvme-ufn-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private EmulatedNamespaceOptions Options(string name, int ms = 16, int pif = 2, bool format = false) => new()
    {
        BlockSize = Block, MetadataSize = ms, PiType = 1, GuardFormat = pif, CapacityBytes = Blocks * (long)Block,
        Backend = MediaBackendKind.File, FilePath = Path.Combine(_dir, name), FormatMedia = format,
    };

    private static (byte[] Data, byte[] Metadata) Generated(ProtectionFormat pi, long lba, int seed)
    {
        var data = new byte[Block];
        new Random(seed).NextBytes(data);
        var metadata = new byte[pi.MetadataSize];
        new ProtectionContext(pi, PiChecks.None, (ulong)lba, applicationTag: 0x1234).Generate(data, metadata, 1);
        return (data, metadata);
    }

    [Test]
    public void NewNamespaceReadsDeallocatedEverywhere()
    {
        using var ns = new EmulatedNamespace(1, Options("new.img"));
        var data = new byte[Block];
        var metadata = new byte[16];
        ns.Read(Blocks - 1, 1, data, metadata);
        Assert.That(data, Is.All.Zero);
        Assert.That(metadata, Is.All.EqualTo(0xFF), "64b-guard tuple of a deallocated block: all FFh (16 bytes, PI last with ms=16)");
    }

    [Test]
    public void WrittenBlocksWithPiSurviveReopenAndVerify()
    {
        var options = Options("persist.img");
        byte[] data, metadata;
        using (var ns = new EmulatedNamespace(1, options))
        {
            (data, metadata) = Generated(ns.Protection!, 7, seed: 1);
            ns.Write(7, 1, data, metadata);
            ns.Flush();
        }
        using (var ns = new EmulatedNamespace(1, options))
        {
            var d = new byte[Block];
            var m = new byte[16];
            ns.Read(7, 1, d, m);
            Assert.That(d, Is.EqualTo(data));
            Assert.That(m, Is.EqualTo(metadata));
            var check = new ProtectionContext(ns.Protection!, PiChecks.Guard | PiChecks.ReferenceTag | PiChecks.ApplicationTag, 7, 0x1234);
            Assert.That(check.Verify(d, m, 1, out PiError error), Is.True, error.ToString());
        }
    }

    [Test]
    public void DeallocatePunchesTheDataAndLeavesAllFfPiAcrossReopen()
    {
        var options = Options("dealloc.img");
        string path = options.FilePath!;
        using (var ns = new EmulatedNamespace(1, options))
        {
            for (long lba = 0; lba < 8; lba++)
            {
                var (data, metadata) = Generated(ns.Protection!, lba, seed: (int)lba + 10);
                ns.Write(lba, 1, data, metadata);
            }
            ns.Deallocate(2, 4);
            ns.Flush();
        }
        // Independent view of the file: data zero (a hole), metadata FFh for LBAs 2..5 only.
        byte[] file = File.ReadAllBytes(path);
        long metadataBase = (long)Blocks * Block;
        for (int lba = 0; lba < 8; lba++)
        {
            bool deallocated = lba is >= 2 and < 6;
            Assert.That(file.AsSpan(lba * Block, Block).IndexOfAnyExcept((byte)0) < 0, Is.EqualTo(deallocated), $"data of LBA {lba}");
            Assert.That(file.AsSpan((int)metadataBase + lba * 16, 16).IndexOfAnyExcept((byte)0xFF) < 0, Is.EqualTo(deallocated), $"PI of LBA {lba}");
        }
        using (var ns = new EmulatedNamespace(1, options))
        {
            var d = new byte[4 * Block];
            var m = new byte[4 * 16];
            ns.Read(2, 4, d, m);
            Assert.That(d, Is.All.Zero);
            Assert.That(m, Is.All.EqualTo(0xFF));
        }
    }

    [Test]
    public void WriteZeroesZeroesDataAndPi()
    {
        using var ns = new EmulatedNamespace(1, Options("zero.img"));
        var (data, metadata) = Generated(ns.Protection!, 3, seed: 3);
        ns.Write(3, 1, data, metadata);
        ns.Zero(3, 1);
        var d = new byte[Block];
        var m = new byte[16];
        ns.Read(3, 1, d, m);
        Assert.That(d, Is.All.Zero);
        Assert.That(m, Is.All.Zero, "Write Zeroes with PRACT=0: PI all zeros (NVM CS §3.2.8)");
    }

    [Test]
    public void FormatNvmRecordsTheNewFormat()
    {
        var options = Options("fmt.img");
        int index16b;
        using (var ns = new EmulatedNamespace(1, options))
        {
            index16b = Array.IndexOf(ns.Formats, new EmulatedLbaFormat(Block, 8, 0, 0));
            ns.Reformat(index16b, extendedLba: false, piType: 1, piFirst: false);
        }
        // The file now says ms=8, pif=0: opening it with the old settings is refused, the new ones accepted.
        var e = Assert.Throws<MediaFormatMismatchException>(() => new EmulatedNamespace(1, options));
        Assert.That(e!.Message, Does.Contain("is formatted lbads=12,ms=8,pi=1,pil=0,pif=0"));
        using (var ns = new EmulatedNamespace(1, Options("fmt.img", ms: 8, pif: 0)))
            Assert.That(ns.MetadataSize, Is.EqualTo(8));
        using (var ns = new EmulatedNamespace(1, Options("fmt.img", format: true)))
            Assert.That(ns.MetadataSize, Is.EqualTo(16), "format=1 re-lays it for the requested settings");
    }

    [Test]
    public void AddressKeyFormatRequestsAReLayout()
    {
        var options = EmulatedAddressParser.Parse($"emu:{Path.Combine(_dir, "a.img")},ms=16,pi=1,format=1");
        Assert.That(options.Namespaces[0].FormatMedia, Is.True);
        var e = Assert.Throws<ArgumentException>(() => EmulatedAddressParser.Parse($"emu:{Path.Combine(_dir, "a.img")},format=2"));
        Assert.That(e!.Message, Does.Contain("format: '2' is not valid"));
    }

    [Test]
    public void AddressKeyDirectChoosesThePageCacheOrODirect()
    {
        string path = Path.Combine(_dir, "d.img");
        Assert.That(EmulatedAddressParser.Parse($"emu:{path}").Namespaces[0].DirectIo, Is.True, "O_DIRECT by default");
        Assert.That(EmulatedAddressParser.Parse($"emu:{path},direct=0").Namespaces[0].DirectIo, Is.False);
        var e = Assert.Throws<ArgumentException>(() => EmulatedAddressParser.Parse($"emu:{path},direct=yes"));
        Assert.That(e!.Message, Does.Contain("direct: 'yes' is not valid"));
        var format = new MediaFormatRecord(Block, 0, 0, false, 0, 0, false, 16);
        using (var direct = UringFileBackend.Open(path, format, false, out _, preferDirect: true))
            Assert.That(direct.IsDirect, Is.True);
        using (var buffered = UringFileBackend.Open(path, format, false, out _, preferDirect: false))
            Assert.That(buffered.IsDirect, Is.False);
    }

    [Test]
    public void SidecarRecordsTheFormatAndTheImageStaysQemuSized()
    {
        var options = Options("rec.img");
        using (new EmulatedNamespace(1, options)) { }
        var record = new MediaFormatRecord(Block, 16, 1, false, 2, 0, false, Blocks);
        Assert.That(new FileInfo(options.FilePath!).Length, Is.EqualTo(Blocks * (Block + 16L)));
        byte[] bytes = File.ReadAllBytes(options.FilePath! + MediaFormatRecord.SidecarSuffix);
        Assert.That(MediaFormatRecord.TryRead(bytes, "rec.img.pnvmefmt", out var parsed, out ulong inode), Is.True);
        Assert.That(parsed, Is.EqualTo(record));
        Assert.That(inode, Is.EqualTo(InodeOf(options.FilePath!)), "the record names the image it describes");
        Assert.That(BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(24)), Is.EqualTo(Blocks));
    }

    private static unsafe ulong InodeOf(string path)
    {
        byte[] name = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        Tmds.Linux.stat st;
        fixed (byte* p = name)
            Assert.That(Tmds.Linux.LibC.stat(p, &st), Is.Zero);
        return (ulong)st.st_ino;
    }

    [Test]
    public void InterruptedFormatLeavesNoRecordSoTheImageIsRefused()
    {
        var options = Options("int.img");
        using (new EmulatedNamespace(1, options)) { }
        // A format that crashed after removing the old record and before writing the new one.
        File.Delete(options.FilePath! + MediaFormatRecord.SidecarSuffix);
        var e = Assert.Throws<MediaFormatMismatchException>(() => new EmulatedNamespace(1, options));
        Assert.That(e!.Message, Does.Contain("no PolledNvme format record").And.Contain("format=1"));
    }
}
