using System.Text;
using System.Text.Json;
using NUnit.Framework;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// The admin-side tools as nvme-cli runs them: id-ctrl/id-ns raw and decoded, smart-log,
/// error-log, get-log, get-feature, set-feature, admin-passthru and io-passthru, format's
/// confirmation, and dsm with range lists.
/// </summary>
[TestFixture]
public class AdminToolTests
{
    private const string Mem = "mem:lbads=512,ms=8,pi=1,size=1M";

    [Test]
    public void Raw_binary_gives_the_identify_pages_as_they_are()
    {
        var ctrl = ToolConsoleRunner.Run("id-ctrl", Mem, "-b");
        Assert.That(ctrl.ExitCode, Is.EqualTo(0), ctrl.ToString());
        Assert.That(ctrl.Stdout, Has.Length.EqualTo(4096));
        Assert.That(Encoding.ASCII.GetString(ctrl.Stdout, 24, 30), Is.EqualTo("PolledNvme emulated controller"));
        Assert.That(ToolConsoleRunner.Run("id-ctrl", Mem, "-o", "binary").Stdout, Is.EqualTo(ctrl.Stdout));
        var ns = ToolConsoleRunner.Run("id-ns", Mem, "-b");
        Assert.That(ns.Stdout, Has.Length.EqualTo(4096));
        Assert.That(BitConverter.ToUInt64(ns.Stdout, 0), Is.EqualTo(2048UL), "NSZE");
    }

    [Test]
    public void Human_readable_decodes_the_bit_fields()
    {
        var run = ToolConsoleRunner.Run("id-ctrl", Mem, "-H");
        Assert.That(run.Text, Does.Contain("oncs      : 0x8d\n").And.Contain("  [7:7] : 0x1\tVerify Supported")
            .And.Contain("  [0:0] : 0x1\tCompare Supported").And.Contain("  [15:15] : 0x1\tExtended LBA Formats Supported")
            .And.Contain(" [15:0] : 70°C (343 Kelvin)\tWarning Composite Temperature Threshold (WCTEMP)"));
        var vs = ToolConsoleRunner.Run("id-ctrl", Mem, "--vendor-specific");
        Assert.That(vs.Text, Does.Contain("vs[]:\n     "), "a hex dump of the vendor specific area follows");
    }

    [Test]
    public void Smart_log_shows_the_health_page_in_text_and_json()
    {
        var text = ToolConsoleRunner.Run("smart-log", Mem);
        Assert.That(text.ExitCode, Is.EqualTo(0), text.ToString());
        Assert.That(text.Text, Does.StartWith($"Smart Log for NVME device:{Mem} namespace-id:ffffffff\n")
            .And.Contain("temperature\t\t\t\t: 40°C (313 Kelvin)").And.Contain("available_spare\t\t\t\t: 100%"));
        var json = ToolConsoleRunner.Run("smart-log", Mem, "-o", "json", "-H");
        using var doc = JsonDocument.Parse(json.Text);
        Assert.That(doc.RootElement.GetProperty("critical_warning").GetProperty("value").GetInt32(), Is.Zero);
        Assert.That(doc.RootElement.GetProperty("power_cycles").GetString(), Is.EqualTo("1"));
        var perNamespace = ToolConsoleRunner.Run("smart-log", Mem, "-n", "1");
        Assert.That(perNamespace.ExitCode, Is.EqualTo(1), "LPA bit 0 is clear: the log is controller-wide");
        Assert.That(perNamespace.Stderr, Does.Contain("InvalidField"));
    }

    [Test]
    public void Error_log_reads_at_most_the_entries_the_controller_keeps()
    {
        var run = ToolConsoleRunner.Run("error-log", Mem, "-o", "json");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        using var doc = JsonDocument.Parse(run.Text);
        Assert.That(doc.RootElement.GetProperty("errors").GetArrayLength(), Is.EqualTo(16), "ELPE + 1, though 64 is the default asked for");
        var raw = ToolConsoleRunner.Run("error-log", Mem, "-e", "2", "-b");
        Assert.That(raw.Stdout, Has.Length.EqualTo(128));
        Assert.That(ToolConsoleRunner.Run("error-log", Mem, "-e", "0").ExitCode, Is.EqualTo(2));
    }

