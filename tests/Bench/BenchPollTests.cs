using System.Text.Json;
using NUnit.Framework;
using PolledNvme.Bench.Options;

namespace PolledNvme.Tests.Bench;

/// <summary><c>pnvme bench --poll</c>: parsed, refused where it cannot work (with the reason), and reported beside the process CPU.</summary>
[TestFixture]
public class BenchPollTests
{
    private static readonly string[] Short = ["--runtime=300ms", "--iodepth=8", "--progress=0", "--pin=0"];

    [TestCase("spin", PolledNvme.Driver.PollMode.Spin)]
    [TestCase("adaptive", PolledNvme.Driver.PollMode.Adaptive)]
    [TestCase("interrupt", PolledNvme.Driver.PollMode.Interrupt)]
    public void Poll_modes_parse(string value, PolledNvme.Driver.PollMode expected)
    {
        Assert.That(BenchOptionParser.Parse([$"--poll={value}"]).PollMode, Is.EqualTo(expected));
        Assert.That(BenchOptionParser.Parse([]).PollMode, Is.EqualTo(PolledNvme.Driver.PollMode.Spin), "spin is the default");
    }

    [TestCase("--poll=sometimes")]
    [TestCase("--poll=")]
    [TestCase("--poll")]
    public void A_bad_poll_mode_names_the_flag_and_the_choices(string arg)
    {
        var run = CliRunner.Run("bench", "--device=mem:size=8M", arg, "--progress=0");
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr);
        Assert.That(run.Stderr, Does.Contain("--poll"));
        Assert.That(run.Stdout, Is.Empty, "nothing runs");
        if (arg == "--poll=sometimes")
            Assert.That(run.Stderr, Does.Contain("spin").And.Contain("adaptive").And.Contain("interrupt"));
    }

    [Test]
    public void Sleeping_on_an_inline_controller_is_refused_with_the_reason()
    {
        var run = CliRunner.Run(["bench", "--device=mem:size=8M,mode=inline", "--poll=adaptive", .. Short]);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr + run.Stdout);
        Assert.That(run.Stderr, Does.Contain("--poll").And.Contain("inline").And.Contain("--poll=spin"));
        Assert.That(run.Stdout, Is.Empty, "refused before any I/O");
    }

    [Test]
    public void Sleeping_on_the_kernel_path_is_refused()
    {
        using var files = new TempFiles();
        string image = files.New(".img");
        File.WriteAllBytes(image, new byte[1 << 20]);
        var run = CliRunner.Run(["bench", $"--device=uring:{image}", "--poll=interrupt", .. Short]);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr + run.Stdout);
        Assert.That(run.Stderr, Does.Contain("--poll").And.Contain("io_uring"));
    }

    [TestCase("adaptive", "mem:size=16M,dbbuf=1")]
    [TestCase("interrupt", "mem:size=16M")]
    [TestCase("interrupt", "null:size=16M")]
    public void Sleeping_runs_are_clean_and_report_cpu_beside_iops(string mode, string device)
    {
        var run = CliRunner.Run(["bench", $"--device={device}", $"--poll={mode}", "--rw=randrw", "--verify=0", .. Short]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr + run.Stdout);
        Assert.That(run.Stdout, Does.Contain("errors: none"));
        Assert.That(run.Stdout, Does.Match(@"CPU: process usr=[\d.]+%, sys=[\d.]+%, total=[\d.]+% \([\d.]+s CPU\) over [\d.]+s, \d+ ns CPU per I/O, \d+ IOPS, poll=" + mode));

        var json = CliRunner.Run(["bench", $"--device={device}", $"--poll={mode}", "--output-format=json", .. Short]);
        Assert.That(json.ExitCode, Is.EqualTo(0), json.Stderr);
        using var doc = JsonDocument.Parse(json.Stdout);
        var pnvme = doc.RootElement.GetProperty("pnvme");
        Assert.That(pnvme.GetProperty("poll").GetString(), Is.EqualTo(mode));
        Assert.That(pnvme.GetProperty("process_cpu_pct").GetDouble(), Is.GreaterThanOrEqualTo(0));
    }
}
