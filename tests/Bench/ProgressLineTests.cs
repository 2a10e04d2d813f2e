using NUnit.Framework;
using PolledNvme.Bench.Run;

namespace PolledNvme.Tests.Bench;

/// <summary>What the progress line says during setup steps, and that nothing is drawn on a pipe.</summary>
[TestFixture]
public class ProgressLineTests
{
    [Test]
    public void Setup_steps_say_what_they_do_and_how_far_they_are()
    {
        var control = new RunControl(new StopRequest());
        var output = new StringWriter();
        var line = new ProgressLine(output);
        line.DrawSetup(control);
        Assert.That(output.ToString(), Is.Empty, "no step, nothing drawn");
        control.AddSetupWork("laying out 1GiB for verify", 600);
        control.AddSetupWork("laying out 1GiB for verify", 400);   // a second job's share
        control.SetupDone(370);
        line.DrawSetup(control);
        Assert.That(output.ToString(), Is.EqualTo("\rlaying out 1GiB for verify: 37 %"));
        line.DrawStep("laying out 1GiB in uring:/f", 1 << 30, 1 << 30);
        Assert.That(output.ToString(), Does.EndWith("\rlaying out 1GiB in uring:/f: 100 %"));
        line.Clear();
        Assert.That(output.ToString(), Does.EndWith("\r"));
        control.ClearSetup();
        Assert.That(control.SetupWhat, Is.Null);
    }

    [Test]
    public void Nothing_is_drawn_when_stderr_is_not_a_terminal()
    {
        // The test host's stderr is redirected: --progress=1 cannot force a progress line onto a pipe.
        Assert.That(Console.IsErrorRedirected, Is.True);
        var run = CliRunner.Run("bench", "--device=mem:size=16M", "--verify", "--size=8m", "--time_based", "--runtime=1500ms", "--progress=1", "--pin=0");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        Assert.That(run.Stderr, Does.Not.Contain("\r").And.Not.Contain("laying out").And.Not.Contain("Jobs:"));
    }
}
