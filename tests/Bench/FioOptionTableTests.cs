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

/// <summary>Seeded random command lines and job files: parsing answers with a usage error or a setup, never anything else.</summary>
[TestFixture]
public class BenchArgumentFuzzTests
{
    private static readonly string[] Values =
    [
        "", "0", "1", "-1", "4k", "4k,8k", ",8k,", "1m", "10%", "150%", "0x10", "abc", "1-5", "5-1", "zipf:1.2", "zoned:50/5:50/",
        "randrw", "trim", "4k/50:8k/50", "4k/60:8k/60", "99.9:50", "1:2:3", "2s", "100ms", "1h", "${X}", "$ncpus*2", "1/0", "mem:size=1M",
        "null:", "/tmp/x", "a:b", "none", "guard,ref", "both", "json+", "normal,json", "9999999999999999999999", "1e9", "-", "=",
    ];

    [Test]
    public void Random_command_lines_parse_or_name_the_problem()
    {
        var options = FioOptionCatalog.All.Where(o => o.Name != "--help" && o.Name != "--version" && o.Name != "--cmdhelp").ToArray();
        var random = new Random(20240615);
        for (int run = 0; run < 3000; run++)
        {
            var args = new List<string>();
            int n = random.Next(1, 6);
            for (int i = 0; i < n; i++)
            {
                var o = options[random.Next(options.Length)];
                string name = o.Name.StartsWith("--") ? o.Name : "--" + o.Name;
                string value = Values[random.Next(Values.Length)];
                args.Add(random.Next(3) == 0 ? name : $"{name}={value}");
                if (random.Next(4) == 0) args.Add(Values[random.Next(Values.Length)]);
            }
            try
            {
                BenchArguments.Parse(args, _ => null, new StringReader(""));
            }
            catch (UsageException)
            {
                // refused with a message naming the option: fine
            }
            catch (Exception e)
            {
                Assert.Fail($"{string.Join(' ', args)}: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    [Test]
    public void Random_jobs_plan_on_a_device_or_name_the_problem()
    {
        var controller = PolledNvme.Bench.Engines.DeviceTargets.OpenController("mem:pi=1,ms=8,size=16M");
        using var target = new PolledNvme.Bench.Engines.NvmeBenchTarget(controller);
        string[] jobOptions = ["bs", "bsrange", "bssplit", "ba", "size", "offset", "offset_increment", "numjobs", "iodepth", "rw", "random_distribution",
            "rate", "rate_iops", "pract", "prchk", "host-pi", "apptag", "storage-tag", "io_size", "loops", "verify", "percentage_random"];
        var random = new Random(99);
        int planned = 0;
        for (int run = 0; run < 2000; run++)
        {
            var args = Enumerable.Range(0, random.Next(1, 5)).Select(_ => $"--{jobOptions[random.Next(jobOptions.Length)]}={Values[random.Next(Values.Length)]}").ToList();
            BenchOptions options;
            try
            {
                options = BenchOptionParser.Parse(args);
            }
            catch (UsageException)
            {
                continue;
            }
            try
            {
                PolledNvme.Bench.Run.BenchPlan.Create(options, target);
                planned++;
            }
            catch (UsageException)
            {
            }
            catch (Exception e)
            {
                Assert.Fail($"{string.Join(' ', args)}: {e.GetType().Name}: {e.Message}");
            }
        }
        Assert.That(planned, Is.GreaterThan(50), "the generator reaches valid plans too");
    }

    [Test]
    public void Random_job_files_parse_or_name_the_problem()
    {
        var names = FioOptionCatalog.All.Where(o => !o.IsCommandLineOnly).Select(o => o.Name).ToArray();
        var random = new Random(77);
        for (int run = 0; run < 1000; run++)
        {
            var lines = new List<string>();
            for (int i = 0; i < random.Next(1, 8); i++)
            {
                switch (random.Next(6))
                {
                    case 0: lines.Add(random.Next(2) == 0 ? "[global]" : $"[job{i}]"); break;
                    case 1: lines.Add("; comment " + Values[random.Next(Values.Length)]); break;
                    case 2: lines.Add(names[random.Next(names.Length)]); break;
                    default: lines.Add($"{names[random.Next(names.Length)]}={Values[random.Next(Values.Length)]}"); break;
                }
            }
            string text = string.Join('\n', lines);
            try
            {
                BenchArguments.Parse(["-"], _ => null, new StringReader(text));
            }
            catch (UsageException)
            {
            }
            catch (Exception e)
            {
                Assert.Fail($"job file:\n{text}\n{e.GetType().Name}: {e.Message}");
            }
        }
    }
}
