using NUnit.Framework;
using PolledNvme.Driver.Tcp;

namespace PolledNvme.Tests.Driver.Tcp;

/// <summary>The tcp: device string: every part, every key, and each malformed form refused with the part named.</summary>
public class NvmeTcpOptionsTests
{
    private const string Nqn = "nqn.2024-01.io.example:ns1";

    [Test]
    public void ParsesEveryPart()
    {
        NvmeTcpOptions o = NvmeTcpOptions.Parse($"tcp:10.0.0.5:4421/{Nqn},hostnqn=nqn.2024-01.io.example:host,hostid=4c4c4544-0039-3510-804c-c6c04f4e3632,hdgst=1,ddgst=1,kato=30,queues=4,qsize=64,sqflow=0");
        Assert.That(o.Host, Is.EqualTo("10.0.0.5"));
        Assert.That(o.Port, Is.EqualTo(4421));
        Assert.That(o.SubsystemNqn, Is.EqualTo(Nqn));
        Assert.That(o.HostNqn, Is.EqualTo("nqn.2024-01.io.example:host"));
        Assert.That(o.HostId, Is.EqualTo(Guid.Parse("4c4c4544-0039-3510-804c-c6c04f4e3632")));
        Assert.That((o.HeaderDigest, o.DataDigest, o.SqFlowControl), Is.EqualTo((true, true, false)));
        Assert.That(o.KeepAliveTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
        Assert.That((o.IoQueues, o.MaxQueueEntries), Is.EqualTo(((int?)4, (int?)64)));
        Assert.That(NvmeTcpOptions.Parse(o.ToString()), Is.EqualTo(o), "ToString is a device string that parses back");
    }

    [Test]
    public void DefaultsAndDiscovery()
    {
        NvmeTcpOptions o = NvmeTcpOptions.Parse($"tcp:127.0.0.1/{Nqn}");
        Assert.That((o.Port, o.HeaderDigest, o.DataDigest, o.SqFlowControl, o.KeepAliveTimeout), Is.EqualTo((4420, false, false, true, TimeSpan.FromSeconds(10))));
        NvmeTcpOptions d = NvmeTcpOptions.Parse("tcp:127.0.0.1");
        Assert.That((d.Port, d.SubsystemNqn, d.IsDiscovery), Is.EqualTo((8009, NvmeTcpOptions.DiscoveryNqn, true)));
        Assert.That(NvmeTcpOptions.Parse("tcp:127.0.0.1:4420").Port, Is.EqualTo(4420));
        NvmeTcpOptions v6 = NvmeTcpOptions.Parse($"tcp:[::1]:4420/{Nqn}");
        Assert.That((v6.Host, v6.Port), Is.EqualTo(("::1", 4420)));
        Assert.That(NvmeTcpOptions.Parse(v6.ToString()), Is.EqualTo(v6));
        Assert.That(NvmeTcpOptions.Parse($"tcp:localhost:4420/{Nqn}").Host, Is.EqualTo("localhost"));
    }

    [TestCase("tcp:127.0.0.1:4420/" + Nqn + ",ddgst=1,ddgst=0", "'ddgst' is given twice")]
    [TestCase("tcp:127.0.0.1:4420/" + Nqn + ",digest=1", "unknown key 'digest'")]
    [TestCase("tcp:127.0.0.1:4420/" + Nqn + ",hdgst=yes", "hdgst: 'yes'")]
    [TestCase("tcp:127.0.0.1:4420/" + Nqn + ",kato=-1", "kato: '-1'")]
    [TestCase("tcp:127.0.0.1:4420/" + Nqn + ",kato=70000", "kato: '70000'")]
    [TestCase("tcp:127.0.0.1:4420/" + Nqn + ",queues=0", "queues: '0'")]
    [TestCase("tcp:127.0.0.1:4420/" + Nqn + ",qsize=1", "qsize: '1'")]
    [TestCase("tcp:127.0.0.1:4420/" + Nqn + ",hostid=12", "hostid: '12'")]
    [TestCase("tcp:127.0.0.1:4420/" + Nqn + ",hostnqn=host1", "hostnqn 'host1' is not an NQN")]
    [TestCase("tcp:127.0.0.1:4420/" + Nqn + ",ddgst", "'ddgst' in")]
    [TestCase("tcp:127.0.0.1:4420/not-an-nqn", "the subsystem NQN 'not-an-nqn'")]
    [TestCase("tcp:127.0.0.1:4420/", "NQN after '/' is empty")]
    [TestCase("tcp:127.0.0.1:0/" + Nqn, "port '0'")]
    [TestCase("tcp:127.0.0.1:65536/" + Nqn, "port '65536'")]
    [TestCase("tcp:127.0.0.1:x/" + Nqn, "port 'x'")]
    [TestCase("tcp::4420/" + Nqn, "names no address")]
    [TestCase("tcp:::1:4420/" + Nqn, "IPv6 address in brackets")]
    [TestCase("tcp:[::1/" + Nqn, "no closing ']'")]
    [TestCase("tcp:[10.0.0.1]:4420/" + Nqn, "not an IPv6 address")]
    [TestCase("pci:0000:01:00.0", "not an NVMe/TCP device string")]
    public void MalformedStringsAreRefusedNamingThePart(string address, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => NvmeTcpOptions.Parse(address))!;
        Assert.That(e.Message, Does.Contain(expected));
    }

    [Test]
    public void ALongNqnIsRefused()
    {
        string nqn = "nqn.2024-01.io.example:" + new string('x', 201);
        Assert.That(nqn.Length, Is.EqualTo(224));
        Assert.That(Assert.Throws<ArgumentException>(() => NvmeTcpOptions.Parse($"tcp:127.0.0.1:4420/{nqn}"))!.Message, Does.Contain("at most 223"));
        Assert.DoesNotThrow(() => NvmeTcpOptions.Parse($"tcp:127.0.0.1:4420/{nqn[..223]}"));
    }

    [Test]
    public void ADiscoveryStringIsNotAController()
    {
        var e = Assert.Throws<ArgumentException>(() => PolledNvme.Driver.NvmeController.Open("tcp:127.0.0.1:4420"))!;
        Assert.That(e.Message, Does.Contain("discovery controller").And.Contain("pnvme discover"));
    }
}
