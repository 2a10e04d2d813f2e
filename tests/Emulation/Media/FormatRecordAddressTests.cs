using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Emulation;
using PolledNvme.Emulation.Media;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Emulation.Media;

/// <summary>How an <c>emu:</c> device string meets the format recorded beside an image.</summary>
public class FormatRecordAddressTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("pnvme-far-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void PathAloneReopensTheRecordedFormat()
    {
        string image = Path.Combine(_dir, "ns.img");
        using (var created = NvmeController.Open($"emu:{image},lbads=4096,ms=16,pi=1,pif=2,size=8M"))
            Assert.That(created.Namespaces[0].GuardFormat, Is.EqualTo(PiGuardFormat.Guard64));

        var options = EmulatedControllerOptions.Parse($"emu:{image}");
        EmulatedNamespaceOptions ns = options.Namespaces[0];
        Assert.That((ns.BlockSize, ns.MetadataSize, ns.PiType, ns.GuardFormat, ns.CapacityBytes), Is.EqualTo((4096, 16, 1, 2, 8L << 20)));
        using var reopened = NvmeController.Open($"emu:{image}");
        Namespace n = reopened.Namespaces[0];
        Assert.That((n.BlockSize, n.MetadataSize, n.PiType, n.GuardFormat, n.BlockCount), Is.EqualTo((4096, 16, PiType.Type1, PiGuardFormat.Guard64, 2048UL)));
    }

    [Test]
    public void NamedFormatThatDiffersIsStillRefused()
    {
        string image = Path.Combine(_dir, "ns.img");
        using (NvmeController.Open($"emu:{image},lbads=4096,ms=16,pi=1,pif=2,size=8M")) { }
        var e = Assert.Throws<MediaFormatMismatchException>(() => NvmeController.Open($"emu:{image},lbads=4096,ms=8,pi=1,size=8M"));
        Assert.That(e!.Message, Does.Contain("is formatted lbads=12,ms=16,pi=1"));
    }

    [Test]
    public void NewImageWithoutKeysTakesTheDefaults()
    {
        string image = Path.Combine(_dir, "fresh.img");
        var ns = EmulatedControllerOptions.Parse($"emu:{image}").Namespaces[0];
        Assert.That((ns.BlockSize, ns.MetadataSize, ns.PiType, ns.CapacityBytes), Is.EqualTo((new EmulatedNamespaceOptions().BlockSize, 0, 0, 1L << 30)));
    }
}
