using System.Text.Json;
using NUnit.Framework;
using PolledNvme.Bench;
using PolledNvme.Bench.Commands;
using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Run;
using PolledNvme.Emulation;

namespace PolledNvme.Tests.Bench;

/// <summary>Short runs (well under a second each) of pnvme bench on every emulated backend.</summary>
[TestFixture]
public class BenchRunTests
{
    private static readonly string[] Short = ["--runtime=300ms", "--iodepth=8", "--progress=0", "--pin=0"];

    [TestCase("mem:lbads=512,pi=1,ms=8,size=16M")]
    [TestCase("null:pi=1,ms=8,size=16M")]
    [TestCase("mem:size=16M")]
    [TestCase("mem:lbads=512,ms=16,pi=2,pif=0,mset=1,size=8M")]
    [TestCase("mem:lbads=4096,ms=16,pi=1,pif=2,size=16M")]
    public void Short_bench_runs_clean_on(string device)
    {
        var run = CliRunner.Run(["bench", $"--device={device}", .. Short]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr + run.Stdout);
        Assert.That(run.Stdout, Does.Contain("read: IOPS="));
        Assert.That(run.Stdout, Does.Contain("write: IOPS="));
        Assert.That(run.Stdout, Does.Contain("errors: none"));
        Assert.That(run.Stdout, Does.Contain("99.99th="));
    }

