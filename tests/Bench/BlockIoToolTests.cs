using NUnit.Framework;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// read, write, compare, verify and flush as nvme-cli runs them: positional device, -z/-y checked
/// against the transfer, data through stdin/stdout byte for byte, --show-command/--dry-run/--latency.
/// </summary>
[TestFixture]
public class BlockIoToolTests
{
    private static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        // Bytes a text path would mangle: CR, LF, CR LF, NUL, ^Z, 0xFF, and a UTF-8 lead byte alone.
        byte[] awkward = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x1A, 0xFF, 0xC3];
        awkward.CopyTo(data, 0);
        return data;
    }

    [Test]
    public void An_nvme_cli_read_line_runs_unchanged()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=512,size=1M";
        string input = files.New();
        string output = files.New();
        byte[] data = Pattern(4096, 1);
        File.WriteAllBytes(input, data);

        // The line from the issue: device first, -c 7 (eight 512-byte blocks), -z 4096.
        var write = ToolConsoleRunner.Run("write", device, "-s", "0", "-c", "7", "-z", "4096", "-d", input);
        Assert.That(write.ExitCode, Is.EqualTo(0), write.ToString());
        var read = ToolConsoleRunner.Run("read", device, "-s", "0", "-c", "7", "-z", "4096", "-d", output);
        Assert.That(read.ExitCode, Is.EqualTo(0), read.ToString());
        Assert.That(read.Stderr.Trim(), Is.EqualTo("read: Success"));
        Assert.That(read.Stdout, Is.Empty, "with -d nothing but the data file is written");
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(data));
    }

    [Test]
    public void Data_goes_through_stdin_and_stdout_byte_for_byte()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=4096,size=1M";
        byte[] data = Pattern(3 * 4096, 2);

        var write = ToolConsoleRunner.Run(data, false, [], "write", device, "-s", "5", "-c", "2", "-z", "12k");
        Assert.That(write.ExitCode, Is.EqualTo(0), write.ToString());
        var read = ToolConsoleRunner.Run("read", device, "-s", "5", "-c", "2", "-z", "12288");
        Assert.That(read.ExitCode, Is.EqualTo(0), read.ToString());
        Assert.That(read.Stdout, Is.EqualTo(data), "stdout carries exactly the data");
        Assert.That(read.Stderr, Does.Contain("read: Success"), "messages go to stderr");
    }

    [Test]
    public void Pipes_of_a_real_process_carry_binary_data()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=512,ms=8,pi=1,size=1M";
        byte[] data = Pattern(4 * 512, 3);

        var write = ToolConsoleRunner.RunProcess(data, "write", device, "-s", "8", "-c", "3", "-p", "8");
        Assert.That(write.ExitCode, Is.EqualTo(0), write.ToString());
        Assert.That(write.Stdout, Is.Empty);
        var read = ToolConsoleRunner.RunProcess([], "read", device, "-s", "8", "-c", "3", "-p", "0xf", "-r", "8");
        Assert.That(read.ExitCode, Is.EqualTo(0), read.ToString());
        Assert.That(read.Stdout, Is.EqualTo(data));
    }

    [Test]
    public void Separate_metadata_follows_the_data_on_stdin_and_stdout_when_y_is_given()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=512,ms=16,size=1M";
        byte[] data = Pattern(2 * 512, 4);
        byte[] meta = Pattern(2 * 16, 5);

        var write = ToolConsoleRunner.Run([.. data, .. meta], false, [], "write", device, "-s", "0", "-c", "1", "-y", "32");
        Assert.That(write.ExitCode, Is.EqualTo(0), write.ToString());
        var read = ToolConsoleRunner.Run("read", device, "-s", "0", "-c", "1", "-z", "1024", "-y", "32");
        Assert.That(read.ExitCode, Is.EqualTo(0), read.ToString());
        Assert.That(read.Stdout, Is.EqualTo(data.Concat(meta).ToArray()));

        string metaFile = files.New();
        var toFile = ToolConsoleRunner.Run("read", device, "-s", "0", "-c", "1", "-M", metaFile);
        Assert.That(toFile.Stdout, Is.EqualTo(data), "with -M only the data is on stdout");
        Assert.That(File.ReadAllBytes(metaFile), Is.EqualTo(meta));

        var neither = ToolConsoleRunner.Run("read", device, "-s", "0", "-c", "1");
        Assert.That(neither.ExitCode, Is.EqualTo(2));
        Assert.That(neither.Stderr, Does.Contain("--metadata: the format keeps metadata in a separate buffer (32 bytes"));
    }

    [Test]
    public void A_short_data_size_is_rounded_up_on_read_and_only_that_much_is_written_out()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=512,size=1M";
        byte[] data = Pattern(1024, 6);
        Assert.That(ToolConsoleRunner.Run(data, false, [], "write", device, "-c", "1").ExitCode, Is.EqualTo(0));

        var read = ToolConsoleRunner.Run("read", device, "-c", "1", "-z", "700");
        Assert.That(read.ExitCode, Is.EqualTo(0), read.ToString());
        Assert.That(read.Stderr, Does.Contain("Rounding data size to fit block count (1024 bytes)"));
        Assert.That(read.Stdout, Is.EqualTo(data[..700]), "nvme-cli writes -z bytes");
    }

    [TestCase("write", "700", "do not cover the 1024")]
    [TestCase("compare", "700", "do not cover the 1024")]
    [TestCase("write", "2048", "more than the 1024")]
    [TestCase("read", "2048", "more than the 1024")]
    public void A_data_size_that_does_not_fit_the_transfer_is_refused(string command, string size, string message)
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=512,size=1M";
        byte[] old = Pattern(1024, 7);
        Assert.That(ToolConsoleRunner.Run(old, false, [], "write", device, "-c", "1").ExitCode, Is.EqualTo(0));

        var run = ToolConsoleRunner.Run(new byte[4096], false, [], command, device, "-c", "1", "-z", size);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Stderr, Does.Contain("--data-size: ").And.Contain(message));
        Assert.That(ToolConsoleRunner.Run("read", device, "-c", "1").Stdout, Is.EqualTo(old), "nothing was written");
    }

    [Test]
    public void On_extended_lba_formats_the_data_size_counts_the_metadata()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=512,ms=8,mset=1,size=1M";
        byte[] blocks = Pattern(2 * 520, 8);
        var write = ToolConsoleRunner.Run(blocks, false, [], "write", device, "-c", "1", "-z", "1040");
        Assert.That(write.ExitCode, Is.EqualTo(0), write.ToString());
        Assert.That(ToolConsoleRunner.Run("read", device, "-c", "1", "-z", "1040").Stdout, Is.EqualTo(blocks));
        var y = ToolConsoleRunner.Run("read", device, "-c", "1", "-y", "16");
        Assert.That(y.ExitCode, Is.EqualTo(2));
        Assert.That(y.Stderr, Does.Contain("--metadata-size: the format is extended LBA"));
    }

    [Test]
    public void Metadata_size_rules_follow_the_data_size_rules()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=512,ms=16,size=1M";
        string meta = files.New();
        File.WriteAllBytes(meta, Pattern(32, 9));
        Assert.That(ToolConsoleRunner.Run(Pattern(1024, 10), false, [], "write", device, "-c", "1", "-M", meta).ExitCode, Is.EqualTo(0));

        var shortWrite = ToolConsoleRunner.Run(Pattern(1024, 10), false, [], "write", device, "-c", "1", "-M", meta, "-y", "16");
        Assert.That(shortWrite.ExitCode, Is.EqualTo(2));
        Assert.That(shortWrite.Stderr, Does.Contain("--metadata-size: 16 bytes do not cover the 32"));
        string back = files.New();
        var shortRead = ToolConsoleRunner.Run("read", device, "-c", "1", "-M", back, "-y", "16");
        Assert.That(shortRead.ExitCode, Is.EqualTo(0), shortRead.ToString());
        Assert.That(shortRead.Stderr, Does.Contain("Rounding metadata size to fit block count (32 bytes)"));
        Assert.That(File.ReadAllBytes(back), Is.EqualTo(File.ReadAllBytes(meta)), "all the metadata, as nvme-cli writes it");
        var noMetadata = ToolConsoleRunner.Run("read", $"emu:{image}x,lbads=512,size=1M", "-y", "8");
        files.Add(image + "x");
        Assert.That(noMetadata.ExitCode, Is.EqualTo(2));
        Assert.That(noMetadata.Stderr, Does.Contain("--metadata-size: the format has no metadata"));
    }

    [Test]
    public void Short_input_is_refused_and_stores_nothing()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=512,size=1M";
        byte[] old = Pattern(1024, 11);
        Assert.That(ToolConsoleRunner.Run(old, false, [], "write", device, "-c", "1").ExitCode, Is.EqualTo(0));
        var run = ToolConsoleRunner.Run(new byte[600], false, [], "write", device, "-c", "1");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("--data: stdin gave 600 bytes; the command needs 1024"));
        Assert.That(ToolConsoleRunner.Run("read", device, "-c", "1").Stdout, Is.EqualTo(old));
    }

    [Test]
    public void Compare_succeeds_on_equal_data_and_fails_by_name_on_a_difference()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=512,size=1M";
        byte[] data = Pattern(1024, 12);
        Assert.That(ToolConsoleRunner.Run(data, false, [], "write", device, "-s", "3", "-c", "1").ExitCode, Is.EqualTo(0));

        var same = ToolConsoleRunner.Run(data, false, [], "compare", device, "-s", "3", "-c", "1", "-z", "1024");
        Assert.That(same.ExitCode, Is.EqualTo(0), same.ToString());
        Assert.That(same.Stderr.Trim(), Is.EqualTo("compare: Success"));
        data[1000] ^= 1;
        var different = ToolConsoleRunner.Run(data, false, [], "compare", device, "-s", "3", "-c", "1");
        Assert.That(different.ExitCode, Is.EqualTo(1));
        Assert.That(different.Stderr, Does.Contain("CompareFailure (SCT 2h, SC 85h"));
    }

    [Test]
    public void Verify_checks_pi_without_moving_data()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=512,ms=8,pi=2,size=1M";
        Assert.That(ToolConsoleRunner.Run(Pattern(2048, 13), false, [], "write", device, "-s", "16", "-c", "3", "-p", "8", "-r", "100").ExitCode, Is.EqualTo(0));

        var good = ToolConsoleRunner.Run("verify", device, "-s", "16", "-c", "3", "-p", "5", "-r", "100");
        Assert.That(good.ExitCode, Is.EqualTo(0), good.ToString());
        Assert.That(good.Text.Trim(), Is.EqualTo("NVME Verify Success"));
        var wrongTag = ToolConsoleRunner.Run("verify", device, "-s", "16", "-c", "3", "-p", "1", "-r", "101");
        Assert.That(wrongTag.ExitCode, Is.EqualTo(1));
        Assert.That(wrongTag.Stderr, Does.Contain("EndToEndReferenceTagCheckError (SCT 2h, SC 84h)"));
        var badShort = ToolConsoleRunner.Run("verify", device, "-g", "1");
        Assert.That(badShort.ExitCode, Is.EqualTo(2), "verify's storage tag is -S, as in nvme-cli");
        Assert.That(badShort.Stderr, Does.Contain("-g: unknown option"));
    }

    [Test]
    public void Flush_reports_success()
    {
        var run = ToolConsoleRunner.Run("flush", "mem:size=1M", "-n", "1");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(run.Text.Trim(), Is.EqualTo("NVMe Flush: success"));
    }

    [Test]
    public void Show_command_and_dry_run_print_the_fields_and_dry_run_sends_nothing()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=512,ms=8,pi=1,size=1M";
        byte[] old = Pattern(512, 14);
        Assert.That(ToolConsoleRunner.Run(old, false, [], "write", device, "-s", "9", "-p", "8").ExitCode, Is.EqualTo(0));
        string input = files.New();
        File.WriteAllBytes(input, new byte[512]);

        var dry = ToolConsoleRunner.Run("write", device, "-s", "9", "-d", input, "-p", "0xd", "-a", "0x42", "-m", "0xffff", "--dry-run");
        Assert.That(dry.ExitCode, Is.EqualTo(0), dry.ToString());
        Assert.That(dry.Text, Does.Contain("opcode       : 01").And.Contain("control      : 3400").And.Contain("slba         : 9")
            .And.Contain("reftag       : 9").And.Contain("apptag       : 0042").And.Contain("appmask      : ffff"));
        Assert.That(ToolConsoleRunner.Run("read", device, "-s", "9", "-p", "8").Stdout, Is.EqualTo(old), "a dry run sends nothing");

        var shown = ToolConsoleRunner.Run("read", device, "-s", "9", "-p", "8", "-v", "-t");
        Assert.That(shown.ExitCode, Is.EqualTo(0), shown.ToString());
        Assert.That(shown.Stdout, Is.EqualTo(old), "with the data on stdout, the listing and latency go to stderr");
        Assert.That(shown.Stderr, Does.Contain("opcode       : 02").And.Contain(" latency: read: "));
    }

    [TestCase("-f", "--force-unit-access")]
    [TestCase("-l", "--limited-retry")]
    [TestCase("--dir-type=1", "--dir-type")]
    [TestCase("--dsm=2", "--dsm")]
    public void Options_the_block_api_cannot_carry_are_refused_by_name(string option, string name)
    {
        var run = ToolConsoleRunner.Run(new byte[4096], false, [], "write", "mem:size=1M", option);
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain($"{name}: is not supported").And.Contain("io-passthru"));
    }

    [Test]
    public void An_app_tag_check_with_nvme_clis_default_mask_says_it_compares_nothing()
    {
        var run = ToolConsoleRunner.Run("read", "mem:lbads=512,ms=8,pi=1,size=1M", "-p", "2", "-a", "0x1234", "-y", "8");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(run.Stderr, Does.Contain("--app-tag-mask is 0"));

        // Printed only once every check passed: a usage error stays one line.
        var refused = ToolConsoleRunner.Run("read", "mem:lbads=512,ms=8,pi=1,size=1M", "-p", "2", "-a", "0x1234");
        Assert.That(refused.ExitCode, Is.EqualTo(2));
        Assert.That(refused.Stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1), refused.Stderr);
    }

    [Test]
    public void Json_report_needs_a_data_file()
    {
        var run = ToolConsoleRunner.Run("read", "mem:size=1M", "-o", "json");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("--output-format: json needs -d FILE"));
    }
}
