using NUnit.Framework;
using PolledNvme.Driver.Vfio;

namespace PolledNvme.Tests.Driver.Vfio;

/// <summary>The <c>pci:</c> device string's keys after the address (<c>dbbuf=0|1</c>).</summary>
public class PciDeviceStringTests
{
    [TestCase("pci:0000:01:00.0", null)]
    [TestCase("pci:0000:01:00.0,dbbuf=0", false)]
    [TestCase("01:00.0,dbbuf=1", true)]
    public void ParsesTheAddressAndDbbuf(string text, bool? dbbuf)
    {
        var parsed = PciDeviceString.Parse(text);
        Assert.That(parsed.Address.ToString(), Is.EqualTo("0000:01:00.0"));
        Assert.That(parsed.ShadowDoorbells, Is.EqualTo(dbbuf));
    }

    [TestCase("pci:0000:01:00.0,dbbuf=2", "dbbuf: '2' is not valid")]
    [TestCase("pci:0000:01:00.0,dbbuf", "dbbuf: '' is not valid")]
    [TestCase("pci:0000:01:00.0,shadow=1", "unknown key 'shadow'")]
    [TestCase("pci:0000:01:0x.0,dbbuf=1", "is not a PCI address")]
    public void BadStringsNameWhatIsWrong(string text, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => PciDeviceString.Parse(text))!;
        Assert.That(e.Message, Does.Contain(message));
    }
}