    [Test]
    public void Short_bench_runs_on_an_emulated_file_and_verifies_with_host_pi_both()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        var run = CliRunner.Run(["bench", $"--device=emu:{image},pi=1,ms=8,size=8M", "--verify", "--host-pi=both", "--numjobs=2", "--size=2m", "--time_based", .. Short]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr + run.Stdout);
        Assert.That(run.Stdout, Does.Contain("host-pi=both"));
        Assert.That(run.Stdout, Does.Contain("all jobs"));
        Assert.That(File.Exists(image), Is.True);
    }

    [Test]
    public void Size_based_run_moves_exactly_size_bytes()
    {
        var run = CliRunner.Run("bench", "--device=mem:size=8M", "--rw=write", "--bs=64k", "--size=2m", "--progress=0", "--output-format=json");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        using var doc = JsonDocument.Parse(run.Stdout);
        var write = doc.RootElement.GetProperty("jobs")[0].GetProperty("write");
        Assert.That(write.GetProperty("io_bytes").GetInt64(), Is.EqualTo(2L << 20));
        Assert.That(write.GetProperty("total_ios").GetInt64(), Is.EqualTo(32));
    }

    [Test]
    public void Json_has_fio_shape()
    {
        using var files = new TempFiles();
        string output = files.New(".json");
        var run = CliRunner.Run(["bench", "--device=mem:pi=1,ms=8,size=16M", "--output-format=json", $"--output={output}", "--name=shape", .. Short]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        using var doc = JsonDocument.Parse(File.ReadAllText(output));
        var root = doc.RootElement;
        Assert.That(root.GetProperty("fio version").GetString(), Does.StartWith("pnvme-"));
        Assert.That(root.GetProperty("timestamp").ValueKind, Is.EqualTo(JsonValueKind.Number));
        var job = root.GetProperty("jobs")[0];
        Assert.That(job.GetProperty("jobname").GetString(), Is.EqualTo("shape"));
        // fio: options before --name are global, the job's own are listed as typed.
        Assert.That(root.GetProperty("global options").GetProperty("device").GetString(), Is.EqualTo("mem:pi=1,ms=8,size=16M"));
        var jobOptions = job.GetProperty("job options");
        Assert.That(jobOptions.GetProperty("name").GetString(), Is.EqualTo("shape"));
        Assert.That(jobOptions.GetProperty("runtime").GetString(), Is.EqualTo("300ms"));
        Assert.That(jobOptions.TryGetProperty("rw", out _), Is.False, "rw was not typed");
        foreach (string dir in new[] { "read", "write", "trim" })
        {
            var d = job.GetProperty(dir);
            foreach (string field in new[] { "io_bytes", "io_kbytes", "bw_bytes", "bw", "iops", "runtime", "total_ios" })
                Assert.That(d.GetProperty(field).ValueKind, Is.EqualTo(JsonValueKind.Number), $"{dir}.{field}");
            var clat = d.GetProperty("clat_ns");
            foreach (string field in new[] { "min", "max", "mean", "stddev", "N" })
                Assert.That(clat.GetProperty(field).ValueKind, Is.EqualTo(JsonValueKind.Number), $"{dir}.clat_ns.{field}");
            if (dir == "trim")
            {
                Assert.That(clat.TryGetProperty("percentile", out _), Is.False, "fio leaves out the percentiles of a direction without samples");
                continue;
            }
            var pct = clat.GetProperty("percentile");
            foreach (string key in new[] { "1.000000", "20.000000", "50.000000", "99.000000", "99.900000", "99.950000", "99.990000" })
                Assert.That(pct.GetProperty(key).ValueKind, Is.EqualTo(JsonValueKind.Number), $"{dir} percentile {key}");
        }
        var read = job.GetProperty("read");
        Assert.That(read.GetProperty("total_ios").GetInt64(), Is.GreaterThan(0));
        Assert.That(read.GetProperty("bw").GetInt64(), Is.EqualTo(read.GetProperty("bw_bytes").GetInt64() / 1024));
        var clatRead = read.GetProperty("clat_ns");
        Assert.That(clatRead.GetProperty("min").GetInt64(), Is.LessThanOrEqualTo(clatRead.GetProperty("percentile").GetProperty("50.000000").GetInt64()));
        Assert.That(clatRead.GetProperty("percentile").GetProperty("50.000000").GetInt64(), Is.LessThanOrEqualTo(clatRead.GetProperty("max").GetInt64()));
        Assert.That(job.GetProperty("usr_cpu").ValueKind, Is.EqualTo(JsonValueKind.Number));
        Assert.That(job.GetProperty("pi").GetProperty("pi_errors").GetInt64(), Is.EqualTo(0));
        var jobPnvme = job.GetProperty("pnvme");
        Assert.That(jobPnvme.GetProperty("namespace").GetProperty("pi_type").GetInt32(), Is.EqualTo(1));
        Assert.That(jobPnvme.GetProperty("pi_settings").GetProperty("host_pi").GetString(), Is.EqualTo("verify"));
        var pnvme = root.GetProperty("pnvme");
        Assert.That(pnvme.GetProperty("total").GetProperty("read").GetProperty("total_ios").GetInt64(), Is.EqualTo(read.GetProperty("total_ios").GetInt64()));
    }

    [TestCase("--pract", "--pract")]
    [TestCase("--prchk=guard", "--prchk")]
    [TestCase("--host-pi=verify", "--host-pi")]
    [TestCase("--apptag=1", "--apptag")]
    public void Pi_flags_on_a_namespace_without_pi_are_refused_before_io(string flag, string name)
    {
        var run = CliRunner.Run("bench", "--device=mem:size=8M", flag, "--progress=0");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain(name + ":"));
        Assert.That(run.Stdout, Is.Empty);
    }

    [TestCase("--bs=6k", "--bs")]
    [TestCase("--offset=100", "--offset")]
    [TestCase("--size=32m", "--size")]
    [TestCase("--offset=16m", "--offset")]
    [TestCase("--iodepth=4000", "--iodepth")]
    [TestCase("--bs=16m", "--bs")]
    [TestCase("--prchk=storage", "--prchk")]
    [TestCase("--numjobs=17", "--numjobs")]
    public void Combinations_that_cannot_work_are_refused_before_io(string flag, string name)
    {
        var run = CliRunner.Run("bench", "--device=mem:pi=1,ms=8,size=16M", flag, "--progress=0");
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr);
        Assert.That(run.Stderr, Does.Contain(name + ":"));
    }

    [Test]
    public void Unknown_device_kind_is_a_usage_error()
    {
        var run = CliRunner.Run("bench", "--device=tape:/dev/st0");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("--device"));
    }

    [Test]
    public void Verify_catches_a_corrupted_block_on_a_namespace_without_pi()
    {
        int code = WriteCorruptVerify("mem:size=4M", CorruptionTarget.Data, out string stdout);
        Assert.That(code, Is.EqualTo(Cli.ExitFailure));
        Assert.That(stdout, Does.Contain("does not match the --verify pattern"));
        Assert.That(stdout, Does.Contain("verify errors=1"));
    }

    [TestCase(CorruptionTarget.Data, "guard=1")]
    [TestCase(CorruptionTarget.ReferenceTag, "ref=1")]
    public void Host_pi_verify_catches_a_corrupted_block(CorruptionTarget target, string expected)
    {
        // --prchk=none: the controller checks nothing, so the host's verify is what finds it.
        int code = WriteCorruptVerify("mem:pi=1,ms=8,size=4M", target, out string stdout, "--prchk=none");
        Assert.That(code, Is.EqualTo(Cli.ExitFailure));
        Assert.That(stdout, Does.Contain(expected));
        Assert.That(stdout, Does.Contain("host PI verify"));
    }

    [Test]
    public void Controller_pi_check_catches_a_corrupted_guard_with_its_status_name()
    {
        int code = WriteCorruptVerify("mem:pi=1,ms=8,size=4M", CorruptionTarget.Guard, out string stdout, "--host-pi=none");
        Assert.That(code, Is.EqualTo(Cli.ExitFailure));
        Assert.That(stdout, Does.Contain("EndToEndGuardCheckError (SCT 2h, SC 82h)"));
    }

    [Test]
    public void Verify_catches_a_corrupted_backing_file()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},size=4M";
        var write = CliRunner.Run("bench", $"--device={device}", "--rw=write", "--verify", "--size=1m", "--progress=0");
        Assert.That(write.ExitCode, Is.EqualTo(0), write.Stderr + write.Stdout);
        var clean = CliRunner.Run("bench", $"--device={device}", "--verify_only", "--size=1m", "--progress=0");
        Assert.That(clean.ExitCode, Is.EqualTo(0), clean.Stderr + clean.Stdout);
        using (var f = new FileStream(image, FileMode.Open, FileAccess.ReadWrite))
        {
            f.Position = 7 * 4096 + 100;   // block 7, inside the pattern
            int b = f.ReadByte();
            f.Position--;
            f.WriteByte((byte)(b ^ 0x40));
        }
        var bad = CliRunner.Run("bench", $"--device={device}", "--verify_only", "--size=1m", "--progress=0");
        Assert.That(bad.ExitCode, Is.EqualTo(1));
        Assert.That(bad.Stdout, Does.Contain("read lba 7: data does not match the --verify pattern"));
    }

    // Lays out the pattern with one plan, damages block 3 through the emulated controller's
    // fault injector, then reads everything back with --verify_only on the same controller.
    private static int WriteCorruptVerify(string device, CorruptionTarget target, out string stdout, params string[] extra)
    {
        var controller = DeviceTargets.OpenController(device);
        EmulatedController emulated = EmulatedController.FromTransport(controller.Transport)!;
        using var nvme = new NvmeBenchTarget(controller);
        var writeOptions = BenchOptionParser.Parse(["--rw=write", "--verify", "--size=256k", "--progress=0", "--pin=0", .. extra]);
        Assert.That(BenchCommand.RunPlan(BenchPlan.Create(writeOptions, nvme), nvme, TextWriter.Null, TextWriter.Null, null), Is.EqualTo(0));
        emulated.Faults.CorruptBlock(1, 3, target);
        var readOptions = BenchOptionParser.Parse(["--verify_only", "--size=256k", "--iodepth=4", "--progress=0", "--pin=0", .. extra]);
        var output = new StringWriter();
        int code = BenchCommand.RunPlan(BenchPlan.Create(readOptions, nvme), nvme, output, TextWriter.Null, null);
        stdout = output.ToString();
        return code;
    }

    [Test]
    public void Plot_writes_a_png_and_an_svg()
    {
        using var files = new TempFiles();
        string png = files.New(".png");
        string svg = files.New(".svg");
        var run = CliRunner.Run(["bench", "--device=mem:size=8M", $"--plot={png}", .. Short]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        byte[] header = File.ReadAllBytes(png)[..8];
        Assert.That(header, Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }));
        run = CliRunner.Run(["bench", "--device=mem:pi=1,ms=8,size=8M", $"--plot={svg}", "--name=plotted", "--rw=randrw", .. Short]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        string text = File.ReadAllText(svg);
        Assert.That(text, Does.Contain("<svg"));
        // Four panels, and a title naming the job, the device, its format and the PI settings.
        foreach (string title in new[] { "completion latency by percentile", "total latency over time", "IOPS over time", "bandwidth over time" })
            Assert.That(text, Does.Contain(title));
        Assert.That(text, Does.Contain("plotted: rw=randrw"));
        Assert.That(text, Does.Contain("mem:pi=1,ms=8,size=8M (nvme-emu): 4096+8 B blocks"));
        Assert.That(text, Does.Contain("PI type 1, 16b guard"));
        Assert.That(text, Does.Contain("host PI verify"));
    }
}