    [Test]
    public void Get_log_dumps_any_page_and_checks_its_arguments()
    {
        var dump = ToolConsoleRunner.Run("get-log", Mem, "-i", "2", "-l", "512");
        Assert.That(dump.ExitCode, Is.EqualTo(0), dump.ToString());
        Assert.That(dump.Text, Does.StartWith($"Device:{Mem} log-id:2 namespace-id:0xffffffff\n       0  1  2"));
        Assert.That(dump.Text, Does.Contain("\n0000: 00 39 01 64 0a"), "critical warning 0, 313 K, 100 %, 10 %");
        var raw = ToolConsoleRunner.Run("get-log", Mem, "--log-id=2", "--log-len=512", "-b");
        Assert.That(raw.Stdout, Is.EqualTo(ToolConsoleRunner.Run("smart-log", Mem, "-b").Stdout));
        var offset = ToolConsoleRunner.Run("get-log", Mem, "-i", "2", "-l", "256", "--lpo", "256", "-b");
        Assert.That(offset.Stdout, Is.EqualTo(raw.Stdout[256..]), "log page offset");

        Assert.That(ToolConsoleRunner.Run("get-log", Mem, "-l", "512").Stderr, Does.Contain("--log-id: is required"));
        Assert.That(ToolConsoleRunner.Run("get-log", Mem, "-i", "2").Stderr, Does.Contain("--log-len: is required"));
        Assert.That(ToolConsoleRunner.Run("get-log", Mem, "-i", "2", "-l", "510").Stderr, Does.Contain("not a multiple of 4"));
        var unknown = ToolConsoleRunner.Run("get-log", Mem, "-i", "0x70", "-l", "512");
        Assert.That(unknown.ExitCode, Is.EqualTo(1));
        Assert.That(unknown.Stderr, Does.Contain("InvalidLogPage"));
    }

    [Test]
    public void Get_feature_prints_one_feature_or_every_one_the_controller_has()
    {
        var vwc = ToolConsoleRunner.Run("get-feature", Mem, "-f", "6", "-H");
        Assert.That(vwc.ExitCode, Is.EqualTo(0), vwc.ToString());
        Assert.That(vwc.Text, Is.EqualTo("get-feature:0x06 (Volatile Write Cache), Current value:0x00000001\n\tVolatile Write Cache Enable (WCE): Enabled\n"));
        var temperature = ToolConsoleRunner.Run("get-feature", Mem, "-f", "4", "-H");
        Assert.That(temperature.Text, Does.Contain("Current value:0x00000157").And.Contain("(TMPTH): 70°C (343 Kelvin)"));
        var caps = ToolConsoleRunner.Run("get-feature", Mem, "-f", "7", "-s", "3");
        Assert.That(caps.Text, Does.Contain("Supported capabilities value:0x00000004\n  Feature is changeable"));

        var all = ToolConsoleRunner.Run("get-feature", Mem);
        Assert.That(all.ExitCode, Is.EqualTo(0), all.ToString());
        string[] lines = all.Text.Split('\n').Where(l => l.StartsWith("get-feature:", StringComparison.Ordinal)).ToArray();
        Assert.That(lines.Select(l => l[12..16]), Is.EqualTo(new[] { "0x01", "0x02", "0x04", "0x05", "0x06", "0x07", "0x08", "0x0a", "0x0b", "0x16" }));
        Assert.That(all.Text, Does.Contain("value:00000000"), "a zero value is printed as nvme-cli's %#08x prints it");

        var hostBehavior = ToolConsoleRunner.Run("get-feature", Mem, "-f", "0x16", "-b");
        Assert.That(hostBehavior.Stdout, Has.Length.EqualTo(512), "the feature's data buffer, raw");
        Assert.That(hostBehavior.Stdout[2], Is.EqualTo(1), "LBAFEE: the driver enables extended LBA formats");

        var unsupported = ToolConsoleRunner.Run("get-feature", Mem, "-f", "0x0d");
        Assert.That(unsupported.ExitCode, Is.EqualTo(1));
        Assert.That(unsupported.Stderr, Does.Contain("InvalidField").And.Contain("Host Memory Buffer"));
        Assert.That(ToolConsoleRunner.Run("get-feature", Mem, "-s", "5").ExitCode, Is.EqualTo(2));
    }

