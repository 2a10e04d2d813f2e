using NUnit.Framework;
using PolledNvme.Driver;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// Malformed <c>--device</c> strings, of every kind: exit 2 before anything is opened, one line
/// naming <c>--device</c> and the key — for the benchmark and for the NVMe tools alike — and the
/// library's <see cref="NvmeController.Open(string, NvmeControllerOptions?)"/> refuses the same
/// strings with an <see cref="ArgumentException"/> naming the key.
/// </summary>
[TestFixture]
public class DeviceStringTests
{
    // (device string, what the message must name). Before: 29 of these exited 1, foo:bar 2, and
    // the duplicate and contradictory ones were accepted (exit 0).
    public static readonly object[] Malformed =
    [
        new object[] { "foo:bar", "unknown kind 'foo:'" },
        new object[] { "nvme0n1", "has no kind" },
        new object[] { "emu:", "file path" },
        new object[] { "emu:,pi=1", "file path" },
        new object[] { "emu:pi=1", "file path" },
        new object[] { "mem:bogus=1", "unknown key 'bogus'" },
        new object[] { "mem:lbads", "key=value" },
        new object[] { "mem:=4096", "key=value" },
        new object[] { "mem:lbads=1000", "lbads" },
        new object[] { "mem:lbads=", "lbads" },
        new object[] { "mem:ms=7", "ms" },
        new object[] { "mem:mset=2", "mset" },
        new object[] { "mem:pi=4", "pi" },
        new object[] { "mem:pi=x", "pi" },
        new object[] { "mem:pil=2", "pil" },
        new object[] { "mem:pif=3", "pif" },
        new object[] { "mem:sts=65", "sts" },
        new object[] { "mem:size=0", "size" },
        new object[] { "mem:size=-1", "size" },
        new object[] { "mem:size=12X", "size" },
        new object[] { "mem:size=99999999999T", "size" },
        new object[] { "mem:size=1000", "size" },
        new object[] { "null:size=4097", "size" },
        new object[] { "mem:mode=fast", "mode" },
        new object[] { "mem:cpu=99999", "cpu" },
        new object[] { "mem:mqes=1", "mqes" },
        new object[] { "mem:dstrd=16", "dstrd" },
        new object[] { "mem:mdts=0", "mdts" },
        new object[] { "mem:qpairs=0", "qpairs" },
        new object[] { "mem:pi=1", "ms: PI type 1" },
        new object[] { "mem:pi=1,pif=2,ms=8", "at least 16 metadata bytes" },
        new object[] { "mem:lbads=512,pif=1,ms=16,sts=16,pi=1", "4096-byte blocks" },
        new object[] { "mem:pi=1,pi=0", "pi: given twice" },
        new object[] { "mem:size=1M,size=2M", "size: given twice" },
        new object[] { "mem:ms=8,pil=1,pi=0", "pil: pil=1" },
        new object[] { "mem:ms=16,sts=8,pi=0", "sts:" },
        new object[] { "mem:ms=16,pif=2,pi=0", "pif:" },
        new object[] { "mem:mset=1,ms=0", "mset: mset=1" },
        new object[] { "mem:direct=1", "direct: applies to a file" },
        new object[] { "null:format=1", "format: applies to a file" },
        new object[] { "pci:zzz", "is not a PCI address" },
        new object[] { "pci:", "is not a PCI address" },
        new object[] { "pci:0000:01:00.9", "function" },
        new object[] { "pci:0000:01:00.0,foo=1", "unknown key 'foo'; accepted keys after the PCI address: dbbuf" },
        new object[] { "pci:0000:01:00.0,dbbuf=yes", "dbbuf: 'yes' is not valid; accepted: 0" },
        new object[] { "tcp:127.0.0.1:4420/nqn.2024-01.io.example:x,bogus=1", "unknown key 'bogus'" },
        new object[] { "tcp:127.0.0.1:4420/nqn.2024-01.io.example:x,ddgst=2", "ddgst: '2' is not valid" },
        new object[] { "tcp:127.0.0.1:70000/nqn.2024-01.io.example:x", "port '70000' is not a TCP port" },
        new object[] { "tcp:127.0.0.1:4420/", "subsystem NQN after '/' is empty" },
        new object[] { "tcp:127.0.0.1:4420/nqn.2024-01.io.example:x,hostnqn=host1", "hostnqn 'host1' is not an NQN" },
        new object[] { "uring:", "uring: needs a file" },
        new object[] { "uring:size=1M", "path comes first" },
    ];

