using System.Globalization;
using System.Text.Json;
using NUnit.Framework;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Report;

namespace PolledNvme.Tests.Bench;

/// <summary>fio options end to end: trims, rates, loops, logs, status reports, exitall, readonly, CPU sets.</summary>
[TestFixture]
public class BenchFeatureTests
{
    private static JsonElement Job(string json, int index = 0) => JsonDocument.Parse(json).RootElement.GetProperty("jobs")[index];

    [Test]
    public void Trim_deallocates_and_trimwrite_trims_then_writes_each_block()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        var write = CliRunner.Run("bench", $"--device=emu:{image},size=8M", "--rw=write", "--verify", "--size=1m", "--progress=0");
        Assert.That(write.ExitCode, Is.EqualTo(0), write.Stderr);
        var trim = CliRunner.Run("bench", $"--device=emu:{image}", "--rw=trim", "--size=512k", "--bs=64k", "--progress=0", "--output-format=json");
        Assert.That(trim.ExitCode, Is.EqualTo(0), trim.Stderr);
        var t = Job(trim.Stdout).GetProperty("trim");
        Assert.That((t.GetProperty("total_ios").GetInt64(), t.GetProperty("io_bytes").GetInt64()), Is.EqualTo((8L, 512L * 1024)));
        Assert.That(t.GetProperty("clat_ns").GetProperty("N").GetInt64(), Is.EqualTo(8));
        // The trimmed half no longer holds the pattern; the other half does.
        var check = CliRunner.Run("bench", $"--device=emu:{image}", "--verify_only", "--size=1m", "--progress=0");
        Assert.That(check.ExitCode, Is.EqualTo(1));
        Assert.That(check.Stdout, Does.Contain("verify errors=128").And.Contain("read lba 0: data does not match"));

