using System.Runtime.InteropServices;
using NUnit.Framework;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// The real pnvme process: its top-level handler (no stack trace, exit codes as documented,
/// <c>PNVME_DEBUG=1</c>), a low locked-memory limit, and SIGINT/SIGTERM/SIGHUP during a run.
/// </summary>
[TestFixture]
public partial class CliProcessTests
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    private const int SigHup = 1, SigInt = 2, SigTerm = 15;

    [Test]
    public void A_malformed_device_exits_2_with_one_line_and_no_stack_trace()
    {
        var run = CliRunner.RunProcess(["id-ctrl", "--device", "pci:zzz"]);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr);
        Assert.That(run.Stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1), run.Stderr);
        Assert.That(run.Stderr, Does.StartWith("pnvme id-ctrl: --device: 'pci:zzz' is not a PCI address"));
        CliRunner.AssertNoStackTrace(run.Stderr);
    }

    [Test]
    public void Pnvme_debug_adds_the_stack_trace()
    {
        var run = CliRunner.RunProcess(["id-ctrl", "--device", "pci:zzz"], new Dictionary<string, string?> { ["PNVME_DEBUG"] = "1" });
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.StartWith("pnvme id-ctrl: --device: 'pci:zzz'"));
        Assert.That(run.Stderr, Does.Contain("UsageException").And.Match(@"(?m)^\s+at \S"), "the full exception with its frames");
    }

    [Test]
    public void A_low_locked_memory_limit_exits_1_with_the_remedy()
    {
        // Without CAP_IPC_LOCK and with RLIMIT_MEMLOCK 0, mlock of the DMA memory fails (DmaMemoryException).
        string[] prefix = ["setpriv", "--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock", "prlimit", "--memlock=0:0"];
        Assume.That(File.Exists("/usr/bin/setpriv") && File.Exists("/usr/bin/prlimit"), "needs util-linux setpriv and prlimit");
        Assume.That(File.ReadAllText("/proc/sys/vm/nr_hugepages").Trim(), Is.EqualTo("0"), "with hugepages reserved, no mlock is needed");
        var run = CliRunner.RunProcess(["id-ns", "--device", "mem:size=1M"], prefix: prefix);
        Assume.That(run.Stderr, Does.Not.Contain("setpriv:").And.Not.Contain("prlimit:"), "setpriv/prlimit not permitted here");
        Assert.That(run.ExitCode, Is.EqualTo(1), run.Stderr);
        Assert.That(run.Stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1), run.Stderr);
        Assert.That(run.Stderr, Does.StartWith("pnvme id-ns: Could not lock").And.Contain("ulimit -l"));
        CliRunner.AssertNoStackTrace(run.Stderr);
    }

    [Test]
    public void Under_taskset_a_device_cpu_outside_the_allowed_set_is_a_usage_error()
    {
        // Before: CPUs were checked against 0..ProcessorCount-1, which taskset shifts (taskset -c 1:
        // ProcessorCount 1, so cpu=0 passed the check and the device thread's pinning failed later).
        // The default device's thread likewise went to CPU ProcessorCount-1; now the last allowed CPU.
        int[] allowed = PolledNvme.Queues.CoreAffinity.AllowedCpus();
        Assume.That(File.Exists("/usr/bin/taskset") && allowed.Length > 1, "needs taskset and two allowed CPUs");
        int only = allowed[^1];
        var refused = CliRunner.RunProcess(["id-ns", $"mem:size=1M,cpu={allowed[0]}"], prefix: ["taskset", "-c", $"{only}"], timeout: TimeSpan.FromMinutes(1));
        Assert.That(refused.ExitCode, Is.EqualTo(2), refused.Stderr);
        Assert.That(refused.Stderr, Does.Contain($"cpu: CPU {allowed[0]} is not one this process may run on; allowed: {only}"));
        CliRunner.AssertNoStackTrace(refused.Stderr);
        var accepted = CliRunner.RunProcess(["id-ns", $"mem:size=1M,cpu={only}"], prefix: ["taskset", "-c", $"{only}"], timeout: TimeSpan.FromMinutes(1));
        Assert.That(accepted.ExitCode, Is.EqualTo(0), accepted.Stderr);
    }

    [Test]
    public void An_unwritable_plot_fails_before_the_run_not_after_it()
    {
        var run = CliRunner.RunProcess(["bench", "--device=mem:size=1M", "--runtime=1h", "--progress=0", "--plot=/proc/pnvme.png"], timeout: TimeSpan.FromMinutes(1));
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr);
        Assert.That(run.Stderr, Does.StartWith("pnvme bench: --plot: '/proc/pnvme.png' cannot be written"));
        Assert.That(run.Stdout, Is.Empty);
        CliRunner.AssertNoStackTrace(run.Stderr);
    }

    // env --default-signal: a test runner started in the background may hand its children SIGINT
    // (and with nohup SIGHUP) ignored, and an ignored signal stays ignored; pnvme rightly respects that.
    private static readonly string[] DefaultSignals = ["env", "--default-signal=HUP,INT,TERM"];

    [TestCase(SigTerm, "SIGTERM")]
    [TestCase(SigHup, "SIGHUP")]
    [TestCase(SigInt, "SIGINT")]
    public void A_signal_stops_the_default_run_reports_and_removes_the_temp_image(int signal, string name)
    {
        // The default job (no --device) lays out a 1 GiB image in the temp directory: a private one here.
        string temp = Directory.CreateTempSubdirectory("pnvme-signal-").FullName;
        try
        {
            using var process = CliRunner.Start(["bench", "--runtime=1h", "--progress=0", "--pin=0"], new Dictionary<string, string?> { ["TMPDIR"] = temp }, DefaultSignals);
            using var reaper = new ProcessReaper(process);
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = new System.Text.StringBuilder();
            string? line = CliRunner.ReadUntilStarted(process, stdout);
            Assert.That(line, Is.Not.Null, () => $"no header: {stdout}{stderr.Result}");   // lazily: stderr ends only when the process does
            Assert.That(Directory.GetFiles(temp, "pnvme-*"), Is.Not.Empty, "the temp image exists while the run goes on");
            Assert.That(kill(process.Id, signal), Is.EqualTo(0));
            stdout.Append(process.StandardOutput.ReadToEnd());
            Assert.That(process.WaitForExit(TimeSpan.FromMinutes(2)), Is.True, "stopped");
            Assert.That(process.ExitCode, Is.EqualTo(1), stderr.Result);
            Assert.That(stdout.ToString(), Does.Contain("Run status group"), "the report of what ran");
            Assert.That(stderr.Result, Does.Contain($"pnvme bench: stopped by {name} after"));
            CliRunner.AssertNoStackTrace(stderr.Result);
            Assert.That(Directory.GetFiles(temp, "pnvme-*"), Is.Empty, "the temp image and its format record are gone");
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    [Test]
    public void A_second_signal_ends_the_process_and_still_removes_the_temp_image()
    {
        string temp = Directory.CreateTempSubdirectory("pnvme-signal-").FullName;
        try
        {
            // The second signal finds the stop already asked for: the handler removes the temp files and lets the signal end the process.
            using var process = CliRunner.Start(["bench", "--runtime=1h", "--progress=0", "--pin=0"], new Dictionary<string, string?> { ["TMPDIR"] = temp }, DefaultSignals);
            using var reaper = new ProcessReaper(process);
            var stderr = process.StandardError.ReadToEndAsync();
            string? line;
            while ((line = process.StandardOutput.ReadLine()) is not null && !line.StartsWith("Starting ", StringComparison.Ordinal)) { }
            Assert.That(line, Is.Not.Null, () => $"no header: {stderr.Result}");
            Assert.That(kill(process.Id, SigTerm), Is.EqualTo(0));
            Assert.That(kill(process.Id, SigTerm), Is.EqualTo(0));
            _ = process.StandardOutput.ReadToEnd();
            Assert.That(process.WaitForExit(TimeSpan.FromMinutes(2)), Is.True);
            CliRunner.AssertNoStackTrace(stderr.Result);
            Assert.That(Directory.GetFiles(temp, "pnvme-*"), Is.Empty, "the temp image and its format record are gone");
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>Kills the process if the test ends (fails) while it still runs.</summary>
    private sealed class ProcessReaper(System.Diagnostics.Process process) : IDisposable
    {
        public void Dispose()
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
    }
}
