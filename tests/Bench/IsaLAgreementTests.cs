using NUnit.Framework;
using PolledNvme.Bench.Native;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Bench;

/// <summary>Where ISA-L is installed, its CRCs agree with ours (and the benchmark binding is right).</summary>
public class IsaLAgreementTests
{
    [SetUp]
    public void RequireIsaL()
    {
        if (!IsaL.IsAvailable)
            Assert.Ignore($"ISA-L not usable ({IsaL.MissingReason}); install the Debian package {IsaL.Package}.");
    }

    [Test]
    public void Crc16T10DifAndCrc32IscsiAgreeOnRandomData()
    {
        var random = new Random(9);
        for (int i = 0; i < 300; i++)
        {
            byte[] data = new byte[random.Next(0, i < 250 ? 5000 : 300_000)];
            random.NextBytes(data);
            Assert.That(IsaL.Crc16T10Dif(0, data), Is.EqualTo(Crc16T10Dif.Compute(data)), $"crc16_t10dif, length {data.Length}");
            Assert.That(IsaL.Crc32C(data), Is.EqualTo(Crc32C.Compute(data)), $"crc32_iscsi, length {data.Length}");
        }
    }

    [Test]
    public void IsaLContinuesT10DifFromPreviousValueLikeUs()
    {
        byte[] data = new byte[1000];
        new Random(10).NextBytes(data);
        ushort first = Crc16T10Dif.Compute(data.AsSpan(0, 300));
        Assert.That(IsaL.Crc16T10Dif(first, data.AsSpan(300)), Is.EqualTo(Crc16T10Dif.Update(first, data.AsSpan(300))));
    }

    [Test]
    public void Crc64RocksoftAgreesWhereExported()
    {
        if (!IsaL.Crc64IsNvme)
            Assert.Ignore($"this ISA-L has no crc64_rocksoft_refl (2.31+); {IsaL.Crc64Function} is a speed stand-in only.");
        byte[] data = new byte[4096 + 48];
        new Random(11).NextBytes(data);
        Assert.That(IsaL.Crc64(data), Is.EqualTo(Crc64Nvme.Compute(data)));
    }
}