    [Test]
    public void Changed_features_are_the_ones_that_differ_from_their_default()
    {
        // The driver asks for its queues at start-up, so Number of Queues differs from the default of 64 pairs.
        var run = ToolConsoleRunner.Run("get-feature", "mem:size=1M,qpairs=64", "-s", "8");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        string[] lines = run.Text.Split('\n').Where(l => l.StartsWith("get-feature:", StringComparison.Ordinal)).ToArray();
        Assert.That(lines, Has.Some.StartsWith("get-feature:0x07 (Number of Queues), Changed value:"));
        Assert.That(lines, Has.None.StartsWith("get-feature:0x06"), "the write cache is as it started");
    }

    [Test]
    public void Set_feature_sends_the_value_and_the_data()
    {
        var set = ToolConsoleRunner.Run("set-feature", Mem, "-f", "6", "-v", "0");
        Assert.That(set.ExitCode, Is.EqualTo(0), set.ToString());
        Assert.That(set.Text.Trim(), Is.EqualTo("set-feature:0x06 (Volatile Write Cache), value:00000000, cdw12:00000000, save:0"));
        var save = ToolConsoleRunner.Run("set-feature", Mem, "-f", "6", "-v", "1", "--save");
        Assert.That(save.ExitCode, Is.EqualTo(1));
        Assert.That(save.Stderr, Does.Contain("FeatureIdentifierNotSaveable"));
        Assert.That(ToolConsoleRunner.Run("set-feature", Mem, "-v", "1").Stderr, Does.Contain("--feature-id: is required"));

        var behavior = new byte[512];
        behavior[2] = 1;
        var data = ToolConsoleRunner.Run(behavior, false, [], "set-feature", Mem, "-f", "0x16");
        Assert.That(data.ExitCode, Is.EqualTo(0), data.ToString());
        Assert.That(data.Text, Does.StartWith("set-feature:0x16 (Host Behavior), value:00000000"));
        var shortData = ToolConsoleRunner.Run(new byte[100], false, [], "set-feature", Mem, "-f", "0x16");
        Assert.That(shortData.ExitCode, Is.EqualTo(2));
        Assert.That(shortData.Stderr, Does.Contain("--data: stdin gave 100 bytes; the command needs 512"));
        var invalid = ToolConsoleRunner.Run("set-feature", Mem, "-f", "4", "-v", "0x200000");
        Assert.That(invalid.ExitCode, Is.EqualTo(1), "THSEL 2 is reserved");
    }

    [Test]
    public void Admin_passthru_runs_a_command_built_from_its_dwords()
    {
        var identify = ToolConsoleRunner.Run("admin-passthru", Mem, "--opcode=6", "--data-len=4096", "-r", "--cdw10=1", "-b");
        Assert.That(identify.ExitCode, Is.EqualTo(0), identify.ToString());
        Assert.That(identify.Stdout, Is.EqualTo(ToolConsoleRunner.Run("id-ctrl", Mem, "-b").Stdout));
        Assert.That(identify.Stderr.Trim(), Is.EqualTo("Admin Command Identify is Success and result: 0x00000000"));

        var queues = ToolConsoleRunner.Run("admin-passthru", Mem, "-o", "0xa", "-4", "7");
        Assert.That(queues.ExitCode, Is.EqualTo(0), queues.ToString());
        Assert.That(queues.Stderr, Does.Match(@"Admin Command Get Features is Success and result: 0x[0-9a-f]{8}"));
        Assert.That(queues.Stderr, Does.Not.Contain("result: 0x00000000"), "CQE DW0 carries the queue counts");

        var dump = ToolConsoleRunner.Run("admin-passthru", Mem, "-o", "6", "-l", "4096", "-r", "-4", "1");
        Assert.That(dump.Text, Does.Contain("50 6f 6c 6c 65 64 4e 76 \"........PolledNv\""), "a hex dump, printable characters beside (a space is not one, as in nvme-cli)");
        var invalid = ToolConsoleRunner.Run("admin-passthru", Mem, "-o", "0x7f");
        Assert.That(invalid.ExitCode, Is.EqualTo(1));
        Assert.That(invalid.Stderr, Does.Contain("InvalidCommandOpcode"));
    }

