using NUnit.Framework;
using PolledNvme.Driver.Vfio;

namespace PolledNvme.Tests.Driver.Vfio;

public class PciAddressTests
{
    [TestCase("pci:0000:01:00.0", 0, 1, 0, 0)]
    [TestCase("0000:01:00.0", 0, 1, 0, 0)]
    [TestCase("01:00.0", 0, 1, 0, 0)]
    [TestCase("pci:10de:af:1f.7", 0x10de, 0xaf, 0x1f, 7)]
    [TestCase("PCI:0001:5E:00.1", 1, 0x5e, 0, 1)]
    public void ParsesSysfsAndPrefixedForms(string text, int domain, int bus, int device, int function)
    {
        PciAddress address = PciAddress.Parse(text);
        Assert.That((address.Domain, address.Bus, address.Device, address.Function), Is.EqualTo((domain, bus, device, function)));
    }

    [Test]
    public void PrintsTheSysfsName()
    {
        Assert.That(PciAddress.Parse("pci:10DE:AF:1F.7").ToString(), Is.EqualTo("10de:af:1f.7"));
        Assert.That(new PciAddress(0, 1, 0, 0).ToString(), Is.EqualTo("0000:01:00.0"));
    }

    [TestCase("", "empty")]
    [TestCase("pci:", "empty")]
    [TestCase("0000:01:00", "function")]
    [TestCase("0000:01:00.8", "function must be 0-7")]
    [TestCase("0000:01:20.0", "device must be hex 00-1f")]
    [TestCase("00000:01:00.0", "domain")]
    [TestCase("0000:001:00.0", "bus")]
    [TestCase("0000:0g:00.0", "bus")]
    [TestCase("1:2:3:4.0", "too many ':'")]
    [TestCase("0000.01.00.0", "bus number")]
    [TestCase("emu:/tmp/x.img", "bus")]
    [TestCase("0000:01:00.0 ", "function")]
    public void RejectsBadFormsNamingThePart(string text, string part)
    {
        var e = Assert.Throws<FormatException>(() => PciAddress.Parse(text))!;
        Assert.That(e.Message, Does.Contain(part).And.Contain("pci:0000:01:00.0"));
        Assert.That(PciAddress.TryParse(text, out _), Is.False);
    }

    [Test]
    public void ConstructorChecksRanges()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new PciAddress(0x10000, 0, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new PciAddress(0, 0x100, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new PciAddress(0, 0, 0x20, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new PciAddress(0, 0, 0, 8));
    }
}
