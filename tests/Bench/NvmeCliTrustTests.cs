using System.IO.Hashing;
using NUnit.Framework;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// Issue 10 §4's guarantees on the nvme-cli-style tools, the new commands included: the device
/// string and every option are checked before anything opens, checks that need the namespace run
/// before an image is created or re-laid, writes to a write-protected namespace are refused up
/// front, inputs and outputs are checked before any I/O (outputs never the device's image), and
/// every failure is one line with exit 1 or 2.
/// </summary>
[TestFixture]
public class NvmeCliTrustTests
{
    private static void AssertOneLine(ToolConsoleRunner.Outcome run, int exitCode, string contains)
    {
        Assert.That(run.ExitCode, Is.EqualTo(exitCode), run.ToString());
        Assert.That(run.Stderr, Does.Contain(contains), run.ToString());
        Assert.That(run.Stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1), $"one line: {run.Stderr}");
        CliRunner.AssertNoStackTrace(run.Stderr);
        if (exitCode == 2)
            Assert.That(run.Stdout, Is.Empty, "a usage error comes before any output");
    }

    private static ulong HashOf(string image) => XxHash3.HashToUInt64([.. File.ReadAllBytes(image), .. File.ReadAllBytes(image + ".pnvmefmt")]);

    /// <summary>An image with data in its first blocks (so a format or a re-lay would show).</summary>
    private static string ImageWithData(TempFiles files, out string device)
    {
        string image = CliRunner.TempImage(files);
        device = $"emu:{image},lbads=512,size=1M";
        var write = ToolConsoleRunner.Run(Enumerable.Repeat((byte)0x5A, 8 * 512).ToArray(), false, [], "write", device, "-c", "7");
        Assert.That(write.ExitCode, Is.EqualTo(0), write.ToString());
        return image;
    }

    [Test]
    public void Format_asks_before_an_image_is_relaid_by_format_1()
    {
        // Opening emu:...,format=1 erases the image: the confirmation must come before it, not after.
        using var files = new TempFiles();
        string image = ImageWithData(files, out string device);
        ulong before = HashOf(image);
        AssertOneLine(ToolConsoleRunner.Run("format", device + ",format=1"), 2, "--force: formatting namespace 1");
        Assert.That(HashOf(image), Is.EqualTo(before), "no terminal: the image is not re-laid");
        var declined = ToolConsoleRunner.Run(null, interactive: true, ["n"], "format", device + ",format=1");
        Assert.That(declined.ExitCode, Is.EqualTo(1), declined.ToString());
        Assert.That(declined.Stderr, Does.Contain("nothing was changed"));
        Assert.That(HashOf(image), Is.EqualTo(before), "declined: the image is not re-laid");
        var confirmed = ToolConsoleRunner.Run(null, interactive: true, ["y"], "format", device + ",format=1");
        Assert.That(confirmed.ExitCode, Is.EqualTo(0), confirmed.ToString());
        Assert.That(ToolConsoleRunner.Run("read", device).Stdout, Is.All.Zero);
    }

    [TestCase("verify", "-s", "4096")]
    [TestCase("write-zeroes", "-s", "4096")]
    [TestCase("read", "-s", "4096")]
    [TestCase("compare", "-s", "4096")]
    [TestCase("dsm", "--slbs", "4096", "--blocks", "1", "--ad")]
    [TestCase("flush", "-n", "2")]
    [TestCase("nvm-id-ns", "-n", "2")]
    [TestCase("format", "--lbaf", "63")]
    [TestCase("admin-passthru", "-o", "6", "--cdw10", "1", "-l", "131072", "-r")]
    [TestCase("io-passthru", "-o", "2", "-n", "1", "-l", "4194304", "-r")]
    [TestCase("get-feature", "-f", "1", "-l", "131072")]
    [TestCase("write", "-c", "7")]   // stdin holds one block of the eight
    public void Checks_that_need_the_namespace_run_before_an_image_is_created_or_relaid(params string[] options)
    {
        using var files = new TempFiles();
        string fresh = CliRunner.TempImage(files);
        var run = ToolConsoleRunner.Run(new byte[512], false, [], [options[0], $"emu:{fresh},lbads=512,size=1M,mdts=9", .. options[1..]]);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(File.Exists(fresh), Is.False, "not created");

        string image = ImageWithData(files, out string device);
        ulong before = HashOf(image);
        run = ToolConsoleRunner.Run(new byte[512], false, [], [options[0], device + ",format=1,mdts=9", .. options[1..], .. options[0] == "format" ? ["--force"] : Array.Empty<string>()]);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(HashOf(image), Is.EqualTo(before), "not re-laid");
    }

    [Test]
    public void A_write_protected_namespace_refuses_writes_up_front_and_serves_the_rest()
    {
        using var files = new TempFiles();
        string image = ImageWithData(files, out string device);
        ulong before = HashOf(image);
        string ro = device + ",ro=1";
        var block = new byte[512];
        AssertOneLine(ToolConsoleRunner.Run(block, false, [], "write", ro), 2, "--device: namespace 1 is write protected (ro=1), and write writes it");
        AssertOneLine(ToolConsoleRunner.Run("write-zeroes", ro), 2, "and write-zeroes writes it");
        AssertOneLine(ToolConsoleRunner.Run("dsm", ro, "-s", "0", "-b", "1", "-d"), 2, "and dsm --ad writes it");
        AssertOneLine(ToolConsoleRunner.Run("dsm", ro, "-s", "0", "-b", "1", "--cdw11=4"), 2, "and dsm --ad writes it");
        AssertOneLine(ToolConsoleRunner.Run("format", ro, "--force"), 2, "and format writes it");
        // The raw path sends what it is given: the controller refuses it (exit 1), the image keeps its data.
        AssertOneLine(ToolConsoleRunner.Run(block, false, [], "io-passthru", ro, "-o", "1", "-n", "1", "-l", "512"), 1, "NamespaceIsWriteProtected");

        Assert.That(ToolConsoleRunner.Run("read", ro, "-c", "7").Stdout, Is.All.EqualTo((byte)0x5A), "read");
        Assert.That(ToolConsoleRunner.Run(Enumerable.Repeat((byte)0x5A, 512).ToArray(), false, [], "compare", ro).ExitCode, Is.EqualTo(0), "compare");
        Assert.That(ToolConsoleRunner.Run("verify", ro, "-c", "7").ExitCode, Is.EqualTo(0), "verify");
        Assert.That(ToolConsoleRunner.Run("flush", ro).ExitCode, Is.EqualTo(0), "flush");
        Assert.That(ToolConsoleRunner.Run("dsm", ro, "-s", "0", "-b", "1", "--idr").ExitCode, Is.EqualTo(0), "a hint writes nothing");
        Assert.That(HashOf(image), Is.EqualTo(before), "the image and its record are unchanged");
    }

    [Test]
    public void Inputs_that_are_directories_or_missing_are_usage_errors_naming_the_option()
    {
        string dir = Directory.CreateTempSubdirectory("pnvme-inputs-").FullName;
        try
        {
            string missing = Path.Combine(dir, "missing.bin");
            AssertOneLine(ToolConsoleRunner.Run("write", "mem:size=1M", "-d", dir), 2, $"--data: '{dir}' is a directory");
            AssertOneLine(ToolConsoleRunner.Run("compare", "mem:pi=1,ms=8,size=1M", "-d", missing), 2, $"--data: '{missing}' does not exist");
            AssertOneLine(ToolConsoleRunner.Run("compare", "mem:pi=1,ms=8,size=1M", "-M", dir, "-d", missing), 2, "--data:");
            AssertOneLine(ToolConsoleRunner.Run("set-feature", "mem:size=1M", "-f", "0x0e", "-d", dir), 2, $"--data: '{dir}' is a directory");
            AssertOneLine(ToolConsoleRunner.Run("io-passthru", "mem:size=1M", "-o", "1", "-n", "1", "-l", "512", "-i", dir), 2, $"--input-file: '{dir}' is a directory");
            AssertOneLine(ToolConsoleRunner.Run("admin-passthru", "mem:size=1M", "-o", "0x09", "-l", "512", "-w", "-i", missing), 2, $"--input-file: '{missing}' does not exist");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Outputs_are_checked_before_the_command_and_created_only_by_its_success()
    {
        string dir = Directory.CreateTempSubdirectory("pnvme-outputs-").FullName;
        try
        {
            string nowhere = Path.Combine(dir, "no", "such", "out.bin");
            AssertOneLine(ToolConsoleRunner.Run("read", "mem:size=1M", "-d", nowhere), 2, "--data: the directory");
            AssertOneLine(ToolConsoleRunner.Run("admin-passthru", "mem:size=1M", "-o", "6", "--cdw10=1", "-l", "4096", "-r", "-i", dir), 2, $"--input-file: '{dir}' is a directory");
            AssertOneLine(ToolConsoleRunner.Run("admin-passthru", "mem:size=1M", "-o", "6", "--cdw10=1", "-l", "4096", "-r", "-i", nowhere), 2, "--input-file: the directory");

            string page = Path.Combine(dir, "identify.bin");
            var identify = ToolConsoleRunner.Run("admin-passthru", "mem:size=1M", "-o", "6", "--cdw10=1", "-l", "4096", "-r", "-i", page);
            Assert.That(identify.ExitCode, Is.EqualTo(0), identify.ToString());
            Assert.That(new FileInfo(page).Length, Is.EqualTo(4096), "the Identify Controller page");

            // The controller refuses the command: the output it would have filled is not left behind.
            string refused = Path.Combine(dir, "refused.bin");
            AssertOneLine(ToolConsoleRunner.Run("admin-passthru", "mem:size=1M", "-o", "0xc2", "-l", "4096", "-r", "-i", refused), 1, "InvalidCommandOpcode");
            Assert.That(File.Exists(refused), Is.False, "no empty file created by a failed command");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Read_into_a_device_node_writes_it_without_truncating()
    {
        // An output is opened before the command and truncated when its data arrives; /dev/null has no
        // length to truncate (truncating it failed with "Invalid argument", exit 1).
        var run = ToolConsoleRunner.Run("read", "mem:size=1M", "-c", "7", "-d", "/dev/null");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(run.Stderr, Does.Contain("read: Success"));
    }

    [Test]
    public void Admin_transfers_beyond_what_the_admin_queue_carries_are_usage_errors()
    {
        // MDTS 2 MiB; the admin queue's PRP lists hold 64 KiB (before: an unexpected ArgumentOutOfRangeException, exit 1).
        const string device = "mem:size=1M,mdts=9";
        AssertOneLine(ToolConsoleRunner.Run("admin-passthru", device, "-o", "2", "--cdw10=0x7fff0002", "-l", "131072", "-r"), 2, "--data-len: 131072 bytes is more than one admin command transfers on this controller (65536)");
        AssertOneLine(ToolConsoleRunner.Run("get-feature", device, "-f", "1", "-l", "131072"), 2, "--data-len:");
        var log = ToolConsoleRunner.Run("get-log", device, "-i", "2", "-l", "131072", "--ot");
        Assert.That(log.ExitCode, Is.EqualTo(0), "read in two pieces of 64 KiB: " + log.ToString());
    }

    [Test]
    public void An_asynchronous_event_request_through_passthru_is_refused_instead_of_waiting_for_the_timeout()
        => AssertOneLine(ToolConsoleRunner.Run("admin-passthru", "mem:size=1M", "-o", "0x0c"), 2, "--opcode: 0x0c is Asynchronous Event Request");

    [Test]
    public void A_doorbell_buffer_config_through_passthru_is_refused_it_would_point_the_controller_at_a_freed_buffer()
        => AssertOneLine(ToolConsoleRunner.Run("admin-passthru", "mem:size=1M,dbbuf=1", "-o", "0x7c", "-l", "8192", "-r"), 2, "--opcode: 0x7c is Doorbell Buffer Config");

    [TestCase("mem:lbads=1000", "--device: 'mem:lbads=1000': lbads")]
    [TestCase("uring:/tmp/x", "--device: uring: is the kernel's io_uring path")]
    [TestCase("pci:zzz", "--device: 'pci:zzz' is not a PCI address")]
    [TestCase("frob:1", "unknown kind 'frob:'")]
    public void A_malformed_positional_device_is_a_usage_error_naming_the_key(string device, string message)
    {
        foreach (string command in new[] { "id-ctrl", "smart-log", "error-log", "get-feature", "flush" })
            AssertOneLine(ToolConsoleRunner.Run(command, device), 2, message);
    }
}