        var trimWrite = CliRunner.Run("bench", $"--device=emu:{image}", "--rw=trimwrite", "--size=1m", "--progress=0", "--output-format=json");
        Assert.That(trimWrite.ExitCode, Is.EqualTo(0), trimWrite.Stderr);
        var j = Job(trimWrite.Stdout);
        Assert.That(j.GetProperty("trim").GetProperty("total_ios").GetInt64(), Is.EqualTo(256));
        Assert.That(j.GetProperty("write").GetProperty("total_ios").GetInt64(), Is.EqualTo(256), "size counts the writes (fio's td_write)");
    }

    [Test]
    public void Trim_with_verify_is_refused()
    {
        var run = CliRunner.Run("bench", "--device=mem:size=8M", "--rw=randtrim", "--verify");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("--verify: rw=randtrim trims blocks"));
    }

    [Test]
    public void Rate_iops_holds_the_job_back()
    {
        // Only a lower bound on time: a busy machine makes it slower, never faster.
        var run = CliRunner.Run("bench", "--device=mem:size=16M", "--rw=randread", "--rate_iops=200", "--number_ios=50", "--progress=0", "--pin=0", "--output-format=json");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        var read = Job(run.Stdout).GetProperty("read");
        Assert.That(read.GetProperty("total_ios").GetInt64(), Is.EqualTo(50));
        Assert.That(read.GetProperty("runtime").GetInt64(), Is.GreaterThanOrEqualTo(245), "49 gaps of 5 ms");
        Assert.That(read.GetProperty("iops").GetDouble(), Is.LessThanOrEqualTo(205));
    }

    [Test]
    public void Rate_caps_bandwidth_per_direction()
    {
        // Time based, 1 s: writes are due every 10 ms (400 KiB/s of 4 KiB), the first at once; reads are not capped.
        var run = CliRunner.Run("bench", "--device=mem:size=16M", "--rw=randrw", "--rate=,400k", "--runtime=1", "--time_based", "--bs=4k", "--progress=0", "--pin=0", "--output-format=json");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        var j = Job(run.Stdout);
        long writes = j.GetProperty("write").GetProperty("total_ios").GetInt64();
        long runtime = j.GetProperty("write").GetProperty("runtime").GetInt64();
        Assert.That(writes, Is.LessThanOrEqualTo(runtime / 10 + 2), $"at most one write per 10 ms over {runtime} ms");
        Assert.That(j.GetProperty("read").GetProperty("total_ios").GetInt64(), Is.GreaterThan(0));
    }

    [Test]
    public void Loops_repeat_the_region_and_io_size_sets_the_amount()
    {
        var loops = CliRunner.Run("bench", "--device=mem:size=8M", "--rw=randwrite", "--size=256k", "--loops=3", "--progress=0", "--output-format=json");
        Assert.That(loops.ExitCode, Is.EqualTo(0), loops.Stderr);
        Assert.That(Job(loops.Stdout).GetProperty("write").GetProperty("total_ios").GetInt64(), Is.EqualTo(3 * 64));
        var ioSize = CliRunner.Run("bench", "--device=mem:size=8M", "--rw=read", "--size=256k", "--io_size=1m", "--progress=0", "--output-format=json");
        Assert.That(ioSize.ExitCode, Is.EqualTo(0), ioSize.Stderr);
        Assert.That(Job(ioSize.Stdout).GetProperty("read").GetProperty("io_bytes").GetInt64(), Is.EqualTo(1L << 20));
    }

    [Test]
    public void Variable_block_sizes_stay_within_the_given_sizes()
    {
        var run = CliRunner.Run("bench", "--device=mem:size=16M", "--rw=randread", "--bssplit=4k/50:64k/50", "--number_ios=400", "--progress=0", "--output-format=json");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        var read = Job(run.Stdout).GetProperty("read");
        double average = (double)read.GetProperty("io_bytes").GetInt64() / read.GetProperty("total_ios").GetInt64();
        Assert.That(average, Is.InRange(4096 * 1.5, 65536 * 0.9), "a mix of 4k and 64k");
        Assert.That(read.GetProperty("io_bytes").GetInt64() % 4096, Is.Zero);
    }

    [Test]
    public void Per_io_logs_have_one_line_per_io_in_fios_format()
    {
        string dir = Directory.CreateTempSubdirectory("pnvme-log-").FullName;
        try
        {
            string prefix = Path.Combine(dir, "j");
            var run = CliRunner.Run("bench", "--device=mem:size=8M", "--rw=randrw", "--number_ios=300", "--progress=0", "--output-format=json",
                $"--write_lat_log={prefix}", $"--write_bw_log={prefix}", $"--write_iops_log={prefix}", "--log_offset=1", "--numjobs=2", "--pin=0");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
            using var doc = JsonDocument.Parse(run.Stdout);
            for (int job = 1; job <= 2; job++)
            {
                var j = doc.RootElement.GetProperty("jobs")[job - 1];
                long ios = j.GetProperty("read").GetProperty("total_ios").GetInt64() + j.GetProperty("write").GetProperty("total_ios").GetInt64();
                foreach (string kind in new[] { "lat", "clat", "slat", "bw", "iops" })
                {
                    string[] lines = File.ReadAllLines(Path.Combine(dir, $"j_{kind}.{job}.log"));
                    Assert.That(lines, Has.Length.EqualTo(ios), $"{kind} log of job {job}: one entry per I/O");
                    foreach (string line in lines)
                    {
                        // time, value, direction, block size, offset, priority
                        long[] f = line.Split(", ").Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
                        Assert.That(f, Has.Length.EqualTo(6), line);
                        Assert.That(f[2], Is.InRange(0, 1), line);
                        Assert.That(f[3], Is.EqualTo(4096), line);
                        Assert.That(f[4] % 4096, Is.Zero, line);
                        if (kind == "iops") Assert.That(f[1], Is.EqualTo(1));
                    }
                }
                // fio: with per-I/O bandwidth logging the bandwidth statistics are per I/O as well.
                Assert.That(j.GetProperty("read").GetProperty("bw_samples").GetInt64(), Is.EqualTo(j.GetProperty("read").GetProperty("total_ios").GetInt64()));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Status_interval_prints_reports_while_running()
    {
        var run = CliRunner.Run("bench", "--device=mem:size=16M", "--runtime=4", "--iodepth=4", "--pin=0", "--progress=0", "--status-interval=1");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        int reports = run.Stdout.Split("Run status group 0").Length - 1;
        Assert.That(reports, Is.GreaterThanOrEqualTo(2), "at least one report while running, and the final one");
    }

    [Test]
    public void Exitall_stops_every_job_when_the_first_ends()
    {
        var run = CliRunner.Run("bench", "--device=mem:size=16M", "--exitall", "--progress=0", "--pin=0", "--output-format=json",
            "--name=short", "--rw=read", "--number_ios=100", "--name=long", "--rw=randread", "--runtime=60");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        Assert.That(Job(run.Stdout, 1).GetProperty("job_runtime").GetInt64(), Is.LessThan(30_000));
    }

    [Test]
    public void Readonly_refuses_jobs_that_write()
    {
        var run = CliRunner.Run("bench", "--readonly", "--device=mem:size=8M", "--rw=randrw");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("--readonly").And.Contain("randrw"));
        Assert.That(CliRunner.Run("bench", "--readonly", "--device=mem:size=8M", "--rw=read", "--runtime=100ms", "--progress=0").ExitCode, Is.EqualTo(0));
    }

    [Test]
    public void Version_and_cmdhelp_print_and_run_nothing()
    {
        var version = CliRunner.Run("bench", "--version");
        Assert.That((version.ExitCode, version.Stdout.Trim()), Is.EqualTo((0, ReportFacts.Version)));
        var help = CliRunner.Run("bench", "--cmdhelp=zonemode");
        Assert.That(help.Stdout, Does.Contain("zonemode: no - pnvme has no zoned namespaces"));
        var all = CliRunner.Run("bench", "--cmdhelp");
        Assert.That(all.Stdout.Split('\n').Length, Is.GreaterThan(300), "every fio option");
    }

    [Test]
    public void Cpus_allowed_binds_job_threads()
    {
        var run = CliRunner.Run("bench", "--device=mem:size=8M", "--runtime=200ms", "--cpus_allowed=0", "--progress=0", "--output-format=json");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        Assert.That(Job(run.Stdout).GetProperty("pnvme").GetProperty("pinned").GetBoolean(), Is.True);
        var bad = CliRunner.Run("bench", "--device=mem:size=8M", "--cpus_allowed=4096");
        Assert.That(bad.ExitCode, Is.EqualTo(2));
        Assert.That(bad.Stderr, Does.Contain("--cpus_allowed"));
    }

    [Test]
    public void Startdelay_holds_the_job_back()
    {
        var run = CliRunner.Run("bench", "--device=mem:size=8M", "--runtime=100ms", "--startdelay=700ms", "--progress=0", "--output-format=json");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        double wall = JsonDocument.Parse(run.Stdout).RootElement.GetProperty("pnvme").GetProperty("wall_s").GetDouble();
        Assert.That(wall, Is.GreaterThanOrEqualTo(0.8));
    }

    [Test]
    public void Depth_distributions_and_latency_buckets_add_up()
    {
        var run = CliRunner.Run("bench", "--device=mem:size=16M", "--runtime=300ms", "--iodepth=8", "--progress=0", "--pin=0", "--output-format=json");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        var j = Job(run.Stdout);
        foreach (string name in new[] { "iodepth_level", "iodepth_submit", "iodepth_complete" })
            Assert.That(j.GetProperty(name).EnumerateObject().Sum(p => p.Value.GetDouble()), Is.EqualTo(100).Within(1), name);
        double buckets = new[] { "latency_ns", "latency_us", "latency_ms" }.Sum(n => j.GetProperty(n).EnumerateObject().Sum(p => p.Value.GetDouble()));
        Assert.That(buckets, Is.EqualTo(100).Within(1));
        Assert.That(j.GetProperty("iodepth_level").GetProperty(">=64").GetDouble(), Is.Zero, "never more than iodepth=8 in flight");
    }

    [Test]
    public void What_one_pass_submits_reaches_the_controller_as_one_batch()
    {
        // 32 I/Os at iodepth 32: the first pass fills every slot, and one doorbell (one send on
        // tcp:) publishes them, so fio's submit distribution has the whole run in its 17-32 bin.
        var run = CliRunner.Run("bench", "--device=mem:size=16M", "--rw=randread", "--iodepth=32", "--io_size=128k", "--progress=0", "--pin=0", "--output-format=json");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        var j = Job(run.Stdout);
        Assert.That(j.GetProperty("read").GetProperty("total_ios").GetInt64(), Is.EqualTo(32));
        Assert.That(j.GetProperty("iodepth_submit").GetProperty("32").GetDouble(), Is.EqualTo(100).Within(0.1), run.Stdout);
    }

    [Test]
    public void Json_plus_adds_bins_only_where_percentiles_are_reported()
    {
        var run = CliRunner.Run("bench", "--device=mem:size=8M", "--runtime=200ms", "--progress=0", "--output-format=json+", "--pin=0");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        var read = Job(run.Stdout).GetProperty("read");
        Assert.That(read.GetProperty("clat_ns").TryGetProperty("bins", out var bins), Is.True);
        Assert.That(bins.EnumerateObject().Sum(b => b.Value.GetInt64()), Is.EqualTo(read.GetProperty("clat_ns").GetProperty("N").GetInt64()));
        Assert.That(read.GetProperty("lat_ns").TryGetProperty("percentile", out _), Is.False, "lat_percentiles is off by default");
        Assert.That(read.GetProperty("slat_ns").TryGetProperty("bins", out _), Is.False);
    }

    [Test]
    public void Disabled_measurements_report_zero_as_fio_does()
    {
        var run = CliRunner.Run("bench", "--device=mem:size=8M", "--runtime=200ms", "--progress=0", "--output-format=json", "--gtod_reduce=1", "--pin=0");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        var read = Job(run.Stdout).GetProperty("read");
        Assert.That(read.GetProperty("total_ios").GetInt64(), Is.GreaterThan(0));
        Assert.That(read.GetProperty("clat_ns").GetProperty("N").GetInt64(), Is.Zero);
        Assert.That(read.GetProperty("bw_samples").GetInt64(), Is.Zero);
    }

    [Test]
    public void Group_summary_lines_cover_only_the_jobs_that_ran_the_direction()
    {
        var run = CliRunner.Run("bench", "--device=mem:size=16M", "--progress=0", "--runtime=300ms", "--iodepth=4", "--pin=0",
            "--name=r", "--rw=randread", "--name=w", "--rw=write");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        string read = run.Stdout.Split('\n').Single(l => l.TrimStart().StartsWith("READ:"));
        Assert.That(read, Does.Not.Contain("0B/s-").And.Not.Contain("run=0-"), "the writer did no reads: fio leaves it out");
    }

    [Test]
    public void Kb_base_1000_reads_k_as_a_thousand()
    {
        var o = BenchOptionParser.Parse(["--kb_base=1000", "--size=1m", "--bs=4KiB"]);
        Assert.That((o.SizeBytes, o.BlockSizes.Read.Min), Is.EqualTo(((long?)1_000_000, 4096)));
    }
}
