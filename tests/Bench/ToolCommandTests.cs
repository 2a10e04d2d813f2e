using System.Text.Json;
using NUnit.Framework;
using PolledNvme.Bench.Tools;

namespace PolledNvme.Tests.Bench;

/// <summary>Every nvme-cli-like tool against emulated namespaces.</summary>
[TestFixture]
public class ToolCommandTests
{
    private const string PiDevice = "mem:lbads=4096,ms=8,pi=1,size=4M";

    [Test]
    public void Id_ctrl_prints_the_identify_controller_fields()
    {
        var run = CliRunner.Run("id-ctrl", "--device", "mem:size=1M");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        Assert.That(run.Stdout, Does.StartWith("NVME Identify Controller:"));
        Assert.That(run.Stdout, Does.Contain("mn        : PolledNvme emulated controller"));
        Assert.That(run.Stdout, Does.Contain("nn        : 1"));
        Assert.That(run.Stdout, Does.Contain("ps      0 : mp:25.00W operational"));

        // The device as the first argument, as in nvme-cli; the strings keep the page's space padding.
        var json = CliRunner.Run("id-ctrl", "mem:size=1M", "-o", "json");
        Assert.That(json.ExitCode, Is.EqualTo(0), json.Stderr);
        using var doc = JsonDocument.Parse(json.Stdout);
        Assert.That(doc.RootElement.GetProperty("mn").GetString(), Is.EqualTo("PolledNvme emulated controller".PadRight(40)));
        Assert.That(doc.RootElement.GetProperty("nn").GetInt64(), Is.EqualTo(1));
        Assert.That(doc.RootElement.GetProperty("mdts").GetInt64(), Is.EqualTo(7));
        Assert.That(doc.RootElement.GetProperty("tnvmcap").GetString(), Is.EqualTo("1048576"), "128-bit fields are decimal strings");
        Assert.That(doc.RootElement.GetProperty("psds")[0].GetProperty("max_power").GetInt32(), Is.EqualTo(2500));
    }

    [Test]
    public void Id_ns_shows_formats_and_the_one_in_use_and_nvm_id_ns_their_pi_formats()
    {
        const string device = "mem:lbads=4096,ms=16,pi=1,pif=2,size=4M";
        var run = CliRunner.Run("id-ns", device, "-H");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        Assert.That(run.Stdout, Does.StartWith("NVME Identify Namespace 1:"));
        Assert.That(run.Stdout, Does.Contain("[2:0] : 0x1\tProtection Information Type 1 Enabled"));
        var inUse = run.Stdout.Split('\n').Where(l => l.Contains("(in use)")).ToArray();
        Assert.That(inUse, Has.Length.EqualTo(1));
        Assert.That(inUse[0], Does.StartWith("LBA Format 10 : Metadata Size: 16  bytes - Data Size: 4096 bytes"));

        var json = CliRunner.Run("id-ns", "--device=" + device, "--output-format=json", "--namespace-id=1");
        using var doc = JsonDocument.Parse(json.Stdout);
        var root = doc.RootElement;
        Assert.That(root.GetProperty("nsze").GetInt64(), Is.EqualTo(1024));
        Assert.That(root.GetProperty("dps").GetInt32() & 7, Is.EqualTo(1));
        Assert.That(root.GetProperty("nvmcap").GetString(), Is.EqualTo("4194304"));
        Assert.That(root.GetProperty("eui64").GetString(), Is.EqualTo("0000000000000000"), "a string, as nvme-cli writes it");
        Assert.That(root.GetProperty("nguid").GetString(), Has.Length.EqualTo(32));
        var used = root.GetProperty("lbafs")[root.GetProperty("flbas").GetInt32() & 0xF];
        Assert.That(used.GetProperty("ms").GetInt32(), Is.EqualTo(16));
        Assert.That(used.GetProperty("ds").GetInt32(), Is.EqualTo(12));

        var nvm = CliRunner.Run("nvm-id-ns", device, "-v");
        Assert.That(nvm.ExitCode, Is.EqualTo(0), nvm.Stderr);
        Assert.That(nvm.Stdout.Split('\n').Single(l => l.Contains("(in use)")), Does.Contain("Protection Information Format: 64b Guard(2)"));
        var nvmJson = CliRunner.Run("nvm-id-ns", device, "-o", "json");
        using var nvmDoc = JsonDocument.Parse(nvmJson.Stdout);
        Assert.That(nvmDoc.RootElement.GetProperty("elbafs")[10].GetProperty("pif").GetInt32(), Is.EqualTo(2));
    }

