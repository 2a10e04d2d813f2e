using PolledNvme.Queues;
using System.IO.Hashing;
using NUnit.Framework;
using PolledNvme.Bench;
using PolledNvme.Bench.Run;
using PolledNvme.Emulation;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// The cases issue 10 §4 found, each through <see cref="Cli.Run(string[], TextWriter, TextWriter)"/>:
/// before, a stack trace (exit 134), a wrong exit code, a wrong flag blamed, or I/O that should
/// never have started; now one line naming the flag or key and the documented exit code.
/// </summary>
[TestFixture]
public class CliTrustTests
{
    private static void AssertOneLine(CliRunner.Outcome run, int exitCode, string contains)
    {
        Assert.That(run.ExitCode, Is.EqualTo(exitCode), run.Stderr);
        Assert.That(run.Stderr, Does.Contain(contains));
        Assert.That(run.Stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1), $"one line: {run.Stderr}");
        CliRunner.AssertNoStackTrace(run.Stderr);
    }

    [Test]
    public void A_malformed_pci_address_is_a_usage_error()
    {
        var run = CliRunner.Run("id-ctrl", "--device", "pci:zzz");
        AssertOneLine(run, 2, "pnvme id-ctrl: --device: 'pci:zzz' is not a PCI address");
    }

    [Test]
    public void A_damaged_format_record_exits_1_naming_the_record()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        Assert.That(CliRunner.Run("id-ns", $"--device=emu:{image},size=1M").ExitCode, Is.EqualTo(0));
        string record = image + ".pnvmefmt";
        byte[] bytes = File.ReadAllBytes(record);
        bytes[10] ^= 0xFF;
        File.WriteAllBytes(record, bytes);
        var run = CliRunner.Run("id-ns", $"--device=emu:{image}");
        AssertOneLine(run, 1, record);
        Assert.That(run.Stderr, Does.StartWith("pnvme id-ns: "));
    }

    [TestCase("--output")]
    [TestCase("--plot")]
    public void An_output_in_a_missing_directory_is_refused_before_the_run(string flag)
    {
        string path = Path.Combine(Path.GetTempPath(), $"pnvme-missing-{Guid.NewGuid():N}", "report.png");
        var run = CliRunner.Run("bench", "--device=mem:size=1M", "--runtime=1s", "--progress=0", $"{flag}={path}");
        AssertOneLine(run, 2, $"{flag}: the directory");
        Assert.That(run.Stdout, Is.Empty, "no header: nothing ran");
    }

    [TestCase("--output")]
    [TestCase("--plot")]
    public void An_output_that_is_a_directory_is_refused_before_the_run(string flag)
    {
        string root = Directory.CreateTempSubdirectory("pnvme-out-").FullName;
        string dir = Directory.CreateDirectory(Path.Combine(root, flag == "--plot" ? "plot.png" : "report")).FullName;
        try
        {
            var run = CliRunner.Run("bench", "--device=mem:size=1M", "--runtime=1s", "--progress=0", $"{flag}={dir}");
            AssertOneLine(run, 2, $"{flag}: '{dir}' is a directory");
            Assert.That(run.Stdout, Is.Empty);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public void An_unwritable_output_is_refused_before_the_run()
    {
        // /proc is read-only for everyone, root included: creating a file there fails like on a read-only mount.
        var run = CliRunner.Run("bench", "--device=mem:size=1M", "--runtime=1s", "--progress=0", "--output=/proc/pnvme-report.txt");
        AssertOneLine(run, 2, "--output: '/proc/pnvme-report.txt' cannot be written");
        Assert.That(run.Stdout, Is.Empty);
    }

    [TestCase("99999999999999999999999p")]
    [TestCase("9999999999999999999999999999999")]
    [TestCase("8192p")]
    public void A_size_that_overflows_is_a_usage_error(string size)
    {
        var run = CliRunner.Run("bench", "--device=mem:size=1M", $"--size={size}", "--progress=0");
        AssertOneLine(run, 2, "--size:");
    }

    [Test]
    public void A_ram_namespace_larger_than_memory_is_refused_naming_size_and_what_is_available()
    {
        Assume.That(HostMemory.Available(), Is.Not.Null.And.LessThan(1L << 40), "needs a machine with less than 1 TiB available");
        var run = CliRunner.Run("bench", "--device=mem:size=1T", "--runtime=10ms", "--progress=0");
        AssertOneLine(run, 2, "--device: 'mem:size=1T': size: the RAM namespace (268435456 blocks of 4096+0 bytes) needs 1 TiB");
        Assert.That(run.Stderr, Does.Contain("this machine has available (MemAvailable + SwapFree"));
    }

    [Test]
    public void Buffers_beyond_memory_are_refused_naming_iodepth()
    {
        Assume.That(HostMemory.Available(), Is.Not.Null.And.LessThan(64L << 30), "needs a machine with less than 64 GiB available");
        var run = CliRunner.Run("bench", "--device=null:mqes=65536,qpairs=64,mdts=10", "--bs=4m", "--iodepth=4096", "--numjobs=2", "--runtime=10ms", "--progress=0");
        AssertOneLine(run, 2, "--iodepth: 2 job(s) x --iodepth 4096 x --bs 4194304 (DMA and host buffers) needs 64 GiB");
    }

    [Test]
    public void Crc_streams_a_block_size_larger_than_the_file_without_allocating_it()
    {
        using var files = new TempFiles();
        string path = files.New();
        byte[] data = new byte[100_000];
        new Random(7).NextBytes(data);
        File.WriteAllBytes(path, data);
        CliRunner.Run("crc", "--algo", "crc32c", "--block-size", "4096", path);   // warm up (JIT, statics)
        long before = GC.GetAllocatedBytesForCurrentThread();
        var run = CliRunner.Run("crc", "--algo", "crc32c", "--block-size", "2147483647", path);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        Assert.That(run.Stdout.Trim(), Is.EqualTo(Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data).ToString("x8")));
        Assert.That(allocated, Is.LessThan(4L << 20), "one bounded read buffer, not the block size");
    }

    [Test]
    public void Crc_chains_blocks_larger_than_its_read_buffer()
    {
        // 3.5 MiB blocks over a 1 MiB buffer: each block's CRC is continued across reads; the last block is short.
        using var files = new TempFiles();
        string path = files.New();
        byte[] data = new byte[9_000_000];
        new Random(8).NextBytes(data);
        File.WriteAllBytes(path, data);
        const int block = 3_670_016;
        var run = CliRunner.Run("crc", "--algo", "crc64nvme", "--block-size", block.ToString(), path);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        string[] lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(3));
        for (int i = 0; i < lines.Length; i++)
        {
            int length = Math.Min(block, data.Length - i * block);
            Assert.That(lines[i], Is.EqualTo(Crc64.HashToUInt64(Crc64ParameterSet.Nvme, data.AsSpan(i * block, length)).ToString("x16")), $"block {i}");
        }
    }

    [Test]
    public void Offset_plus_size_that_overflows_is_refused_before_any_io()
    {
        // Before: 4096 + 9223372036854771712 wrapped negative, passed the check and ran I/O beyond the namespace.
        var run = CliRunner.Run("bench", "--device=mem:size=1M", "--offset=4k", "--size=9223372036854771712", "--runtime=10ms", "--progress=0");
        AssertOneLine(run, 2, "--size: offset 4096 + size 9223372036854771712 goes beyond the end of the namespace");
        Assert.That(run.Stdout, Is.Empty);
    }

    [TestCase("--verify")]
    [TestCase("--verify_only")]
    public void Verify_on_a_device_that_keeps_no_data_is_refused(string flag)
    {
        // Before: ran, and reported thousands of verify errors.
        var run = CliRunner.Run("bench", "--device=null:size=16M", flag, "--runtime=10ms", "--progress=0");
        AssertOneLine(run, 2, $"{flag}: the device keeps no data");
        Assert.That(run.Stdout, Is.Empty);
    }

    [Test]
    public void Crc_algo_twice_is_refused()
    {
        using var files = new TempFiles();
        string path = files.New();
        File.WriteAllBytes(path, [1, 2, 3]);
        AssertOneLine(CliRunner.Run("crc", "--algo", "crc32c", "--algo", "t10dif", path), 2, "--algo: given more than once");
    }

    [Test]
    public void Read_into_a_directory_is_refused_before_the_io_naming_data()
    {
        string dir = Directory.CreateTempSubdirectory("pnvme-read-").FullName;
        try
        {
            var run = CliRunner.Run("read", "--device=mem:size=1M", "-s", "0", "-d", dir);
            AssertOneLine(run, 2, $"--data: '{dir}' is a directory");
            Assert.That(run.Stdout, Is.Empty, "no 'read: Success'");
            run = CliRunner.Run("read", "--device=mem:pi=1,ms=8,size=1M", "-s", "0", "-d", Path.Combine(dir, "d.bin"), "-M", dir);
            AssertOneLine(run, 2, $"--metadata: '{dir}' is a directory");
            run = CliRunner.Run("write", "--device=mem:size=1M", "-s", "0", "-d", dir);
            AssertOneLine(run, 2, $"--data: '{dir}' is a directory");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Read_with_data_and_metadata_in_the_same_file_is_refused()
    {
        using var files = new TempFiles();
        string path = files.New();
        var run = CliRunner.Run("read", "--device=mem:pi=1,ms=8,size=1M", "-s", "0", "-d", path, "-M", path);
        AssertOneLine(run, 2, "--metadata: ");
        Assert.That(run.Stderr, Does.Contain("is also the --data file"));
    }

    [Test]
    public void A_malformed_value_of_a_block_tool_is_refused_before_the_image_is_created()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        var run = CliRunner.Run("write-zeroes", $"--device=emu:{image},size=1M", "--prinfo=99");
        AssertOneLine(run, 2, "--prinfo:");
        Assert.That(File.Exists(image), Is.False, "nothing was opened");
    }

    [Test]
    public void Writes_to_a_write_protected_namespace_are_refused_before_any_io()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        Assert.That(CliRunner.Run("bench", $"--device=emu:{image},size=1M", "--rw=write", "--size=64k", "--progress=0", "--pin=0").ExitCode, Is.EqualTo(0));
        byte[] before = [.. File.ReadAllBytes(image), .. File.ReadAllBytes(image + ".pnvmefmt")];
        string device = $"--device=emu:{image},ro=1";
        string data = files.New();
        File.WriteAllBytes(data, new byte[4096]);
        AssertOneLine(CliRunner.Run("bench", device, "--rw=randwrite", "--runtime=10ms", "--progress=0"), 2, "--rw: the namespace is write protected (ro=1)");
        AssertOneLine(CliRunner.Run("bench", device, "--rw=read", "--verify", "--runtime=10ms", "--progress=0"), 2, "--verify: the namespace is write protected (ro=1)");
        AssertOneLine(CliRunner.Run("write", device, "-s", "0", "-d", data), 2, "--device: namespace 1 is write protected (ro=1), and write writes it");
        AssertOneLine(CliRunner.Run("write-zeroes", device, "-s", "0"), 2, "and write-zeroes writes it");
        AssertOneLine(CliRunner.Run("dsm", device, "--ad", "-s", "0", "-b", "1"), 2, "and dsm --ad writes it");
        AssertOneLine(CliRunner.Run("format", device, "--lbaf=0"), 2, "and format writes it");
        byte[] after = [.. File.ReadAllBytes(image), .. File.ReadAllBytes(image + ".pnvmefmt")];
        Assert.That(after, Is.EqualTo(before), "the image and its record are unchanged");
        var read = CliRunner.Run("bench", device, "--rw=read", "--size=64k", "--progress=0", "--pin=0");
        Assert.That(read.ExitCode, Is.EqualTo(0), "reading a write-protected namespace is fine: " + read.Stderr);
    }

    [Test]
    public void Flags_that_do_not_fit_a_new_or_relaid_image_leave_the_file_untouched()
    {
        // Opening emu: with format=1 re-lays the image: the flags are checked on a probe first.
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        Assert.That(CliRunner.Run("bench", $"--device=emu:{image},size=1M", "--rw=write", "--size=64k", "--progress=0", "--pin=0").ExitCode, Is.EqualTo(0));
        byte[] before = File.ReadAllBytes(image);
        AssertOneLine(CliRunner.Run("bench", $"--device=emu:{image},size=1M,format=1", "--bs=6k", "--progress=0"), 2, "--bs:");
        AssertOneLine(CliRunner.Run("write-zeroes", $"--device=emu:{image},size=1M,format=1", "-C"), 2, "--storage-tag-check:");
        AssertOneLine(CliRunner.Run("format", $"--device=emu:{image},size=1M,format=1", "--lbaf=63"), 2, "--lbaf:");
        Assert.That(File.ReadAllBytes(image), Is.EqualTo(before), "not re-laid");
        string fresh = files.New(".img");
        AssertOneLine(CliRunner.Run("id-ns", $"--device=emu:{fresh},size=1M", "--namespace-id=2"), 2, "--namespace-id:");
        Assert.That(File.Exists(fresh), Is.False, "not created");
    }

    [Test]
    public void A_uring_file_is_laid_out_only_after_the_flags_were_checked()
    {
        using var files = new TempFiles();
        string file = files.New();
        AssertOneLine(CliRunner.Run("bench", $"--device=uring:{file},size=1M", "--pract", "--progress=0"), 2, "--pract:");
        Assert.That(File.Exists(file), Is.False, "not created");
        var run = CliRunner.Run("bench", $"--device=uring:{file},size=1M", "--rw=read", "--size=64k", "--progress=0", "--pin=0");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        Assert.That(new FileInfo(file).Length, Is.EqualTo(1 << 20));
    }

    [Test]
    public void An_unknown_command_is_one_line_and_exit_2()
    {
        AssertOneLine(CliRunner.Run("frobnicate"), 2, "pnvme: 'frobnicate': is not a pnvme command");
    }

    [Test]
    public void Usage_errors_are_one_line_with_where_to_look()
    {
        var run = CliRunner.Run("bench", "--bs=6x");
        AssertOneLine(run, 2, "pnvme bench: --bs: '6x' has an unknown suffix");
        Assert.That(run.Stderr, Does.Contain("(see 'pnvme bench --help')"));
    }

    [Test]
    public void Unexpected_exception_types_are_still_one_line_and_exit_1_and_say_how_to_get_the_trace()
    {
        var (code, line) = CliErrors.Describe("bench", new NullReferenceException("boom"));
        Assert.That(code, Is.EqualTo(1));
        Assert.That(line, Is.EqualTo("pnvme bench: unexpected NullReferenceException: boom (set PNVME_DEBUG=1 for the stack trace, and please report it)"));
        (code, line) = CliErrors.Describe("id-ns", new TypeInitializationException("X", new IOException("disk\ngone")));
        Assert.That((code, line), Is.EqualTo((1, "pnvme id-ns: disk gone")), "unwrapped, one line");
    }

    [Test]
    public void A_stop_request_ends_the_run_with_a_report_and_exit_1()
    {
        // What SIGINT/SIGTERM/SIGHUP do through the signal handler; the process test sends the real signals.
        var stop = new StopRequest();
        using var timer = new Timer(_ => stop.Request("SIGTERM"), null, 200, Timeout.Infinite);
        var run = CliRunner.Run(stop, "bench", "--device=mem:pi=1,ms=8,size=16M", "--runtime=1h", "--progress=0", "--pin=0");
        Assert.That(run.ExitCode, Is.EqualTo(1), run.Stderr);
        Assert.That(run.Stdout, Does.Contain("read: IOPS=").And.Contain("Run status group"), "the report of what ran");
        Assert.That(run.Stderr, Does.StartWith("pnvme bench: stopped by SIGTERM after "));
    }

    [Test]
    public void A_stop_request_during_the_verify_layout_measures_nothing_and_reports_no_false_errors()
    {
        // Whether the stop lands in the lay-out or before it, nothing half-laid-out may be read back as errors.
        var stop = new StopRequest();
        using var timer = new Timer(_ => stop.Request("SIGINT"), null, 20, Timeout.Infinite);
        var run = CliRunner.Run(stop, "bench", "--device=mem:size=64M", "--verify", "--runtime=1h", "--progress=0", "--pin=0");
        Assert.That(run.ExitCode, Is.EqualTo(1), run.Stderr);
        Assert.That(run.Stderr, Does.Contain("stopped by SIGINT"));
        Assert.That(run.Stderr, Does.Not.Contain("verify errors").And.Not.Contain("errors found"));
    }
}
