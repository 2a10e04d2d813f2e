using System.Text.Json;
using NUnit.Framework;
using PolledNvme.Bench.Options;

namespace PolledNvme.Tests.Bench;

/// <summary>fio's job file format and how job files combine with the command line.</summary>
[TestFixture]
public class JobFileTests
{
    private static string Write(TempFiles files, string text, string suffix = ".fio")
    {
        string path = files.New(suffix);
        File.WriteAllText(path, text);
        return path;
    }

    [Test]
    public void Global_sections_apply_to_the_jobs_below_them_and_jobs_override()
    {
        using var files = new TempFiles();
        string path = Write(files, """
            ; a comment
            # another
            [global]
            bs=8k            ; fio strips comments at the end of a line too
            iodepth=4
            [one]
            rw=randread
            [global]
            iodepth=16
            [two]
            rw=write
            bs=16k
            """);
        var setup = BenchArguments.Parse([path]);
        Assert.That(setup.Jobs.Select(j => j.Options.Name), Is.EqualTo(new[] { "one", "two" }));
        var one = setup.Jobs[0].Options;
        var two = setup.Jobs[1].Options;
        Assert.That((one.BlockSizes.Read.Min, one.IoDepth, one.Pattern), Is.EqualTo((8192, 4, RwPattern.RandRead)));
        Assert.That((two.BlockSizes.Write.Min, two.IoDepth, two.Pattern), Is.EqualTo((16384, 16, RwPattern.Write)));
        Assert.That(one.Typed.Select(kv => $"{kv.Key}={kv.Value}"), Is.EqualTo(new[] { "rw=randread" }), "job options are the section's own, as typed");
        Assert.That(setup.Run.GlobalTyped.Select(kv => $"{kv.Key}={kv.Value}"), Is.EqualTo(new[] { "bs=8k", "iodepth=4", "iodepth=16" }));
    }

    [Test]
    public void Environment_variables_and_keywords_are_expanded()
    {
        using var files = new TempFiles();
        string path = Write(files, """
            [job]
            size=${PNVME_TEST_SIZE}
            numjobs=${PNVME_TEST_UNSET}2
            iodepth=$ncpus*2
            """);
        var env = new Dictionary<string, string> { ["PNVME_TEST_SIZE"] = "64m" };
        var o = BenchArguments.Parse([path], name => env.GetValueOrDefault(name)).Jobs[0].Options;
        Assert.That(o.SizeBytes, Is.EqualTo(64L << 20));
        Assert.That(o.NumJobs, Is.EqualTo(2), "an unset variable expands to nothing");
        Assert.That(o.IoDepth, Is.EqualTo(Environment.ProcessorCount * 2));
        Assert.That(o.Typed.First(kv => kv.Key == "size").Value, Is.EqualTo("64m"), "job options show the expanded value");
    }

    [Test]
    public void Include_files_pull_options_into_the_section()
    {
        using var files = new TempFiles();
        string common = Write(files, "iodepth=7\nbs=16k\n", ".inc");
        string path = Write(files, $"[job]\nrw=read\ninclude {Path.GetFileName(common)}\n");
        var o = BenchArguments.Parse([path]).Jobs[0].Options;
        Assert.That((o.IoDepth, o.BlockSizes.Read.Min), Is.EqualTo((7, 16384)));
        string bad = Write(files, "[inner]\nrw=read\n", ".inc");
        string outer = Write(files, $"[job]\ninclude {bad}\n");
        var ex = Assert.Throws<UsageException>(() => BenchArguments.Parse([outer]));
        Assert.That(ex!.Message, Does.Contain("include files may not contain [] sections"));
    }

    [Test]
    public void Stonewall_and_new_group_make_groups_and_a_second_file_starts_behind_a_stonewall()
    {
        using var files = new TempFiles();
        string first = Write(files, "[a]\nrw=read\n[b]\nrw=write\n[c]\nnew_group\nrw=read\n[d]\nstonewall\nrw=read\n");
        string second = Write(files, "[e]\nrw=read\n");
        var jobs = BenchArguments.Parse([first, second]).Jobs;
        Assert.That(jobs.Select(j => j.GroupId), Is.EqualTo(new[] { 0, 0, 1, 2, 3 }));
        Assert.That(jobs.Select(j => j.Options.Stonewall), Is.EqualTo(new[] { false, false, false, true, true }));
    }

