using NUnit.Framework;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Tools;

namespace PolledNvme.Tests.Bench;

/// <summary>nvme-cli's command line grammar (argconfig over getopt_long_only), as the tools read it.</summary>
public class NvmeCliArgsTests
{
    private static readonly CliOption[] Options =
    [
        CliOption.Of("start-block", 's', "NUM", ""),
        CliOption.Of("storage-tag", 'S', "NUM", ""),
        CliOption.Of("block-count", 'c', "NUM", ""),
        CliOption.Of("data", 'd', "FILE", ""),
        CliOption.Of("data-size", 'z', "NUM", ""),
        CliOption.Flag("ad", '\0', ""),
        CliOption.Flag("human-readable", 'H', ""),
        CliOption.Flag("raw-binary", 'b', ""),
        CliOption.Of("slbs", '\0', "LIST", ""),
    ];

    private static NvmeCliArgs Parse(params string[] args) => NvmeCliArgs.Parse(args, Options);

    [Test]
    public void The_device_is_positional_and_may_come_anywhere()
    {
        Assert.That(Parse("emu:/x.img", "-s", "0").Positionals, Is.EqualTo(new[] { "emu:/x.img" }));
        Assert.That(Parse("-s", "0", "emu:/x.img", "-c", "7").Positionals, Is.EqualTo(new[] { "emu:/x.img" }));
        Assert.That(Parse("-s", "0", "--", "-odd-name").Positionals, Is.EqualTo(new[] { "-odd-name" }), "-- ends the options");
    }

    [TestCase("-s", "5")]
    [TestCase("-s5")]
    [TestCase("--start-block=5")]
    [TestCase("--start-block", "5")]
    [TestCase("-start-block=5")]
    [TestCase("--start=5")]
    [TestCase("-start", "5")]
    public void Every_spelling_nvme_cli_takes_gives_the_value(params string[] args)
        => Assert.That(Parse(args).Get("start-block"), Is.EqualTo("5"));

    [Test]
    public void Short_flags_cluster_and_a_value_may_end_the_cluster()
    {
        var a = Parse("-Hbz4096");
        Assert.That(a.Has("human-readable") && a.Has("raw-binary"), Is.True);
        Assert.That(a.Get("data-size"), Is.EqualTo("4096"));
    }

    [Test]
    public void A_single_dash_long_name_wins_over_short_letters()
        => Assert.That(Parse("-ad").Has("ad"), Is.True);   // getopt_long_only: "ad" is a long option, not -a -d

    [Test]
    public void Short_options_are_case_sensitive()
    {
        var a = Parse("-s", "1", "-S", "2");
        Assert.That(a.Get("start-block"), Is.EqualTo("1"));
        Assert.That(a.Get("storage-tag"), Is.EqualTo("2"));
    }

    [Test]
    public void A_repeated_option_takes_its_last_value()
        => Assert.That(Parse("-s", "1", "--start-block=9").Number("start-block", 100), Is.EqualTo(9));

    [Test]
    public void Unknown_ambiguous_and_valueless_options_are_refused_by_name()
    {
        Assert.That(() => Parse("--bogus"), Throws.TypeOf<UsageException>().With.Message.StartsWith("--bogus: unknown option"));
        Assert.That(() => Parse("-x"), Throws.TypeOf<UsageException>().With.Message.StartsWith("-x: unknown option"));
        Assert.That(() => Parse("--data"), Throws.TypeOf<UsageException>().With.Message.Contains("needs a value"));
        Assert.That(() => Parse("--st=1"), Throws.TypeOf<UsageException>().With.Message.Contains("ambiguous"));
        Assert.That(() => Parse("--ad=yes"), Throws.TypeOf<UsageException>().With.Message.Contains("takes no value"));
    }

    [TestCase("10", 10UL)]
    [TestCase("0x1f", 31UL)]
    [TestCase("0X1F", 31UL)]
    [TestCase("017", 15UL)]   // strtoul(s, 0): a leading 0 is octal, as in nvme-cli
    [TestCase("0", 0UL)]
    public void Numbers_read_as_strtoul_base_0(string text, ulong value)
        => Assert.That(NvmeCliArgs.ParseNumber("--x", text, ulong.MaxValue), Is.EqualTo(value));

    [TestCase("08")]
    [TestCase("-1")]
    [TestCase("12abc")]
    [TestCase("0x")]
    [TestCase("")]
    [TestCase("99999999999999999999999")]
    public void Bad_numbers_are_refused(string text)
        => Assert.That(() => NvmeCliArgs.ParseNumber("--x", text, ulong.MaxValue), Throws.TypeOf<UsageException>().With.Message.StartsWith("--x:"));

    [Test]
    public void A_value_past_the_field_width_is_refused()
        => Assert.That(() => Parse("-c", "65536").Number("block-count", ushort.MaxValue), Throws.TypeOf<UsageException>().With.Message.Contains("65535"));

    [TestCase("4k", 4096UL)]
    [TestCase("4K", 4096UL)]
    [TestCase("4Ki", 4096UL)]
    [TestCase("2M", 2UL << 20)]
    [TestCase("1GiB", 1UL << 30)]
    [TestCase("0x10", 16UL)]
    public void Suffixed_values_are_powers_of_1024(string text, ulong value)
        => Assert.That(NvmeCliArgs.ParseSuffixed("--x", text), Is.EqualTo(value));

    [TestCase("4q")]
    [TestCase("4kx")]
    [TestCase("16777216P")]
    public void Bad_suffixes_are_refused(string text)
        => Assert.That(() => NvmeCliArgs.ParseSuffixed("--x", text), Throws.TypeOf<UsageException>());

    [Test]
    public void Lists_are_comma_separated_numbers()
    {
        Assert.That(Parse("--slbs", "0,0x10,020").List("slbs", ulong.MaxValue, 256), Is.EqualTo(new ulong[] { 0, 16, 16 }));
        Assert.That(Parse().List("slbs", ulong.MaxValue, 256), Is.Empty);
        Assert.That(() => Parse("--slbs", "1,,2").List("slbs", ulong.MaxValue, 256), Throws.TypeOf<UsageException>());
        Assert.That(() => Parse("--slbs", "1,2,3").List("slbs", ulong.MaxValue, 2), Throws.TypeOf<UsageException>().With.Message.Contains("at most 2"));
    }

    [Test]
    public void Help_is_recognised_and_lists_every_option()
    {
        Assert.That(Parse("-h").HelpRequested, Is.True);
        Assert.That(Parse("--help").HelpRequested, Is.True);
        string help = NvmeCliArgs.Help("pnvme x <device>", "does x", Options);
        foreach (var o in Options)
            Assert.That(help, Does.Contain("--" + o.Long));
        Assert.That(help, Does.Contain("-s, --start-block=NUM"));
    }
}
