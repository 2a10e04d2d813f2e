using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Transport;
using PolledNvme.Emulation;

namespace PolledNvme.Tests.Driver.Transport;

/// <summary>Device-string schemes: one registry for NvmeController.Open and pnvme, its messages and rules.</summary>
public class TransportRegistryTests
{
    [Test]
    public void AnUnknownSchemeListsTheRegisteredOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => NvmeController.Open("nosuch:/dev/x"))!;
        Assert.That(e.ParamName, Is.EqualTo("address"));
        Assert.That(e.Message, Does.Contain("Unknown device scheme 'nosuch:' in 'nosuch:/dev/x'").And.Contain("pci:").And.Contain("mem:"));
        var path = Assert.Throws<ArgumentException>(() => NvmeController.Open("/tmp/image"))!;
        Assert.That(path.Message, Does.Contain("'/tmp/image' is not a device string: expected SCHEME:"));
    }

    [Test]
    public void WithoutTheEmulationPackageTheMessageNamesIt()
    {
        string message = TransportRegistry.UnknownSchemeMessage("mem:size=1M", "mem", registered: ["pci"]);
        Assert.That(message, Does.Contain("registered: pci:").And.Contain("emu:, mem:, null: are the emulated controller's and need the PolledNvme.Emulation package"));
        Assert.That(TransportRegistry.UnknownSchemeMessage("tcp:x", "tcp", registered: ["pci"]), Does.Not.Contain("Emulation"), "only the emulated schemes point to that package");
    }

    [Test]
    public void TheEmulationRegistersItsSchemes()
    {
        Assert.That(TransportRegistry.Schemes, Is.SupersetOf(new[] { "emu", "mem", "null", "pci" }));
        Assert.That(TransportRegistry.IsRegistered("mem:"), Is.True);
        Assert.That(TransportRegistry.IsRegistered("Not A Scheme"), Is.False);
        Assert.That(TransportRegistry.EmulationSchemes, Is.EqualTo(EmulatedTransports.Schemes), "the driver's message names what the package registers");
        using NvmeController controller = NvmeController.Open("mem:lbads=512,size=1M");
        Assert.That(EmulatedController.FromTransport(controller.Transport), Is.Not.Null, "mem: opened the emulated controller through the registry");
    }

    [Test]
    public void ASchemeHasOneTransport()
    {
        var e = Assert.Throws<InvalidOperationException>(() => TransportRegistry.Register("mem", EmulatedTransports.Open))!;
        Assert.That(e.Message, Does.Contain("'mem:' is already registered"));
        Assert.Throws<InvalidOperationException>(() => TransportRegistry.Register("pci:", EmulatedTransports.Open), "with or without the colon");
    }

    [TestCase("")]
    [TestCase("TCP")]
    [TestCase("1tcp")]
    [TestCase("tc p")]
    public void MalformedSchemesAreRefused(string scheme)
    {
        var e = Assert.Throws<ArgumentException>(() => TransportRegistry.Register(scheme, _ => new PropertyOnlyTransport()))!;
        Assert.That(e.ParamName, Is.EqualTo("scheme"));
    }

    [Test]
    public void ARegisteredSchemeOpensThroughNvmeControllerOpen()
    {
        string seen = "";
        TransportRegistry.Register("seam-test", address =>
        {
            seen = address;
            return new PropertyOnlyTransport();
        });
        using NvmeController controller = NvmeController.Open("seam-test:anything,k=v");
        Assert.That(seen, Is.EqualTo("seam-test:anything,k=v"), "the opener gets the whole device string");
        Assert.That(controller.Address, Is.EqualTo("fake:property-only"));
        Assert.That(TransportRegistry.Schemes, Does.Contain("seam-test"));
    }
}
