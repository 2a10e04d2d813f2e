using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Emulated;
using PolledNvme.Driver.Emulated.Media;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues.Uring;
using PolledNvme.Tests.Bench;

namespace PolledNvme.Tests.Driver.Emulated.Media;

using DmaBuffer = PolledNvme.Queues.DmaBuffer;

/// <summary>
/// Format NVM on a file is atomic (MediaFormatCommit): interrupted at any step, by a failure or
/// by a crash, the image reopens with its old format and data, or with the new format complete;
/// never a mix. A failed format says why and leaves the controller working; a damaged record is
/// a clear error.
/// </summary>
public class FormatCommitTests
{
    private const int Block = 4096;
    private const int Blocks = 64;
    private string _dir = null!;
    private string _image = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("pnvme-fmt-").FullName;
        _image = Path.Combine(_dir, "ns.img");
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private EmulatedNamespaceOptions Options() => new()
    {
        BlockSize = Block, MetadataSize = 16, PiType = 1, GuardFormat = 2, CapacityBytes = Blocks * (long)Block,
        Backend = MediaBackendKind.File, FilePath = _image,
    };

    private static byte[] Data(long lba)
    {
        var data = new byte[Block];
        new Random((int)lba + 100).NextBytes(data);
        return data;
    }

    /// <summary>Writes every block with its own data and generated PI (64b guard, application tag 1234h).</summary>
    private static void Fill(EmulatedNamespace ns)
    {
        var metadata = new byte[ns.MetadataSize];
        for (long lba = 0; lba < Blocks; lba++)
        {
            byte[] data = Data(lba);
            metadata.AsSpan().Clear();
            new ProtectionContext(ns.Protection!, PiChecks.None, (ulong)lba, applicationTag: 0x1234).Generate(data, metadata, 1);
            ns.Write(lba, 1, data, metadata);
        }
        ns.Flush();
    }

    /// <summary>The old format (4096+16, 64b guard) with every block's data and valid PI.</summary>
    private static void AssertOldFormatAndData(EmulatedNamespace ns)
    {
        Assert.That((ns.BlockSize, ns.MetadataSize, ns.Format.GuardFormat), Is.EqualTo((Block, 16, 2)), "old format");
        var data = new byte[Block];
        var metadata = new byte[16];
        for (long lba = 0; lba < Blocks; lba++)
        {
            ns.Read(lba, 1, data, metadata);
            Assert.That(data, Is.EqualTo(Data(lba)), $"data of LBA {lba}");
            var check = new ProtectionContext(ns.Protection!, PiChecks.Guard | PiChecks.ApplicationTag | PiChecks.ReferenceTag, (ulong)lba, 0x1234);
            Assert.That(check.Verify(data, metadata, 1, out PiError error), Is.True, $"PI of LBA {lba}: {error}");
        }
    }

    /// <summary>The new format (4096+8, 16b guard) complete: every block deallocated (zeros, PI all FFh, which checks pass).</summary>
    private static void AssertNewFormatComplete(EmulatedNamespace ns)
    {
        Assert.That((ns.BlockSize, ns.MetadataSize, ns.Format.GuardFormat), Is.EqualTo((Block, 8, 0)), "new format");
        var data = new byte[Block];
        var metadata = new byte[8];
        for (long lba = 0; lba < Blocks; lba++)
        {
            ns.Read(lba, 1, data, metadata);
            Assert.That(data, Is.All.Zero, $"data of LBA {lba}");
            Assert.That(metadata, Is.All.EqualTo(0xFF), $"PI of LBA {lba} (deallocated)");
            var check = new ProtectionContext(ns.Protection!, PiChecks.Guard | PiChecks.ReferenceTag, (ulong)lba);
            Assert.That(check.Verify(data, metadata, 1, out PiError error), Is.True, $"PI of LBA {lba}: {error}");
        }
    }

    private static int NewFormatIndex(EmulatedNamespace ns) => Array.IndexOf(ns.Formats, new EmulatedLbaFormat(Block, 8, 0, 0));

    /// <summary>Reopens the image the way a user does, by its path alone (the resolved record gives the format).</summary>
    private EmulatedNamespace Reopen(string extra = "")
        => new(1, EmulatedControllerOptions.Parse($"emu:{_image}{extra}").Namespaces[0]);

    private string[] FilesBesideTheImage() => [.. Directory.GetFiles(_dir).Select(Path.GetFileName).Order()!];

    private static IEnumerable<TestCaseData> Interruptions()
    {
        foreach (FormatStep step in Enum.GetValues<FormatStep>())
        {
            if (step == FormatStep.RollBack)
                continue;
            yield return new TestCaseData((int)step, false).SetName($"FormatFailingAt{step}");
            yield return new TestCaseData((int)step, true).SetName($"FormatCrashingAt{step}");
        }
    }

