using System.Runtime.InteropServices;
using NUnit.Framework;

namespace PolledNvme.Tests.Bench;

/// <summary>A signal stops a job-file run as it stops a command-line one.</summary>
public partial class JobFileTrustTests
{
    private const int SigTerm = 15;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    [Test]
    public void A_signal_stops_a_job_file_run_reports_skips_later_groups_and_removes_the_temp_image()
    {
        // Two jobs at once on the default device (a temp image in TMPDIR), a stonewalled third after them.
        string job = JobFile("[global]\nruntime=1h\npin=0\niodepth=4\n[first]\nrw=randread\n[second]\nrw=randwrite\n[later]\nstonewall\nrw=read\n");
        using var process = CliRunner.Start(["bench", "--progress=0", job], new Dictionary<string, string?> { ["TMPDIR"] = _dir }, ["env", "--default-signal=HUP,INT,TERM"]);
        try
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = new System.Text.StringBuilder();
            string? line = CliRunner.ReadUntilStarted(process, stdout);
            Assert.That(line, Is.Not.Null, () => $"no header: {stdout}{stderr.Result}");
            Assert.That(Directory.GetFiles(_dir, "pnvme-*"), Is.Not.Empty, "the temp image exists while the run goes on");
            Assert.That(kill(process.Id, SigTerm), Is.EqualTo(0));
            stdout.Append(process.StandardOutput.ReadToEnd());
            Assert.That(process.WaitForExit(TimeSpan.FromMinutes(2)), Is.True, "stopped");
            Assert.That(process.ExitCode, Is.EqualTo(1), stderr.Result);
            string report = stdout.ToString();
            Assert.That(report, Does.Contain("Run status group 0"), "the report of what ran");
            Assert.That(report, Does.Contain("first: (groupid=0").And.Contain("second: (groupid=0"));
            Assert.That(report, Does.Not.Contain("later: (groupid=1"), "the group behind the stonewall never started");
            Assert.That(stderr.Result, Does.Contain("pnvme bench: stopped by SIGTERM after"));
            CliRunner.AssertNoStackTrace(stderr.Result);
            Assert.That(Directory.GetFiles(_dir, "pnvme-*"), Is.Empty, "the temp image and its format record are gone");
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }
}