/// <summary>The kernel path (uring:) on a temp file.</summary>
[TestFixture]
public class UringBenchTests
{
    [Test]
    public void Uring_engine_runs_and_verifies_a_file()
    {
        using var files = new TempFiles();
        string image = files.New(".img");
        var run = CliRunner.Run("bench", $"--device=uring:{image},size=4M", "--rw=write", "--verify", "--size=1m", "--progress=0");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr + run.Stdout);
        Assert.That(run.Stdout, Does.Contain("ioengine=io_uring"));
        Assert.That(new FileInfo(image).Length, Is.EqualTo(4L << 20));
        var check = CliRunner.Run("bench", $"--device=uring:{image}", "--verify_only", "--size=1m", "--progress=0");
        Assert.That(check.ExitCode, Is.EqualTo(0), check.Stderr + check.Stdout);
        using (var f = new FileStream(image, FileMode.Open, FileAccess.ReadWrite))
        {
            f.Position = 3 * 512 + 40;
            int b = f.ReadByte();
            f.Position--;
            f.WriteByte((byte)(b ^ 1));
        }
        var bad = CliRunner.Run("bench", $"--device=uring:{image}", "--verify_only", "--size=1m", "--bs=512", "--progress=0");
        Assert.That(bad.ExitCode, Is.EqualTo(1));
        Assert.That(bad.Stdout, Does.Contain("read lba 3: data does not match the --verify pattern"));
    }

    [Test]
    public void Uring_engine_refuses_pi_flags_and_missing_files()
    {
        using var files = new TempFiles();
        string image = files.New(".img");
        var missing = CliRunner.Run("bench", $"--device=uring:{image}");
        Assert.That(missing.ExitCode, Is.EqualTo(2));
        Assert.That(missing.Stderr, Does.Contain("--device"));
        var pract = CliRunner.Run("bench", $"--device=uring:{image},size=1M", "--pract");
        Assert.That(pract.ExitCode, Is.EqualTo(2));
        Assert.That(pract.Stderr, Does.Contain("--pract: the io_uring engine carries no PI"));
    }
}

