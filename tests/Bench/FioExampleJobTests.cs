using System.Text.Json;
using NUnit.Framework;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// The job files of Debian's fio-examples package: those that use only options pnvme supports
/// are accepted unchanged, the short ones run unchanged (a command-line global that the file
/// does not set, --runtime, keeps them short, as it would with fio), and every other file is
/// refused with the option and the reason.
/// </summary>
[TestFixture]
public class FioExampleJobTests
{
    private const string Examples = "/usr/share/doc/fio/examples";

    // Only supported options (some run for 900 s or need /dev/nvme0n1 or a mount point: those are parsed only).
    private static readonly string[] Supported =
    [
        "null.fio", "zipf.fio", "rand-zones.fio", "fio-rand-read.fio", "fio-rand-write.fio", "fio-rand-RW.fio", "fio-seq-read.fio",
        "fio-seq-write.fio", "fio-seq-RW.fio", "tiobench-example.fio", "jesd219.fio", "aio-read.fio", "ssd-test.fio",
        "ssd-steadystate.fio", "fsx.fio", "iometer-file-access-server.fio",
    ];

    private static void RequireExamples()
    {
        if (!Directory.Exists(Examples))
            Assert.Ignore($"{Examples} is missing; install the Debian package fio-examples (.ci/run does).");
    }

    [TestCaseSource(nameof(Supported))]
    public void Supported_example_parses_unchanged(string file)
    {
        RequireExamples();
        var run = CliRunner.Run("bench", "--parse-only", Path.Combine(Examples, file));
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        Assert.That(run.Stderr, Is.Empty);
    }

    [TestCase("null.fio", "null", "randread")]
    [TestCase("zipf.fio", "job", "randread")]
    [TestCase("rand-zones.fio", "zones", "randread")]
    public void Short_example_runs_unchanged(string file, string job, string rw)
    {
        RequireExamples();
        var run = CliRunner.Run("bench", "--runtime=1", "--progress=0", "--output-format=json", Path.Combine(Examples, file));
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        using var doc = JsonDocument.Parse(run.Stdout);
        var j = doc.RootElement.GetProperty("jobs")[0];
        Assert.That(j.GetProperty("jobname").GetString(), Is.EqualTo(job));
        Assert.That(j.GetProperty("job options").GetProperty("rw").GetString(), Is.EqualTo(rw));
        Assert.That(j.GetProperty("read").GetProperty("total_ios").GetInt64(), Is.GreaterThan(0));
        Assert.That(j.GetProperty("error").GetInt32(), Is.EqualTo(0));
    }

    [Test]
    public void Every_other_example_is_refused_with_the_option_and_why()
    {
        RequireExamples();
        var others = Directory.GetFiles(Examples, "*.fio").Select(Path.GetFileName).Where(f => !Supported.Contains(f)).ToArray();
        Assert.That(others, Is.Not.Empty);
        foreach (string? file in others)
        {
            var run = CliRunner.Run("bench", "--parse-only", Path.Combine(Examples, file!));
            Assert.That(run.ExitCode, Is.EqualTo(2), $"{file}: {run.Stderr}");
            // e.g. "zbd-seq-read.fio:10: zonemode: not supported: pnvme has no zoned namespaces"
            Assert.That(run.Stderr, Does.Match($@"{file}:\d+: \S+: "), file);
            Assert.That(run.Stderr, Does.Contain("not supported").Or.Contain("not available").Or.Contain("unknown option"), file);
        }
    }
}