    [TestCaseSource(nameof(Malformed))]
    public void Bench_refuses_it_with_exit_2_naming_the_key(string device, string names)
    {
        var run = CliRunner.Run("bench", $"--device={device}", "--runtime=10ms", "--progress=0");
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr);
        Assert.That(run.Stderr, Does.StartWith("pnvme bench: --device: ").And.Contain(names));
        Assert.That(run.Stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "one line");
        Assert.That(run.Stdout, Is.Empty, "refused before the run: no report header");
        CliRunner.AssertNoStackTrace(run.Stderr);
    }

    [TestCaseSource(nameof(Malformed))]
    public void The_tools_refuse_it_with_exit_2_naming_the_key(string device, string names)
    {
        if (device.StartsWith("uring:", StringComparison.Ordinal))
            names = "uring: is the kernel's io_uring path";
        foreach (string tool in new[] { "id-ctrl", "id-ns", "write-zeroes" })
        {
            var run = CliRunner.Run(tool, $"--device={device}");
            Assert.That(run.ExitCode, Is.EqualTo(2), $"{tool}: {run.Stderr}");
            Assert.That(run.Stderr, Does.StartWith($"pnvme {tool}: --device: ").And.Contain(names));
            CliRunner.AssertNoStackTrace(run.Stderr);
        }
    }

    [TestCaseSource(nameof(Malformed))]
    public void The_library_refuses_it_with_an_argument_exception(string device, string names)
    {
        // Not a controller: the kernel path is pnvme's, not the driver's; the registry names what it knows.
        if (!device.Contains(':'))
            names = $"'{device}' is not a device string";
        else if (device.StartsWith("uring:", StringComparison.Ordinal) || device.StartsWith("foo:", StringComparison.Ordinal))
            names = $"Unknown device scheme '{device.Split(':')[0]}:'";
        var e = Assert.Throws(Is.InstanceOf<ArgumentException>(), () => NvmeController.Open(device).Dispose());
        Assert.That(e!.Message, Does.Contain(names));
    }

    [Test]
    public void The_tools_refuse_the_kernel_path()
    {
        using var files = new TempFiles();
        string file = files.New();
        File.WriteAllBytes(file, new byte[4096]);
        var run = CliRunner.Run("id-ns", $"--device=uring:{file}");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("--device: uring: is the kernel's io_uring path, for pnvme bench only"));
    }

    [Test]
    public void An_empty_uring_file_is_blamed_on_the_device_not_on_offset()
    {
        // Before: "--offset: 0 is at or beyond the end of the namespace (0 bytes)".
        using var files = new TempFiles();
        string empty = files.New();
        File.WriteAllBytes(empty, []);
        var run = CliRunner.Run("bench", $"--device=uring:{empty}", "--runtime=10ms", "--progress=0");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain($"--device: uring: '{empty}' has 0 bytes").And.Contain("size=SIZE"));
        Assert.That(run.Stderr, Does.Not.Contain("--offset"));
    }

    [Test]
    public void Uring_keys_given_twice_or_unknown_and_directories_are_refused()
    {
        using var files = new TempFiles();
        string file = files.New();
        File.WriteAllBytes(file, new byte[4096]);
        string dir = Path.GetTempPath();
        foreach (var (device, names) in new[]
        {
            ($"uring:{file},direct=1,direct=0", "direct= given twice"),
            ($"uring:{file},size=1M,size=2M", "size= given twice"),
            ($"uring:{file},direct=2", "direct=2"),
            ($"uring:{file},size=abc", "size=abc"),
            ($"uring:{file},bogus", "unknown option 'bogus'"),
            ($"uring:{dir}", "is a directory"),
            ("uring:/dev/null", "neither a regular file nor a block device"),
            ($"uring:{file}.missing", "does not exist; give size=SIZE"),
            ($"uring:{file},size=8191p", "file system has"),
        })
        {
            var run = CliRunner.Run("bench", $"--device={device}", "--runtime=10ms", "--progress=0");
            Assert.That(run.ExitCode, Is.EqualTo(2), $"{device}: {run.Stderr}");
            Assert.That(run.Stderr, Does.Contain("--device: uring:").And.Contain(names), device);
        }
    }

    [Test]
    public void An_emu_path_that_is_a_directory_or_in_a_missing_directory_is_refused()
    {
        string dir = Directory.CreateTempSubdirectory("pnvme-dev-").FullName;
        try
        {
            var run = CliRunner.Run("id-ns", $"--device=emu:{dir}");
            Assert.That(run.ExitCode, Is.EqualTo(2));
            Assert.That(run.Stderr, Does.Contain($"'{dir}' is a directory"));
            run = CliRunner.Run("id-ns", $"--device=emu:{dir}/no/such/ns.img");
            Assert.That(run.ExitCode, Is.EqualTo(2));
            Assert.That(run.Stderr, Does.Contain("does not exist"));
            Assert.That(Directory.GetFileSystemEntries(dir), Is.Empty, "nothing was created");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
