using System.IO.Compression;
using System.Text.RegularExpressions;
using NUnit.Framework;
using PolledNvme.Bench.Options;
using PolledNvme.Tests.Scripts;

namespace PolledNvme.Tests.Bench;

/// <summary>The fio option table: complete, in step with the parser, and copied into docs/PNVME.md.</summary>
[TestFixture]
public class FioOptionTableTests
{
    [Test]
    public void Every_accepted_job_option_has_a_handler_and_every_handler_a_row()
    {
        var accepted = FioOptionCatalog.All.Where(o => o.IsAccepted && !o.IsCommandLineOnly).Select(o => o.Name).ToHashSet();
        Assert.That(JobOptionHandlers.Names.ToHashSet(), Is.EquivalentTo(accepted));
    }

    // One plausible value per accepted command-line option: each must be handled (none falls through).
    private static readonly Dictionary<string, string?> CommandLineSamples = new()
    {
        ["--parse-only"] = null, ["--output"] = "x.json", ["--output-format"] = "json", ["--version"] = null, ["--help"] = null,
        ["--cmdhelp"] = "bs", ["--readonly"] = null, ["--eta"] = "never", ["--status-interval"] = "2",
        ["--section"] = "s", ["--max-jobs"] = "4", ["--progress"] = "0", ["--plot"] = "p.png",
    };

    [Test]
    public void Every_accepted_command_line_option_is_handled()
    {
        var accepted = FioOptionCatalog.All.Where(o => o.IsAccepted && o.IsCommandLineOnly).Select(o => o.Name).ToArray();
        Assert.That(accepted, Is.EquivalentTo(CommandLineSamples.Keys));
        foreach (var (name, value) in CommandLineSamples)
        {
            string arg = value is null ? name : $"{name}={value}";
            Assert.DoesNotThrow(() => BenchArguments.Parse([arg, "--name=s", "--rw=read"]), name);
        }
    }

    [Test]
    public void Refused_options_say_why()
    {
        foreach (var o in FioOptionCatalog.All.Where(o => o.Status == OptionStatus.No))
        {
            Assert.That(o.Note, Is.Not.Empty, o.Name);
            string arg = o.IsCommandLineOnly ? o.Name : "--" + o.Name;
            var ex = Assert.Throws<UsageException>(() => BenchArguments.Parse([arg + "=1"]), o.Name);
            Assert.That(ex!.Message, Does.Contain("not supported: " + o.Note), o.Name);
        }
    }

    [Test]
    public void Every_option_of_fios_howto_is_in_the_table()
    {
        const string howto = "/usr/share/doc/fio/HOWTO.rst.gz";
        if (!File.Exists(howto)) Assert.Ignore("fio's HOWTO is missing; install the Debian package fio (.ci/run does).");
        using var reader = new StreamReader(new GZipStream(File.OpenRead(howto), CompressionMode.Decompress));
        var missing = new List<string>();
        int count = 0;
        foreach (Match m in Regex.Matches(reader.ReadToEnd(), @"^\.\. option:: (.+)$", RegexOptions.Multiline))
        {
            string line = m.Groups[1].Value.Split(" : ")[0];
            foreach (string spelling in line.Split(", "))
            {
                string name = spelling.Split('=')[0].Trim();
                if (name.Length == 0) continue;
                count++;
                if (FioOptionCatalog.Find(name) is null) missing.Add(name);
            }
        }
        Assert.That(count, Is.GreaterThan(300));
        Assert.That(missing, Is.Empty);
    }

    [Test]
    public void Docs_hold_the_table()
    {
        string doc = File.ReadAllText(Path.Combine(ScriptRunner.RepoRoot, "docs", "PNVME.md"));
        string table = FioOptionCatalog.MarkdownTable(fioOptions: true);
        Assert.That(doc.Replace("\r\n", "\n"), Does.Contain(table), "docs/PNVME.md's fio table differs from FioOptions.tsv; paste this:\n" + table);
    }
}