    /// <summary>
    /// A failure at <paramref name="step"/> (the roll-back runs), or a crash there (the roll-back
    /// fails too, so the files stay as a killed process leaves them): before the image rename the
    /// old format and data survive, in the running namespace and after a reopen; from the rename
    /// on, the new format is complete. The next writable open leaves no temporary file behind.
    /// </summary>
    [TestCaseSource(nameof(Interruptions))]
    public void InterruptedFormatLeavesTheOldOrTheNewFormatNeverAMix(int stepNumber, bool crash)
    {
        var step = (FormatStep)stepNumber; // FormatStep is internal; NUnit needs public parameter types
        bool committed = step > FormatStep.CommitImage; // the CommitImage step fails before its rename
        using (var ns = new EmulatedNamespace(1, Options()))
        {
            Fill(ns);
            var backend = (UringFileBackend)ns.Media;
            backend.FormatStepHook = s =>
            {
                if (s == step || (crash && s == FormatStep.RollBack))
                    throw new MediaIoException(MediaOperation.Layout, Errno.EIO, _image, 0, 0, $"(injected at {s})");
            };
            if (committed)
                ns.Reformat(NewFormatIndex(ns), extendedLba: false, piType: 1, piFirst: false);
            else
            {
                var e = Assert.Throws<MediaIoException>(() => ns.Reformat(NewFormatIndex(ns), extendedLba: false, piType: 1, piFirst: false))!;
                Assert.That(e.Message, Does.Contain($"injected at {step}"));
                AssertOldFormatAndData(ns); // the running namespace kept its format and data
            }
        }
        if (!crash && !committed)
            Assert.That(FilesBesideTheImage(), Is.EqualTo(new[] { "ns.img", "ns.img.pnvmefmt" }), "a failed format cleans up after itself");
        if (crash && step >= FormatStep.LayOutImage)
            Assert.That(FilesBesideTheImage(), Does.Contain(committed ? "ns.img.pnvmefmt.new" : "ns.img.pnvmefmt.new-image"),
                "the crash left the files an interrupted format leaves (the reopen below has work to do)");

        using (var reopened = Reopen())
        {
            if (committed)
                AssertNewFormatComplete(reopened);
            else
                AssertOldFormatAndData(reopened);
        }
        Assert.That(FilesBesideTheImage(), Is.EqualTo(new[] { "ns.img", "ns.img.pnvmefmt" }), "the open finished or undid what was left");
    }

    [Test]
    public void AReadOnlyOpenSeesACommittedFormatWithoutTouchingTheFiles()
    {
        using (var ns = new EmulatedNamespace(1, Options()))
        {
            Fill(ns);
            ((UringFileBackend)ns.Media).FormatStepHook = s =>
            {
                if (s == FormatStep.CommitRecord)
                    throw new IOException("crash before the record rename");
            };
            ns.Reformat(NewFormatIndex(ns), extendedLba: false, piType: 1, piFirst: false);
        }
        string[] leftover = FilesBesideTheImage();
        Assert.That(leftover, Does.Contain("ns.img.pnvmefmt.new"), "the pending record is still there");
        using (var reader = Reopen(",ro=1"))
            AssertNewFormatComplete(reader);
        Assert.That(FilesBesideTheImage(), Is.EqualTo(leftover), "a read-only user changes nothing");
        using (Reopen()) { }
        Assert.That(FilesBesideTheImage(), Is.EqualTo(new[] { "ns.img", "ns.img.pnvmefmt" }));
    }