    [Test]
    public void Id_ns_of_a_missing_namespace_is_a_usage_error()
    {
        var run = CliRunner.Run("id-ns", "--device=mem:size=1M", "--namespace-id=7");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("--namespace-id"));
    }

    [Test]
    public void Format_changes_the_namespace_format()
    {
        var run = CliRunner.Run("format", "--device=mem:lbads=4096,ms=8,pi=1,size=4M", "--lbaf=0", "--pi=0");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        Assert.That(run.Stdout, Does.StartWith("Success formatting namespace:1"));
        Assert.That(run.Stdout, Does.Contain("PI None"));
    }

    [Test]
    public void Format_of_an_emulated_file_is_recorded_and_found_again()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        var idns = CliRunner.Run("id-ns", $"--device=emu:{image},lbads=4096,ms=8,pi=1,size=4M", "-o", "json");
        using var before = JsonDocument.Parse(idns.Stdout);
        int plain4k = before.RootElement.GetProperty("lbafs").EnumerateArray().Select((f, i) => (f, i))
            .First(x => x.f.GetProperty("ds").GetInt32() == 12 && x.f.GetProperty("ms").GetInt32() == 0).i;
        var format = CliRunner.Run("format", $"--device=emu:{image},lbads=4096,ms=8,pi=1,size=4M", $"--lbaf={plain4k}", "--pi=0", "--force");
        Assert.That(format.ExitCode, Is.EqualTo(0), format.Stderr);
        Assert.That(File.Exists(image + PolledNvme.Emulation.Media.EmulatedImageFiles.FormatRecordSuffix), Is.True);

        var stale = CliRunner.Run("id-ns", $"--device=emu:{image},lbads=4096,ms=8,pi=1,size=4M");
        Assert.That(stale.ExitCode, Is.EqualTo(2), "the device string no longer matches the recorded format: a usage error");
        Assert.That(stale.Stderr, Does.Contain("--device:").And.Contain("format=1"));
        var reopened = CliRunner.Run("id-ns", $"--device=emu:{image},lbads=4096,ms=0,pi=0,size=4M", "-o", "json");
        Assert.That(reopened.ExitCode, Is.EqualTo(0), reopened.Stderr);
        using var after = JsonDocument.Parse(reopened.Stdout);
        Assert.That(after.RootElement.GetProperty("dps").GetInt32() & 7, Is.EqualTo(0));
    }

    [Test]
    public void Format_refuses_pi_on_a_format_without_metadata_and_bad_indexes()
    {
        var idns = CliRunner.Run("id-ns", "--device=mem:size=1M", "-o", "json");
        using var doc = JsonDocument.Parse(idns.Stdout);
        int noMetadata = doc.RootElement.GetProperty("lbafs").EnumerateArray().Select((f, i) => (f, i)).First(x => x.f.GetProperty("ms").GetInt32() == 0).i;
        var run = CliRunner.Run("format", "--device=mem:size=1M", $"--lbaf={noMetadata}", "--pi=1");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("--pi:"));
        run = CliRunner.Run("format", "--device=mem:size=1M", "--lbaf=63");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("--lbaf:"));
        run = CliRunner.Run("format", "mem:size=1M", "--lbaf=0", "--block-size=4096");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("--block-size: give --lbaf or --block-size, not both"));
        run = CliRunner.Run("format", "mem:size=1M", "--block-size=1000");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("not a power of two"));
    }

    [Test]
    public void Write_then_read_round_trips_on_a_file_with_pi_generated_by_the_controller()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=4096,ms=8,pi=1,size=4M";
        string input = files.New();
        string output = files.New();
        var data = new byte[3 * 4096];
        new Random(5).NextBytes(data);
        File.WriteAllBytes(input, data);

        // -c 2 is 0's based: three blocks. prinfo 0xD = PRACT + guard + ref checks.
        var write = CliRunner.Run("write", "--device", device, "-s", "10", "-c", "2", "-d", input, "-p", "0xd");
        Assert.That(write.ExitCode, Is.EqualTo(0), write.Stderr);
        Assert.That(write.Stderr.Trim(), Is.EqualTo("write: Success"), "nvme-cli prints it on stderr");
        var read = CliRunner.Run("read", "--device", device, "--start-block=10", "--block-count=2", $"--data={output}", "--prinfo=0xd");
        Assert.That(read.ExitCode, Is.EqualTo(0), read.Stderr);
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(data));
    }

    [Test]
    public void Read_with_a_wrong_reference_tag_prints_the_status_by_name()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=4096,ms=8,pi=2,size=4M";
        string input = files.New();
        File.WriteAllBytes(input, new byte[4096]);
        Assert.That(CliRunner.Run("write", "--device", device, "-s", "4", "-d", input, "-p", "8", "-r", "100").ExitCode, Is.EqualTo(0));
        var read = CliRunner.Run("read", "--device", device, "-s", "4", "-d", files.New(), "-p", "9", "-r", "101");
        Assert.That(read.ExitCode, Is.EqualTo(1));
        Assert.That(read.Stderr, Does.Contain("EndToEndReferenceTagCheckError (SCT 2h, SC 84h)"));
    }

    [Test]
    public void Separate_metadata_travels_in_the_metadata_file()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},lbads=512,ms=8,pi=1,size=1M";
        string input = files.New();
        var data = new byte[2 * 512];
        new Random(9).NextBytes(data);
        File.WriteAllBytes(input, data);
        Assert.That(CliRunner.Run("write", "--device", device, "-s", "0", "-c", "1", "-d", input, "-p", "8").ExitCode, Is.EqualTo(0));
        string outData = files.New();
        string outMeta = files.New();
        var read = CliRunner.Run("read", "--device", device, "-s", "0", "-c", "1", "-d", outData, "-M", outMeta, "-p", "7", "-o", "json");
        Assert.That(read.ExitCode, Is.EqualTo(0), read.Stderr);
        Assert.That(File.ReadAllBytes(outData), Is.EqualTo(data));
        byte[] meta = File.ReadAllBytes(outMeta);
        Assert.That(meta, Has.Length.EqualTo(16));
        // 16b guard PI, type 1: reference tag (bytes 4..7, big-endian) = LBA.
        Assert.That(meta[4..8], Is.EqualTo(new byte[] { 0, 0, 0, 0 }));
        Assert.That(meta[12..16], Is.EqualTo(new byte[] { 0, 0, 0, 1 }));
        using var doc = JsonDocument.Parse(read.Stdout);
        Assert.That(doc.RootElement.GetProperty("metadata_bytes").GetInt64(), Is.EqualTo(16));

        var missing = CliRunner.Run("read", "--device", device, "-s", "0", "-d", outData, "-p", "7");
        Assert.That(missing.ExitCode, Is.EqualTo(2));
        Assert.That(missing.Stderr, Does.Contain("--metadata:"));
    }

    [TestCase("--block-count=70000", "--block-count")]
    [TestCase("--start-block=1024", "--start-block")]
    [TestCase("--prinfo=16", "--prinfo")]
    [TestCase("--ref-tag=0x100000000", "--ref-tag")]
    [TestCase("--storage-tag-check", "--storage-tag-check")]
    public void Bad_block_flags_name_the_flag(string flag, string name)
    {
        using var files = new TempFiles();
        string input = files.New();
        File.WriteAllBytes(input, new byte[4096]);
        var run = CliRunner.Run("write", "--device", PiDevice, "-d", input, flag);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr);
        Assert.That(run.Stderr, Does.Contain(name + ":"));
    }

    [Test]
    public void Pi_flags_on_a_namespace_without_pi_are_refused()
    {
        using var files = new TempFiles();
        string input = files.New();
        File.WriteAllBytes(input, new byte[4096]);
        var run = CliRunner.Run("write", "--device=mem:size=1M", "-d", input, "--prinfo=8");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("--prinfo:"));
        run = CliRunner.Run("write", "--device=mem:size=1M", "-d", input, "--app-tag=5");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("--app-tag:"));
    }

    [Test]
    public void Write_zeroes_and_dsm_clear_written_blocks()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string device = $"emu:{image},size=1M";
        string input = files.New();
        File.WriteAllBytes(input, Enumerable.Repeat((byte)0xA5, 4 * 4096).ToArray());
        Assert.That(CliRunner.Run("write", "--device", device, "-s", "0", "-c", "3", "-d", input).ExitCode, Is.EqualTo(0));

        var wz = CliRunner.Run("write-zeroes", device, "-s", "1", "-c", "0");
        Assert.That(wz.ExitCode, Is.EqualTo(0), wz.Stderr);
        Assert.That(wz.Stdout.Trim(), Is.EqualTo("NVME Write Zeroes Success"));
        var dsm = CliRunner.Run("dsm", device, "--ad", "--slbs=2", "--blocks=1", "-o", "json");
        Assert.That(dsm.ExitCode, Is.EqualTo(0), dsm.Stderr);
        using (var doc = JsonDocument.Parse(dsm.Stdout))
            Assert.That(doc.RootElement.GetProperty("ranges")[0].GetProperty("nlb").GetInt32(), Is.EqualTo(1));

        string output = files.New();
        Assert.That(CliRunner.Run("read", "--device", device, "-s", "0", "-c", "3", "-d", output).ExitCode, Is.EqualTo(0));
        byte[] back = File.ReadAllBytes(output);
        Assert.That(back[..4096], Is.All.EqualTo((byte)0xA5));
        Assert.That(back[4096..8192], Is.All.EqualTo((byte)0), "write-zeroes");
        Assert.That(back[8192..12288], Is.All.EqualTo((byte)0), "deallocated blocks read as zeros (DLFEAT)");
        Assert.That(back[12288..], Is.All.EqualTo((byte)0xA5));
    }

    [Test]
    public void Write_zeroes_refuses_pi_checks()
    {
        var wz = CliRunner.Run("write-zeroes", "--device", PiDevice, "-s", "0", "--prinfo=4");
        Assert.That(wz.ExitCode, Is.EqualTo(2));
        Assert.That(wz.Stderr, Does.Contain("--prinfo:"));
    }

    [Test]
    public void Tools_need_a_device_and_know_their_flags()
    {
        var run = CliRunner.Run("id-ctrl");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("<device>: is required"));
        run = CliRunner.Run("id-ctrl", "--device=mem:", "--bogus");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("--bogus: unknown option"));
        run = CliRunner.Run("id-ctrl", "mem:", "mem:size=2M");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("mem:size=2M: unexpected argument"));
        run = CliRunner.Run("id-ctrl", "mem:", "--device=mem:size=2M");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain("differ"));
        run = CliRunner.Run("frobnicate");
        Assert.That(run.ExitCode, Is.EqualTo(2));
    }

    [Test]
    public void An_nvme_cli_command_pnvme_lacks_gets_the_reason()
    {
        var run = CliRunner.Run("fw-log", "mem:");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.StartWith("pnvme: 'fw-log': is an nvme-cli command pnvme does not have:").And.Contain("get-log -i 3"));
        Assert.That(CliRunner.Run("frobnicate").Stderr, Does.Contain("'frobnicate': is not a pnvme command"));
    }

    [Test]
    public void Docs_list_every_nvme_cli_command_supported_or_refused()
    {
        string docs = File.ReadAllText(Path.Combine(PolledNvme.Tests.Scripts.ScriptRunner.RepoRoot, "docs", "PNVME.md"));
        string table = docs[docs.IndexOf("#### nvme-cli commands", StringComparison.Ordinal)..];
        foreach (string command in NvmeCliCommands.Refused.Keys)
            Assert.That(table, Does.Contain($"`{command}`"), $"docs/PNVME.md: refused command {command}");
        foreach (string command in new[] { "id-ctrl", "id-ns", "nvm-id-ns", "read", "write", "compare", "verify", "write-zeroes", "flush", "dsm",
                     "get-log", "smart-log", "error-log", "get-feature", "set-feature", "admin-passthru", "io-passthru", "format", "list" })
        {
            Assert.That(table, Does.Contain($"`{command}`"), $"docs/PNVME.md: command {command}");
            Assert.That(NvmeCliCommands.Refused.ContainsKey(command), Is.False, command);
            Assert.That(CliRunner.Run(command, "--help").ExitCode, Is.EqualTo(0), $"{command} is a pnvme command");
        }
    }

    [Test]
    public void A_malformed_device_string_is_a_usage_error_naming_the_key()
    {
        var run = CliRunner.Run("id-ctrl", "--device=mem:lbads=1000");
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr);
        Assert.That(run.Stderr, Does.Contain("--device: 'mem:lbads=1000': lbads"));
    }

    [Test]
    public void List_finds_nvme_functions_in_sysfs()
    {
        string root = Path.Combine(Path.GetTempPath(), $"pnvme-sysfs-{Guid.NewGuid():N}");
        try
        {
            MakeFunction(root, "0000:00:02.0", "0x030000", "0x8086", "0x1234", "i915", "1");
            MakeFunction(root, "0000:01:00.0", "0x010802", "0x1b36", "0x0010", "vfio-pci", "7");
            MakeFunction(root, "0000:02:00.0", "0x010802", "0x144d", "0xa808", null, "9");
            var stdout = new StringWriter();
            int code = ListCommand.Run([], stdout, TextWriter.Null, root);
            Assert.That(code, Is.EqualTo(0));
            string text = stdout.ToString();
            Assert.That(text, Does.Contain("0000:01:00.0   0x1b36  0x0010  vfio-pci   7"));
            Assert.That(text, Does.Contain("0000:02:00.0   0x144d  0xa808  (none)     9"));
            Assert.That(text, Does.Not.Contain("0000:00:02.0"));
            Assert.That(text, Does.Contain("emu:"));

            var json = new StringWriter();
            ListCommand.Run(["--output-format=json"], json, TextWriter.Null, root);
            using var doc = JsonDocument.Parse(json.ToString());
            var devices = doc.RootElement.GetProperty("Devices");
            Assert.That(devices.GetArrayLength(), Is.EqualTo(2));
            Assert.That(devices[0].GetProperty("DeviceString").GetString(), Is.EqualTo("pci:0000:01:00.0"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public void List_runs_on_this_machine()
    {
        var run = CliRunner.Run("list");
        Assert.That(run.ExitCode, Is.EqualTo(0));
        Assert.That(run.Stdout, Does.Contain("IOMMU group"));
    }

    private static void MakeFunction(string root, string address, string cls, string vendor, string device, string? driver, string group)
    {
        string dir = Path.Combine(root, address);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "class"), cls + "\n");
        File.WriteAllText(Path.Combine(dir, "vendor"), vendor + "\n");
        File.WriteAllText(Path.Combine(dir, "device"), device + "\n");
        string targets = Path.Combine(root, "targets");   // no class file: not a PCI function
        if (driver is not null)
        {
            string d = Path.Combine(targets, "drivers", driver);
            Directory.CreateDirectory(d);
            Directory.CreateSymbolicLink(Path.Combine(dir, "driver"), d);
        }
        string g = Path.Combine(targets, "iommu_groups", group);
        Directory.CreateDirectory(g);
        Directory.CreateSymbolicLink(Path.Combine(dir, "iommu_group"), g);
    }
}
