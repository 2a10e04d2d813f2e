using NUnit.Framework;
using PolledNvme.Bench.Options;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Bench;

[TestFixture]
public class BenchOptionParserTests
{
    [TestCase("4k", 4096)]
    [TestCase("4K", 4096)]
    [TestCase("4kb", 4096)]
    [TestCase("1m", 1048576)]
    [TestCase("1g", 1073741824)]
    [TestCase("2t", 2199023255552)]
    [TestCase("512", 512)]
    [TestCase("1.5k", 1536)]
    // fio's kb_base=1024 keeps the IEC-looking suffixes decimal: 1ki = 1000, 1mib = 10^6.
    [TestCase("1ki", 1000)]
    [TestCase("1mib", 1000000)]
    public void Sizes_follow_fio_suffixes(string text, long bytes)
        => Assert.That(FioValues.ParseSize("--size", text), Is.EqualTo(bytes));

    [TestCase("10", 10.0)]
    [TestCase("10s", 10.0)]
    [TestCase("500ms", 0.5)]
    [TestCase("250us", 0.00025)]
    [TestCase("2m", 120.0)]
    [TestCase("1h", 3600.0)]
    [TestCase("1d", 86400.0)]
    public void Times_follow_fio_suffixes(string text, double seconds)
        => Assert.That(FioValues.ParseTime("--runtime", text).TotalSeconds, Is.EqualTo(seconds).Within(1e-9));

    [Test]
    public void No_arguments_is_the_default_job()
    {
        var o = BenchOptionParser.Parse([]);
        Assert.Multiple(() =>
        {
            Assert.That(o.Pattern, Is.EqualTo(RwPattern.RandReadWrite));
            Assert.That(o.ReadMixPercent, Is.EqualTo(70));
            Assert.That(o.BlockSizeBytes, Is.EqualTo(4096));
            Assert.That(o.IoDepth, Is.EqualTo(32));
            Assert.That(o.Runtime, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(o.TimeBased, Is.True);
            Assert.That(o.Device, Is.Null);
            Assert.That(o.HostPi, Is.Null, "host PI verify is decided by the plan on a PI namespace");
        });
    }

    [Test]
    public void Both_flag_spellings_parse_the_same()
    {
        var a = BenchOptionParser.Parse(["--rw=randread", "--bs=8k", "--iodepth=4", "--numjobs=2", "--runtime=3", "--name=x"]);
        var b = BenchOptionParser.Parse(["--rw", "randread", "--bs", "8k", "--iodepth", "4", "--numjobs", "2", "--runtime", "3", "--name", "x"]);
        Assert.That(b with { Typed = a.Typed, Sources = a.Sources }, Is.EqualTo(a));
        Assert.That(b.Typed, Is.EqualTo(a.Typed), "job options as typed");
        Assert.That(b.Sources, Is.EquivalentTo(a.Sources), "where each option was given: the same flags");
        Assert.Multiple(() =>
        {
            Assert.That(a.Pattern, Is.EqualTo(RwPattern.RandRead));
            Assert.That(a.BlockSizeBytes, Is.EqualTo(8192));
            Assert.That(a.IoDepth, Is.EqualTo(4));
            Assert.That(a.NumJobs, Is.EqualTo(2));
            Assert.That(a.Runtime, Is.EqualTo(TimeSpan.FromSeconds(3)));
        });
    }

    [Test]
    public void Size_without_time_based_ends_by_size()
    {
        var o = BenchOptionParser.Parse(["--size=1m"]);
        Assert.That(o.TimeBased, Is.False);
        Assert.That(o.Runtime, Is.Null);
        var t = BenchOptionParser.Parse(["--size=1m", "--time_based", "--runtime=2s"]);
        Assert.That(t.TimeBased, Is.True);
        Assert.That(t.Runtime, Is.EqualTo(TimeSpan.FromSeconds(2)));
    }

    [Test]
    public void Pi_flags_parse()
    {
        var o = BenchOptionParser.Parse(["--prchk=guard,ref", "--apptag=0xbeef", "--apptag-mask=0xff00", "--host-pi=both"]);
        Assert.Multiple(() =>
        {
            Assert.That(o.Checks, Is.EqualTo(PiChecks.Guard | PiChecks.ReferenceTag));
            Assert.That(o.AppTag, Is.EqualTo(0xBEEF));
            Assert.That(o.AppTagMask, Is.EqualTo(0xFF00));
            Assert.That(o.HostPi, Is.EqualTo(HostPi.Both));
        });
        Assert.That(BenchOptionParser.Parse(["--rwmixwrite=40"]).ReadMixPercent, Is.EqualTo(60));
        Assert.That(BenchOptionParser.Parse(["--verify"]).Verify, Is.True);
        Assert.That(BenchOptionParser.Parse(["--verify=0"]).Verify, Is.False);
        var verifyOnly = BenchOptionParser.Parse(["--verify_only", "--rw=randrw"]);
        Assert.That(verifyOnly.Pattern, Is.EqualTo(RwPattern.Read));
        Assert.That(verifyOnly.TimeBased, Is.False, "one pass over the region");
    }

    [TestCase("--bs=4x", "--bs")]
    [TestCase("--bs=100", "--bs")]
    [TestCase("--bs=4k,8k,16k,32k", "--bs")]
    [TestCase("--rw=sideways", "--rw")]
    [TestCase("--rwmixread=101", "--rwmixread")]
    [TestCase("--iodepth=0", "--iodepth")]
    [TestCase("--iodepth", "--iodepth")]
    [TestCase("--numjobs=many", "--numjobs")]
    [TestCase("--runtime=5y", "--runtime")]
    [TestCase("--runtime=0", "--runtime")]
    [TestCase("--size=0", "--size")]
    [TestCase("--ramp_time=-1", "--ramp_time")]
    [TestCase("--output-format=xml", "--output-format")]
    [TestCase("--plot=out.jpg", "--plot")]
    [TestCase("--prchk=guard,crc", "--prchk")]
    [TestCase("--apptag=0x10000", "--apptag")]
    [TestCase("--host-pi=sometimes", "--host-pi")]
    [TestCase("--verify=md5", "--verify")]
    [TestCase("--time_based=maybe", "--time_based")]
    [TestCase("--frobnicate=1", "--frobnicate")]
    [TestCase("stray", "stray")]
    public void Bad_flags_name_the_flag_and_exit_2(string arg, string flag)
    {
        var ex = Assert.Throws<UsageException>(() => BenchOptionParser.Parse([arg]));
        Assert.That(ex!.Flag, Is.EqualTo(flag));
        Assert.That(ex.Message, Does.StartWith(flag + ":"));

        var run = CliRunner.Run("bench", arg);
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain(flag));
        Assert.That(run.Stdout, Is.Empty, "nothing runs");
    }

