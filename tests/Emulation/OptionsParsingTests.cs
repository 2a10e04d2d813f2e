using NUnit.Framework;
using PolledNvme.Emulation;

namespace PolledNvme.Tests.Emulation;

/// <summary>Device strings and option validation: every bad value names its key and the accepted values.</summary>
public class OptionsParsingTests
{
    [Test]
    public void MemoryDeviceWithNamespaceKeys()
    {
        var o = EmulatedControllerOptions.Parse("mem:lbads=9,ms=16,mset=1,pi=3,pil=1,size=2M,mode=inline,mqes=64,dstrd=2,mdts=4,qpairs=3");
        var ns = o.Namespaces.Single();
        Assert.Multiple(() =>
        {
            Assert.That(ns.Backend, Is.EqualTo(MediaBackendKind.Ram));
            Assert.That(ns.BlockSize, Is.EqualTo(512));
            Assert.That(ns.MetadataSize, Is.EqualTo(16));
            Assert.That(ns.ExtendedLba, Is.True);
            Assert.That(ns.PiType, Is.EqualTo(3));
            Assert.That(ns.PiFirst, Is.True);
            Assert.That(ns.CapacityBytes, Is.EqualTo(2L << 20));
            Assert.That(o.Mode, Is.EqualTo(EmulatedControllerMode.Inline));
            Assert.That(o.MaxQueueEntries, Is.EqualTo(64));
            Assert.That(o.DoorbellStride, Is.EqualTo(2));
            Assert.That(o.Mdts, Is.EqualTo(4));
            Assert.That(o.MaxIoQueuePairs, Is.EqualTo(3));
            Assert.That(o.Address, Is.EqualTo("mem:lbads=9,ms=16,mset=1,pi=3,pil=1,size=2M,mode=inline,mqes=64,dstrd=2,mdts=4,qpairs=3"));
        });
    }

    [Test]
    public void FileAndNullDevices()
    {
        var file = EmulatedControllerOptions.Parse("emu:/tmp/ns.img,lbads=4096,ms=16,pi=1,pif=2,sts=8");
        Assert.That(file.Namespaces[0].Backend, Is.EqualTo(MediaBackendKind.File));
        Assert.That(file.Namespaces[0].FilePath, Is.EqualTo("/tmp/ns.img"));
        Assert.That(file.Namespaces[0].GuardFormat, Is.EqualTo(2));
        Assert.That(file.Namespaces[0].StorageTagSize, Is.EqualTo(8));
        Assert.That(file.Namespaces[0].CapacityBytes, Is.EqualTo(1L << 30));
        Assert.That(EmulatedControllerOptions.Parse("null:").Namespaces[0].Backend, Is.EqualTo(MediaBackendKind.Null));
        Assert.That(EmulatedControllerOptions.Parse("mem:").Namespaces[0].BlockSize, Is.EqualTo(4096));
    }

    [TestCase("ns.img", "scheme")]
    [TestCase("pci:0000:01:00.0", "accepted: emu:PATH")]
    [TestCase("emu:", "file path")]
    [TestCase("emu:lbads=512", "file path")]
    [TestCase("mem:bogus=1", "unknown key 'bogus'")]
    [TestCase("mem:lbads", "key=value")]
    [TestCase("mem:lbads=1024", "lbads: '1024' is not valid; accepted: 9, 12, 512 or 4096")]
    [TestCase("mem:ms=7", "ms: '7' is not valid; accepted: 0, 8, 16 or 64")]
    [TestCase("mem:mset=2", "mset")]
    [TestCase("mem:pi=4", "pi: '4'")]
    [TestCase("mem:pil=x", "pil")]
    [TestCase("mem:pif=3", "pif: '3'")]
    [TestCase("mem:sts=65", "sts")]
    [TestCase("mem:size=12X", "size")]
    [TestCase("mem:size=0", "size")]
    [TestCase("mem:size=1000", "size: capacity 1000 must be a positive multiple of the block size 4096")]
    [TestCase("mem:mode=fast", "mode")]
    [TestCase("mem:mqes=1", "mqes")]
    [TestCase("mem:dstrd=16", "dstrd")]
    [TestCase("mem:mdts=0", "mdts")]
    [TestCase("mem:qpairs=0", "qpairs")]
    [TestCase("mem:noiob=65536", "noiob")]
    [TestCase("mem:noiob=-1", "noiob")]
    [TestCase("mem:dbbuf=2", "dbbuf: '2' is not valid; accepted: 0 (no Doorbell Buffer Config) or 1")]
    [TestCase("mem:lbads=512,pif=1,ms=16,sts=16", "need 4096-byte blocks")]
    [TestCase("mem:pi=1,ms=0", "ms: PI type 1")]
    [TestCase("mem:pi=1,pif=2,ms=8", "at least 16 metadata bytes")]
    [TestCase("mem:pif=1,ms=16,sts=8", "sts: storage tag size 8 is not valid for pif=1; accepted: 16-64")]
    [TestCase("mem:pif=0,sts=33", "accepted: 0-32")]
    public void BadDeviceStringsNameTheProblem(string address, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => EmulatedControllerOptions.Parse(address));
        Assert.That(e!.Message, Does.Contain(message));
    }

    [TestCase("mem:", 0)]
    [TestCase("mem:noiob=0", 0)]
    [TestCase("mem:lbads=512,noiob=24", 24)]
    public void NoiobReachesIdentifyNamespace(string address, int noiob)
    {
        EmulatedControllerOptions o = EmulatedControllerOptions.Parse(address);
        Assert.That(o.Namespaces[0].OptimalIoBoundary, Is.EqualTo(noiob));
        using var setup = PolledNvme.Tests.Driver.EmulatedSetup.Open(address);
        Assert.That(setup.Ns.OptimalIoBoundary, Is.EqualTo(noiob), "Identify Namespace NOIOB as the driver reads it");
    }

    [TestCase("mem:", false)]
    [TestCase("mem:dbbuf=0", false)]
    [TestCase("mem:dbbuf=1", true)]
    public void DbbufSwitchesShadowDoorbells(string address, bool offered)
        => Assert.That(EmulatedControllerOptions.Parse(address).ShadowDoorbells, Is.EqualTo(offered));

    [Test]
    public void CreateValidatesOptionsToo()
    {
        var e = Assert.Throws<ArgumentException>(() => EmulatedController.Create(new EmulatedControllerOptions()));
        Assert.That(e!.Message, Does.Contain("at least one namespace"));
        var options = new EmulatedControllerOptions { Namespaces = [new() { BlockSize = 1024 }] };
        Assert.That(Assert.Throws<ArgumentException>(() => EmulatedController.Create(options))!.Message, Does.Contain("lbads"));
        options = new EmulatedControllerOptions { Namespaces = [new() { GuardFormat = 2, MetadataSize = 16 }], ExtendedLbaFormats = false };
        Assert.That(Assert.Throws<ArgumentException>(() => EmulatedController.Create(options))!.Message, Does.Contain("ELBAS"));
    }

    [Test]
    public void OptionsAreCopiedAtCreate()
    {
        var options = new EmulatedControllerOptions { Mode = EmulatedControllerMode.Inline, Namespaces = [new() { CapacityBytes = 1 << 20 }] };
        using var controller = EmulatedController.Create(options);
        options.Namespaces[0].BlockSize = 1234;   // no effect on the running controller
        Assert.That(controller.Transport.Address, Is.EqualTo("mem:"));
    }
}
