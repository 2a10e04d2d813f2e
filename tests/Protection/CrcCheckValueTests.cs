using System.Text;
using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

public class CrcCheckValueTests
{
    private static readonly byte[] s_check = Encoding.ASCII.GetBytes("123456789");

    [Test]
    public void CheckValuesMatchTheCatalogue()
    {
        Assert.That(Crc16T10Dif.Compute(s_check), Is.EqualTo(0xD0DB));
        Assert.That(Crc32C.Compute(s_check), Is.EqualTo(0xE3069283u));
        Assert.That(Crc64Nvme.Compute(s_check), Is.EqualTo(0xAE8B14860A799888ul));
    }
}