/// <summary>The job thread's submit/complete/record path allocates nothing per I/O.</summary>
[TestFixture]
public class BenchAllocationTests
{
    [TestCase("mem:lbads=512,pi=1,ms=8,size=16M", "--host-pi=both")]
    [TestCase("mem:lbads=512,pi=1,ms=8,size=15M", "--host-pi=both")]
    [TestCase("mem:lbads=512,pi=1,ms=8,mset=1,size=16M", "--host-pi=verify")]
    [TestCase("mem:lbads=512,size=16M", "--verify")]
    public void Measured_phase_allocates_nothing_per_io(string device, string extra)
    {
        var controller = DeviceTargets.OpenController(device);
        using var target = new NvmeBenchTarget(controller);
        // Size based (8 MiB of 512 B I/Os after a short ramp): the same I/O count on a busy machine.
        var options = BenchOptionParser.Parse(["--size=8m", "--bs=512", "--ramp_time=50ms", "--iodepth=16", "--progress=0", "--pin=0", extra]);
        var result = BenchRunner.Run(BenchPlan.Create(options, target), target, null);
        long ios = result.Total.Reads.Ios + result.Total.Writes.Ios;
        Assert.That(result.HasErrors, Is.False, result.Total.FirstError);
        Assert.That(ios, Is.EqualTo(16384));
        TestContext.Out.WriteLine($"{device} {extra}: {result.Total.AllocatedBytes} bytes allocated on the job thread over {ios} I/Os");
        // One-time runtime work (tiered JIT and OSR, which a busy machine delays into the measured
        // phase; the first Yield) allocates a few KiB at most. Any per-I/O allocation is at least one
        // 24-byte object per I/O, so "under one byte per I/O" separates the two whatever the load.
        Assert.That(result.Total.AllocatedBytes, Is.LessThan(ios), $"{result.Total.AllocatedBytes} bytes over {ios} I/Os");
    }
}
