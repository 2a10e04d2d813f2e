using NUnit.Framework;
using PolledNvme.Bench.Tools;
using PolledNvme.Driver.Tcp;
using PolledNvme.Tests.Driver.Tcp;

namespace PolledNvme.Tests.Bench;

/// <summary><c>pnvme discover</c> and the tools over <c>tcp:</c>, against the scripted NVMe/TCP target.</summary>
public class DiscoverCommandTests
{
    [Test]
    public void Discover_prints_the_log_like_nvme_discover()
    {
        using var target = new ScriptedTcpTarget();
        var run = CliRunner.Run("discover", $"tcp:127.0.0.1:{target.Port},hostnqn={TcpTestSupport.HostNqn}");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        string expected = $"""

            Discovery Log Number of Records 2, Generation counter 7
            =====Discovery Log Entry 0======
            trtype:  tcp
            adrfam:  ipv4
            subtype: current discovery subsystem
            treq:    not specified, sq flow control disable supported
            portid:  1
            trsvcid: {target.Port}
            subnqn:  nqn.2014-08.org.nvmexpress.discovery
            traddr:  127.0.0.1
            eflags:  none
            sectype: none
            =====Discovery Log Entry 1======
            trtype:  tcp
            adrfam:  ipv4
            subtype: nvme subsystem
            treq:    not specified, sq flow control disable supported
            portid:  1
            trsvcid: {target.Port}
            subnqn:  {ScriptedTcpTarget.Nqn}
            traddr:  127.0.0.1
            eflags:  none
            sectype: none

            """;
        Assert.That(run.Stdout.ReplaceLineEndings("\n"), Is.EqualTo(expected.ReplaceLineEndings("\n")));
    }

    [Test]
    public void Discover_json_and_the_nvme_cli_flags()
    {
        using var target = new ScriptedTcpTarget();
        var run = CliRunner.Run("discover", "-t", "tcp", "-a", "127.0.0.1", "-s", target.Port.ToString(), "-q", TcpTestSupport.HostNqn, "-o", "json");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        using var doc = System.Text.Json.JsonDocument.Parse(run.Stdout);
        Assert.That(doc.RootElement.GetProperty("genctr").GetUInt64(), Is.EqualTo(7));
        var records = doc.RootElement.GetProperty("records");
        Assert.That(records.GetArrayLength(), Is.EqualTo(2));
        var nvm = records[1];
        Assert.That(nvm.GetProperty("trtype").GetString(), Is.EqualTo("tcp"));
        Assert.That(nvm.GetProperty("subtype").GetString(), Is.EqualTo("nvme subsystem"));
        Assert.That(nvm.GetProperty("portid").GetInt32(), Is.EqualTo(1));
        Assert.That(nvm.GetProperty("subnqn").GetString(), Is.EqualTo(ScriptedTcpTarget.Nqn));
        Assert.That(nvm.GetProperty("trsvcid").GetString(), Is.EqualTo(target.Port.ToString()));
        Assert.That(nvm.GetProperty("sectype").GetString(), Is.EqualTo("none"));
        Assert.That(string.Join(",", nvm.EnumerateObject().Select(p => p.Name)), Is.EqualTo("trtype,adrfam,subtype,treq,portid,trsvcid,subnqn,traddr,eflags,sectype"));
    }

    [TestCase(new[] { "discover" }, 2, "<device>: is required")]
    [TestCase(new[] { "discover", "mem:" }, 2, "not an NVMe/TCP address")]
    [TestCase(new[] { "discover", "-t", "rdma", "-a", "127.0.0.1" }, 2, "'rdma'")]
    [TestCase(new[] { "discover", "tcp:127.0.0.1:1", "-s", "4420" }, 2, "--trsvcid: goes with -a/--traddr")]
    [TestCase(new[] { "discover", "-t", "tcp", "-a", "::1", "-s", "x" }, 2, "--traddr: -a/-s/-n/-q/-I make 'tcp:[::1]:x': port 'x' is not a TCP port")]
    [TestCase(new[] { "discover", "-t", "tcp", "-a", "127.0.0.1", "-q", "host" }, 2, "hostnqn 'host' is not an NQN")]
    [TestCase(new[] { "discover", "tcp:127.0.0.1:4420,bogus=1" }, 2, "unknown key 'bogus'")]
    public void Discover_refuses_bad_command_lines(string[] args, int code, string message)
    {
        var run = CliRunner.Run(args);
        Assert.That(run.ExitCode, Is.EqualTo(code), run.Stderr);
        Assert.That(run.Stderr, Does.Contain(message));
    }

    [Test]
    public void Discover_of_a_port_without_a_target_exits_1_with_the_reason()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var run = CliRunner.Run("discover", $"tcp:127.0.0.1:{port}");
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stderr, Does.Contain("connection refused").And.Contain("ECONNREFUSED"));
    }

    [Test]
    public void Tools_and_bench_run_over_tcp()
    {
        using var target = new ScriptedTcpTarget(blocks: 8192);
        string device = target.DeviceString($"hostnqn={TcpTestSupport.HostNqn},ddgst=1");
        var id = CliRunner.Run("id-ctrl", device);
        Assert.That(id.ExitCode, Is.EqualTo(0), id.Stderr);
        Assert.That(id.Stdout, Does.Contain("mn        : Scripted NVMe/TCP target").And.Contain("ioccsz    : 1028"));
        var bench = CliRunner.Run("bench", "--device=" + device, "--rw=randrw", "--bs=4k", "--iodepth=8", "--runtime=1", "--size=2M", "--verify", "--output-format=json");
        Assert.That(bench.ExitCode, Is.EqualTo(0), bench.Stderr + bench.Stdout);
        var pi = CliRunner.Run("read", device, "-s", "0", "-c", "0", "-z", "512", "-p", "0xf");
        Assert.That(pi.ExitCode, Is.Not.EqualTo(0));
        Assert.That(pi.Stderr, Does.Contain("has no protection information"));
    }

    [Test]
    public void The_names_follow_libnvme()
    {
        Assert.That(DiscoveryNames.EntryFlags(3), Is.EqualTo("explicit discovery connections, duplicate discovery information"));
        Assert.That(DiscoveryNames.EntryFlags(6), Is.EqualTo("explicit discovery connections, no cdc connectivity"));
        Assert.That(DiscoveryNames.Requirements(5), Is.EqualTo("unrecognized"));
        Assert.That(DiscoveryNames.TransportType(9), Is.EqualTo("unrecognized"));
        var rdma = new DiscoveryLogEntry { TransportType = 1, AddressFamily = 1, TransportSpecificAddress = [1, 4, 1, 0, 0, 0, 0, 0, 0x34, 0x12] };
        Assert.That(DiscoveryNames.TransportFields(rdma).Select(f => f.Key + f.Value), Is.EqualTo(new[] { "rdma_prtype: roce-v2", "rdma_qptype: connected", "rdma_cms:    rdma-cm", "rdma_pkey: 0x1234" }));
    }
}