    [Test]
    public void Pract_with_host_generate_is_refused()
    {
        var ex = Assert.Throws<UsageException>(() => BenchOptionParser.Parse(["--pract", "--host-pi=generate"]));
        Assert.That(ex!.Flag, Is.EqualTo("--pract"));
    }

    [Test]
    public void A_flag_given_twice_takes_the_last_value_as_fio_does()
    {
        var o = BenchOptionParser.Parse(["--bs=4k", "--bs", "8k", "--rw=read", "--rw=randwrite"]);
        Assert.That(o.BlockSizes.Read.Min, Is.EqualTo(8192));
        Assert.That(o.Pattern, Is.EqualTo(RwPattern.RandWrite));
        Assert.That(o.Typed.Where(kv => kv.Key == "bs").Select(kv => kv.Value), Is.EqualTo(new[] { "4k", "8k" }), "fio lists both in job options");
    }

    [Test]
    public void Per_direction_block_sizes_follow_fio()
    {
        var o = BenchOptionParser.Parse(["--bs=8k,32k"]);
        Assert.That((o.BlockSizes.Read.Min, o.BlockSizes.Write.Min, o.BlockSizes.Trim.Min), Is.EqualTo((8192, 32768, 32768)));
        o = BenchOptionParser.Parse(["--bs=8k,32k,"]);
        Assert.That((o.BlockSizes.Read.Min, o.BlockSizes.Write.Min, o.BlockSizes.Trim.Min), Is.EqualTo((8192, 32768, 4096)), "a trailing comma keeps the default");
        o = BenchOptionParser.Parse(["--bs=,8k"]);
        Assert.That((o.BlockSizes.Read.Min, o.BlockSizes.Write.Min, o.BlockSizes.Trim.Min), Is.EqualTo((4096, 8192, 8192)));
    }
}