    [Test]
    public void DiskFullWhileFormattingKeepsTheOldFormatSaysWhyAndTheControllerWorks()
    {
        using (var ns = new EmulatedNamespace(1, Options()))
            Fill(ns);
        using (var setup = EmulatedSetup.Open($"emu:{_image}"))   // threaded device
        {
            var backend = (UringFileBackend)setup.Device.Core.Namespaces[0].Media;
            backend.InjectedFault = (operation, _) => operation == MediaOperation.Write ? Errno.ENOSPC : 0;
            int newIndex = setup.Ns.LbaFormats.Select((f, i) => (f, i)).First(x => x.f.BlockSize == Block && x.f.MetadataSize == 8).i;
            var e = Assert.Throws<NvmeException>(() => setup.Controller.FormatNvm(1, newIndex, piType: 1))!;
            Assert.That(e.Status.TypeAndCode, Is.EqualTo(NvmeStatus.InternalError.TypeAndCode), e.Message);
            Assert.That(e.Message, Does.Contain("ENOSPC (No space left on device) writing").And.Contain(_image + ".pnvmefmt.new-image"));
            Assert.That(e.Detail, Does.StartWith("ENOSPC"));
            Assert.That(setup.Controller.IsOperational, Is.True, "no CSTS.CFS: the device thread lives on");
            backend.InjectedFault = null;

            using var qp = setup.Controller.CreateIoQueuePair(8);
            using DmaBuffer data = setup.Controller.Memory.Allocate(Block);
            using DmaBuffer metadata = setup.Controller.Memory.Allocate(16);
            qp.Wait(qp.ReadAsync(setup.Ns, 9, 1, data, metadata, IoProtectionOptions.ControllerChecks(PiChecks.Guard | PiChecks.ReferenceTag)));
            Assert.That(data.Span.ToArray(), Is.EqualTo(Data(9)), "the old data reads back with its PI checked");
        }
        Assert.That(FilesBesideTheImage(), Is.EqualTo(new[] { "ns.img", "ns.img.pnvmefmt" }));
        using (var reopened = Reopen())
            AssertOldFormatAndData(reopened);
    }

    [Test]
    public void FormatThatCannotWriteItsRecordFailsTheCommandAndTheDeviceThreadLivesOn()
    {
        using (var ns = new EmulatedNamespace(1, Options()))
            Fill(ns);
        using (var setup = EmulatedSetup.Open($"emu:{_image}"))   // threaded device
        {
            // A real failure, no injection: a directory where the pending record's temporary file goes.
            string blocker = _image + ".pnvmefmt.new.tmp";
            Directory.CreateDirectory(blocker);
            var e = Assert.Throws<NvmeException>(() => setup.Controller.FormatNvm(1, 0))!;
            Assert.That(e.Status.TypeAndCode, Is.EqualTo(NvmeStatus.InternalError.TypeAndCode), e.Message);
            Assert.That(e.Message, Does.Contain("EISDIR").And.Contain(blocker));
            Assert.That(setup.Controller.IsOperational, Is.True);
            Assert.That(setup.Controller.GetErrorLog(1)[0].Status.TypeAndCode, Is.EqualTo(NvmeStatus.InternalError.TypeAndCode));

            using var qp = setup.Controller.CreateIoQueuePair(8);
            using DmaBuffer data = setup.Controller.Memory.Allocate(Block);
            qp.Wait(qp.ReadAsync(setup.Ns, 5, 1, data, null, IoProtectionOptions.ControllerInserts(PiChecks.Guard | PiChecks.ReferenceTag)));
            Assert.That(data.Span.ToArray(), Is.EqualTo(Data(5)));
            Directory.Delete(blocker);
            setup.Controller.FormatNvm(1, 0); // and formats once the obstacle is gone
            Assert.That(setup.Controller.GetNamespace(1).BlockSize, Is.EqualTo(512));
        }
    }

    [Test]
    public void DamagedRecordIsAClearErrorForTheLibraryAndForPnvme()
    {
        using (var ns = new EmulatedNamespace(1, Options()))
            Fill(ns);
        string record = _image + ".pnvmefmt";
        byte[] bytes = File.ReadAllBytes(record);
        bytes[24] ^= 0x01; // the block count, without fixing the CRC
        File.WriteAllBytes(record, bytes);

        var e = Assert.Throws<MediaFormatRecordDamagedException>(() => EmulatedControllerOptions.Parse($"emu:{_image}"))!;
        Assert.That(e.Message, Does.Contain($"'{record}'").And.Contain("CRC-32C mismatch")
            .And.Contain("format=1 to the device string to re-lay the image (erases its contents)").And.Contain("restore the record"));
        Assert.Throws<MediaFormatRecordDamagedException>(() => new EmulatedNamespace(1, Options()), "a device string naming the format: the open finds it");

        var cli = CliRunner.Run("id-ns", "--device", $"emu:{_image}");
        Assert.That(cli.ExitCode, Is.EqualTo(1), cli.Stderr);
        Assert.That(cli.Stderr, Does.Contain(record).And.Contain("format=1").And.Not.Contain("   at "));
        Assert.That(cli.Stderr.Trim().Split('\n'), Has.Length.EqualTo(1), "one line");

        using (var relaid = new EmulatedNamespace(1, new EmulatedNamespaceOptions { BlockSize = 512, CapacityBytes = 1 << 20,
                   Backend = MediaBackendKind.File, FilePath = _image, FormatMedia = true }))
            Assert.That(relaid.BlockSize, Is.EqualTo(512), "format=1 re-lays an image whose record is damaged");
    }
}