    [Test]
    public void Io_passthru_writes_and_reads_through_the_raw_path()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=512,size=1M";
        var data = new byte[1024];
        new Random(21).NextBytes(data);
        // Write (01h) of 2 blocks at LBA 6: CDW10 SLBA, CDW12 NLB 0's based; the data from stdin.
        var write = ToolConsoleRunner.Run(data, false, [], "io-passthru", device, "-o", "1", "-n", "1", "-l", "1024", "-4", "6", "-6", "1");
        Assert.That(write.ExitCode, Is.EqualTo(0), write.ToString());
        Assert.That(write.Stderr, Does.Contain("IO Command Write is Success and result: 0x00000000"));
        Assert.That(ToolConsoleRunner.Run("read", device, "-s", "6", "-c", "1").Stdout, Is.EqualTo(data));

        string output = files.New();
        var read = ToolConsoleRunner.Run("io-passthru", device, "-o", "2", "-n", "1", "-l", "1024", "-4", "6", "-6", "1", "-i", output);
        Assert.That(read.ExitCode, Is.EqualTo(0), read.ToString());
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(data), "read data goes into --input-file");

        var outside = ToolConsoleRunner.Run("io-passthru", device, "-o", "2", "-n", "1", "-l", "512", "-4", "5000");
        Assert.That(outside.ExitCode, Is.EqualTo(1));
        Assert.That(outside.Stderr, Does.Contain("LbaOutOfRange"));
    }

    [Test]
    public void Passthru_dry_run_shows_the_command_and_sends_nothing()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=512,size=1M";
        var zeros = new byte[512];
        var run = ToolConsoleRunner.Run(Enumerable.Repeat((byte)0xEE, 512).ToArray(), false, [], "io-passthru", device, "-o", "1", "-n", "1", "-l", "512", "-4", "3", "--dry-run");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(run.Text, Does.Contain("opcode       : 01").And.Contain("nsid         : 00000001").And.Contain("data_len     : 00000200").And.Contain("cdw10        : 00000003"));
        Assert.That(ToolConsoleRunner.Run("read", device, "-s", "3").Stdout, Is.EqualTo(zeros));
    }

    [TestCase("--metadata-len=8", "--metadata-len")]
    [TestCase("--flags=0x40", "--flags")]
    [TestCase("--rsvd=1", "--rsvd")]
    [TestCase("--data-len=4096", "--data-len")]
    [TestCase("--data-len=1048576 -r", "--data-len")]
    public void Passthru_refuses_what_the_raw_path_cannot_carry(string options, string name)
    {
        var run = ToolConsoleRunner.Run(["admin-passthru", Mem, "-o", "0x80", .. options.Split(' ')]);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Stderr, Does.Contain(name + ":"));
    }

    [Test]
    public void Format_of_an_image_with_data_asks_first_and_refuses_without_a_terminal()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=512,size=1M";
        var data = Enumerable.Repeat((byte)0x5A, 512).ToArray();
        Assert.That(ToolConsoleRunner.Run(data, false, [], "write", device).ExitCode, Is.EqualTo(0));

        var piped = ToolConsoleRunner.Run(null, interactive: false, [], "format", device);
        Assert.That(piped.ExitCode, Is.EqualTo(2));
        Assert.That(piped.Stderr, Does.Contain("--force: formatting namespace 1 of").And.Contain("no terminal to confirm"));
        var declined = ToolConsoleRunner.Run(null, interactive: true, ["n"], "format", device);
        Assert.That(declined.ExitCode, Is.EqualTo(1));
        Assert.That(declined.Stderr, Does.Contain("Format it? [y/N]").And.Contain("nothing was changed"));
        Assert.That(ToolConsoleRunner.Run("read", device).Stdout, Is.EqualTo(data), "the data survived both");

        var confirmed = ToolConsoleRunner.Run(null, interactive: true, ["yes"], "format", device);
        Assert.That(confirmed.ExitCode, Is.EqualTo(0), confirmed.ToString());
        Assert.That(confirmed.Text, Does.StartWith("Success formatting namespace:1"));
        Assert.That(ToolConsoleRunner.Run("read", device).Stdout, Is.All.Zero, "formatted");

        var forced = ToolConsoleRunner.Run(null, interactive: false, [], "format", device, "--force", "--ses=1");
        Assert.That(forced.ExitCode, Is.EqualTo(0), forced.ToString());
        Assert.That(forced.Stderr, Does.Not.Contain("[y/N]"));
    }

    [Test]
    public void Format_asks_nothing_where_no_data_can_be_lost()
    {
        using var files = new TempFiles();
        string fresh = CliRunner.TempImage(files);
        Assert.That(ToolConsoleRunner.Run("format", $"emu:{fresh},lbads=512,size=1M").ExitCode, Is.EqualTo(0), "the image is created by this command");
        Assert.That(ToolConsoleRunner.Run("format", "mem:size=1M", "--lbaf=0").ExitCode, Is.EqualTo(0), "a RAM namespace starts empty");
        var all = ToolConsoleRunner.Run("format", "mem:size=1M", "-n", "0xffffffff", "--block-size=4096");
        Assert.That(all.ExitCode, Is.EqualTo(0), all.ToString());
        Assert.That(all.Text, Does.StartWith("Success formatting namespace:ffffffff").And.Contain("x 4096+0"));
    }

    [Test]
    public void Dsm_takes_range_lists_and_attribute_flags()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=512,size=1M";
        var data = Enumerable.Repeat((byte)0xA5, 8 * 512).ToArray();
        Assert.That(ToolConsoleRunner.Run(data, false, [], "write", device, "-c", "7").ExitCode, Is.EqualTo(0));

        var hint = ToolConsoleRunner.Run("dsm", device, "--slbs", "0", "--blocks", "8", "--idr", "--idw");
        Assert.That(hint.ExitCode, Is.EqualTo(0), hint.ToString());
        Assert.That(hint.Text.Trim(), Is.EqualTo("NVMe DSM: success"));
        Assert.That(ToolConsoleRunner.Run("read", device, "-c", "7").Stdout, Is.EqualTo(data), "hints deallocate nothing");

        // Two ranges, 1-based counts: blocks 1-2 and 5; -c is CDW11 as in nvme-cli (4 = AD).
        var ad = ToolConsoleRunner.Run("dsm", device, "-s", "1,5", "-b", "2,1", "-c", "4");
        Assert.That(ad.ExitCode, Is.EqualTo(0), ad.ToString());
        byte[] back = ToolConsoleRunner.Run("read", device, "-c", "7").Stdout;
        for (int block = 0; block < 8; block++)
            Assert.That(back.AsSpan(block * 512, 512).ToArray(), block is 1 or 2 or 5 ? Is.All.Zero : Is.All.EqualTo((byte)0xA5), $"block {block}");

        Assert.That(ToolConsoleRunner.Run("dsm", device, "--slbs", "0,1", "--blocks", "1", "--ad").Stderr, Does.Contain("one value per range"));
        Assert.That(ToolConsoleRunner.Run("dsm", device, "--ad").Stderr, Does.Contain("no range given"));
        Assert.That(ToolConsoleRunner.Run("dsm", device, "-s", "0", "-b", "1", "--ad", "--cdw11=4").Stderr, Does.Contain("--cdw11:"));
        Assert.That(ToolConsoleRunner.Run("dsm", device, "-s", "2047", "-b", "2", "--ad").Stderr, Does.Contain("not inside the namespace"));
        Assert.That(ToolConsoleRunner.Run("dsm", device, "-s", "0", "-b", "0", "--ad").Stderr, Does.Contain("range 1 has 0 blocks"));
    }
}