    [Test]
    public void Command_line_globals_come_first_and_the_job_file_overrides_them()
    {
        using var files = new TempFiles();
        string path = Write(files, "[global]\nbs=16k\n[job]\nrw=read\n");
        var o = BenchArguments.Parse(["--bs=4k", "--iodepth=3", path]).Jobs[0].Options;
        Assert.That(o.BlockSizes.Read.Min, Is.EqualTo(16384), "the job file's [global] comes after the command line");
        Assert.That(o.IoDepth, Is.EqualTo(3));
    }

    [Test]
    public void Command_line_jobs_start_at_each_name_and_global_options_come_before()
    {
        var setup = BenchArguments.Parse(["--iodepth=2", "--name=x", "--rw=read", "--name=y", "--rw=write", "--iodepth=5"]);
        Assert.That(setup.Jobs.Select(j => (j.Options.Name, j.Options.Pattern, j.Options.IoDepth)),
            Is.EqualTo(new[] { ("x", RwPattern.Read, 2), ("y", RwPattern.Write, 5) }));
        Assert.That(setup.Jobs[0].Options.Typed.Select(kv => kv.Key), Is.EqualTo(new[] { "name", "rw" }));
    }

    [Test]
    public void Section_runs_only_the_named_jobs()
    {
        using var files = new TempFiles();
        string path = Write(files, "[a]\nrw=read\n[b]\nrw=write\n");
        var jobs = BenchArguments.Parse(["--section=b", path]).Jobs;
        Assert.That(jobs.Select(j => j.Options.Name), Is.EqualTo(new[] { "b" }));
    }

    [TestCase("[job]\nzonemode=zbd\n", ":2: zonemode: not supported: pnvme has no zoned namespaces")]
    [TestCase("[job]\nfrobnicate=1\n", ":2: frobnicate: unknown option")]
    [TestCase("rw=read\n[job]\n", ":1: option 'rw=read' is outside of a [] job section")]
    [TestCase("[job]\nbs=4x\n", ":2: bs: '4x' has an unknown suffix")]
    [TestCase("[job]\nverify=md5\n", ":2: verify: 'md5' is not supported")]
    [TestCase("[job]\noutput=x.json\n", ":2: output: is a command-line option")]
    public void Job_file_errors_name_file_line_and_option(string text, string expected)
    {
        using var files = new TempFiles();
        string path = Write(files, text);
        var run = CliRunner.Run("bench", path);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr);
        Assert.That(run.Stderr, Does.Contain(path + expected));
        Assert.That(run.Stdout, Is.Empty, "nothing runs");
    }

    [Test]
    public void Several_jobs_run_concurrently_each_with_its_own_queue_pair_and_report_by_group()
    {
        using var files = new TempFiles();
        string path = Write(files, """
            [global]
            device=mem:size=16M
            runtime=300ms
            iodepth=4
            pin=0
            [reader]
            rw=randread
            numjobs=2
            group_reporting
            [writer]
            rw=randwrite
            bs=8k
            [later]
            stonewall
            rw=read
            """);
        var run = CliRunner.Run("bench", "--output-format=json", "--progress=0", path);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        using var doc = JsonDocument.Parse(run.Stdout);
        var jobs = doc.RootElement.GetProperty("jobs").EnumerateArray().ToArray();
        // fio: the reader's clones (group_reporting) are one entry; the writer (no group_reporting) its own;
        // the stonewalled job is group 1.
        Assert.That(jobs.Select(j => (j.GetProperty("jobname").GetString(), j.GetProperty("groupid").GetInt32())),
            Is.EqualTo(new[] { ("reader", 0), ("writer", 0), ("later", 1) }));
        Assert.That(jobs[0].GetProperty("pnvme").GetProperty("jobs").GetInt32(), Is.EqualTo(2), "two reader clones");
        Assert.That(jobs[0].GetProperty("read").GetProperty("total_ios").GetInt64(), Is.GreaterThan(0));
        Assert.That(jobs[0].GetProperty("write").GetProperty("total_ios").GetInt64(), Is.EqualTo(0));
        Assert.That(jobs[1].GetProperty("write").GetProperty("total_ios").GetInt64(), Is.GreaterThan(0));
        Assert.That(jobs[1].GetProperty("write").GetProperty("io_bytes").GetInt64() % 8192, Is.EqualTo(0), "the writer's own bs");
        Assert.That(jobs[2].GetProperty("read").GetProperty("total_ios").GetInt64(), Is.GreaterThan(0));
    }
}
