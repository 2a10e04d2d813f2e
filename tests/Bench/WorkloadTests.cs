using NUnit.Framework;
using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Run;

namespace PolledNvme.Tests.Bench;

/// <summary>Offsets, sizes and distributions as fio picks them (seeded, so each test is deterministic).</summary>
[TestFixture]
public class WorkloadTests
{
    private static OffsetPicker Picker(long blocks, RandomDistribution distribution, bool map = true, long unit = 1)
        => new(blocks, PerDirection<long>.All(unit), unit, map, distribution, 4096, new JobRandom(42, 1));

    [Test]
    public void Random_map_covers_every_unit_once_per_pass()
    {
        var picker = Picker(1000, RandomDistribution.Uniform);
        var seen = new HashSet<long>();
        for (int i = 0; i < 1000; i++)
        {
            long lba = picker.NextRandom(0, 1);
            Assert.That(seen.Add(lba), Is.True, $"lba {lba} twice in one pass");
        }
        Assert.That(seen, Has.Count.EqualTo(1000));
        Assert.That(picker.MapFull, Is.True);
        Assert.That(picker.NextRandom(0, 1), Is.EqualTo(-1), "the pass is over");
        picker.NewPass();
        Assert.That(picker.NextRandom(0, 1), Is.InRange(0, 999));
    }

    [Test]
    public void Without_the_random_map_blocks_repeat()
    {
        var picker = Picker(1000, RandomDistribution.Uniform, map: false);
        var seen = new HashSet<long>();
        for (int i = 0; i < 1000; i++) seen.Add(picker.NextRandom(0, 1));
        Assert.That(seen.Count, Is.LessThan(1000), "uniform draws with replacement (about 63 % distinct)");
    }

    [Test]
    public void Random_map_finds_free_units_past_full_words_and_wraps()
    {
        var map = new RandomMap(64 * 4096 + 7);
        map.Mark(0, 64 * 4096 + 3);
        Assert.That(map.NextFree(0), Is.EqualTo(64 * 4096 + 3));
        Assert.That(map.NextFree(64 * 4096 + 6), Is.EqualTo(64 * 4096 + 6));
        map.Mark(64 * 4096 + 3, 4);
        Assert.That(map.IsFull, Is.True);
        Assert.That(map.NextFree(5), Is.EqualTo(-1));
        map.Clear();
        map.Mark(10, 20);
        Assert.That(map.NextFree(15), Is.EqualTo(30));
        map.Mark(30, map.Units - 30);
        Assert.That(map.NextFree(40), Is.EqualTo(0), "wraps to the start");
    }

    [Test]
    public void Sequential_offsets_advance_by_each_io_and_wrap_at_the_end()
    {
        var picker = Picker(10, RandomDistribution.Uniform);
        Assert.That(new[] { picker.NextSequential(0, 4), picker.NextSequential(0, 4), picker.NextSequential(0, 4) }, Is.EqualTo(new long[] { 0, 4, 0 }));
        Assert.That(picker.NextSequential(1, 3), Is.EqualTo(0), "each direction has its own position");
    }

    [Test]
    public void Bssplit_weights_sizes_as_given()
    {
        var split = FioValueLists.ParseBlockSizeSplit("--bssplit", "4k/10:64k/50:32k/", 1024);
        Assert.That(split.Split!.Select(s => (s.Bytes, s.Percent)), Is.EquivalentTo(new[] { (4096, 10), (65536, 50), (32768, 40) }));
        var picker = new BlockSizePicker(PerDirection<BlockSizeSpec>.All(split), 4096, new JobRandom(1, 1));
        var counts = new Dictionary<int, int>();
        for (int i = 0; i < 100_000; i++)
        {
            int blocks = picker.Next(0);
            counts[blocks] = counts.GetValueOrDefault(blocks) + 1;
        }
        Assert.That(counts.Keys, Is.EquivalentTo(new[] { 1, 16, 8 }));
        Assert.That(counts[1] / 1000.0, Is.EqualTo(10).Within(1));
        Assert.That(counts[16] / 1000.0, Is.EqualTo(50).Within(1));
        Assert.That(counts[8] / 1000.0, Is.EqualTo(40).Within(1));
        Assert.Throws<UsageException>(() => FioValueLists.ParseBlockSizeSplit("--bssplit", "4k/60:8k/50", 1024));
    }

    [Test]
    public void Bsrange_picks_multiples_of_the_minimum_up_to_the_maximum()
    {
        var range = FioValueLists.ParseBlockSizeRange("--bsrange", "4k-16k", 1024);
        var picker = new BlockSizePicker(PerDirection<BlockSizeSpec>.All(range), 4096, new JobRandom(1, 1));
        var counts = new int[5];
        for (int i = 0; i < 40_000; i++) counts[picker.Next(0)]++;
        Assert.That(counts[0], Is.Zero);
        Assert.That(counts[1] + counts[2] + counts[3] + counts[4], Is.EqualTo(40_000));
        // fio's min + max·u aligned down to min and capped at max: 4k + [0, 16k) gives 4k, 8k, 12k and 16k a quarter each.
        for (int b = 1; b <= 4; b++) Assert.That(counts[b] / 400.0, Is.EqualTo(25).Within(1.5), $"{b * 4}k");
    }

    [Test]
    public void Zipf_and_pareto_concentrate_on_few_ranges_and_normal_on_the_middle()
    {
        const int ranges = 10_000;
        var zipf = Picker(ranges, DistributionParser.Parse("--random_distribution", "zipf:1.2", 1024), map: false);
        var pareto = Picker(ranges, DistributionParser.Parse("--random_distribution", "pareto:0.9", 1024), map: false);
        var uniform = Picker(ranges, RandomDistribution.Uniform, map: false);
        Assert.That(TopShare(zipf, ranges), Is.GreaterThan(0.5), "zipf 1.2: the hottest 1 % of ranges take most accesses");
        Assert.That(TopShare(pareto, ranges), Is.GreaterThan(0.1), "pareto 0.9: the hottest 1 % take ten times their share");
        Assert.That(TopShare(uniform, ranges), Is.LessThan(0.05));

        var normal = Picker(ranges, DistributionParser.Parse("--random_distribution", "normal:10:0.5", 1024), map: false);
        // fio hashes the gaussian index (its __hash_u64), so the hot ranges are scattered, but fewer of them are hit.
        Assert.That(Distinct(normal, ranges), Is.LessThan(0.8));
        Assert.That(Distinct(uniform, ranges), Is.GreaterThan(0.99));
    }

    private static double Distinct(OffsetPicker picker, int ranges)
    {
        var seen = new HashSet<long>();
        for (int i = 0; i < 100_000; i++) seen.Add(picker.NextRandom(0, 1));
        return seen.Count / (double)ranges;
    }

    private static double TopShare(OffsetPicker picker, int ranges)
    {
        var counts = new int[ranges];
        const int draws = 100_000;
        for (int i = 0; i < draws; i++) counts[picker.NextRandom(0, 1)]++;
        return counts.OrderByDescending(c => c).Take(ranges / 100).Sum() / (double)draws;
    }

    [Test]
    public void Zoned_distribution_sends_each_share_of_accesses_to_its_zone()
    {
        var zoned = Picker(10_000, DistributionParser.Parse("--random_distribution", "zoned:50/5:30/15:20/", 1024), map: false);
        int first = 0, second = 0, rest = 0;
        for (int i = 0; i < 100_000; i++)
        {
            long lba = zoned.NextRandom(0, 1);
            if (lba < 500) first++;
            else if (lba < 2000) second++;
            else rest++;
        }
        Assert.That(first / 1000.0, Is.EqualTo(50).Within(1.5));
        Assert.That(second / 1000.0, Is.EqualTo(30).Within(1.5));
        Assert.That(rest / 1000.0, Is.EqualTo(20).Within(1.5));
        Assert.Throws<UsageException>(() => DistributionParser.Parse("--random_distribution", "zoned:50/5:30/15", 1024), "access shares must add to 100");
        // Zones for writes only: reads are uniform (fio falls back to plain random).
        var writesOnly = Picker(10_000, DistributionParser.Parse("--random_distribution", "zoned:,90/10:10/90", 1024), map: false);
        int low = 0;
        for (int i = 0; i < 10_000; i++) if (writesOnly.NextRandom(0, 1) < 1000) low++;
        Assert.That(low / 100.0, Is.EqualTo(10).Within(2), "reads spread over the whole region");
        low = 0;
        for (int i = 0; i < 10_000; i++) if (writesOnly.NextRandom(1, 1) < 1000) low++;
        Assert.That(low / 100.0, Is.EqualTo(90).Within(2), "writes in their zones");
    }

    [TestCase("zipf:1.0", "theta")]
    [TestCase("pareto:1.5", "pareto")]
    [TestCase("normal:100", "deviation")]
    [TestCase("zipf:1.2:2", "center")]
    [TestCase("gauss", "not one of")]
    public void Bad_distributions_are_refused_as_fio_refuses_them(string text, string why)
    {
        var ex = Assert.Throws<UsageException>(() => DistributionParser.Parse("--random_distribution", text, 1024));
        Assert.That(ex!.Message, Does.Contain(why));
    }

    [Test]
    public void Percent_size_and_offset_resolve_against_the_device()
    {
        var controller = DeviceTargets.OpenController("mem:size=16M");
        using var target = new NvmeBenchTarget(controller);
        var o = BenchOptionParser.Parse(["--size=50%", "--offset=25%", "--bs=8k", "--runtime=1"]);
        var plan = BenchPlan.Create(o, target);
        Assert.That(plan.RegionFirstLba * 4096, Is.EqualTo(4L << 20));
        Assert.That(plan.RegionBytes, Is.EqualTo(8L << 20));
        var tooMuch = BenchOptionParser.Parse(["--size=80%", "--offset=25%"]);
        Assert.Throws<UsageException>(() => BenchPlan.Create(tooMuch, target));
        var clones = BenchOptionParser.Parse(["--numjobs=3", "--size=4m", "--offset_increment=4m", "--runtime=1"]);
        Assert.That(BenchPlan.Create(clones, target).OffsetIncrementBlocks, Is.EqualTo(1024));
        var beyond = BenchOptionParser.Parse(["--numjobs=5", "--size=4m", "--offset_increment=4m"]);
        Assert.That(Assert.Throws<UsageException>(() => BenchPlan.Create(beyond, target))!.Message, Does.Contain("clone 4"));
    }

    [Test]
    public void Direct_maps_to_the_device_string()
    {
        Assert.That(JobDevices.WithDirect("emu:/tmp/x.img,pi=1", true), Is.EqualTo("emu:/tmp/x.img,pi=1,direct=1"));
        Assert.That(JobDevices.WithDirect("uring:/tmp/f,direct=0", false), Is.EqualTo("uring:/tmp/f,direct=0"));
        Assert.That(JobDevices.WithDirect("mem:size=1M", true), Is.EqualTo("mem:size=1M"));
        Assert.That(JobDevices.WithDirect("pci:0000:01:00.0", true), Is.EqualTo("pci:0000:01:00.0"));
        Assert.Throws<UsageException>(() => JobDevices.WithDirect("uring:/tmp/f,direct=0", true), "contradicts the device string");
        Assert.That(Assert.Throws<UsageException>(() => JobDevices.WithDirect("pci:0000:01:00.0", false))!.Message, Does.Contain("VFIO"));
        var o = BenchOptionParser.Parse(["--filename=data.bin", "--ioengine=libaio", "--size=1m", "--direct=1", "--directory=/var/tmp"]);
        Assert.That(JobDevices.Resolve(o), Is.EqualTo("uring:/var/tmp/data.bin,size=1048576,direct=1"));
        Assert.That(JobDevices.Resolve(BenchOptionParser.Parse(["--ioengine=null", "--size=64m"])), Is.EqualTo("null:size=67108864"));
        Assert.That(JobDevices.Resolve(BenchOptionParser.Parse(["--name=j", "--ioengine=psync", "--size=1m"])), Is.EqualTo("uring:./j.0.0,size=1048576"));
    }

    [Test]
    public void Options_pnvme_used_to_refuse_now_parse_as_fio_defines_them()
    {
        var o = BenchOptionParser.Parse([
            "--bssplit=4k/50:8k/50", "--random_distribution=zipf:1.1", "--rate_iops=100,200", "--rate=1m", "--norandommap", "--randrepeat=0",
            "--group_reporting", "--thread", "--cpus_allowed=0", "--loops=2", "--startdelay=1-2", "--size=10%", "--offset=10%",
            "--percentile_list=50:99", "--lat_percentiles=1", "--clat_percentiles=0", "--rw=randtrim",
        ]);
        Assert.Multiple(() =>
        {
            Assert.That(o.BlockSizes.Read.Split, Has.Count.EqualTo(2));
            Assert.That(o.Distribution.Kind, Is.EqualTo(DistributionKind.Zipf));
            Assert.That(o.RateIops, Is.EqualTo(new PerDirection<long>(100, 200, 200)));
            Assert.That(o.RateBytes, Is.EqualTo(new PerDirection<long>(1 << 20, 1 << 20, 1 << 20)));
            Assert.That((o.NoRandomMap, o.RandRepeat, o.GroupReporting), Is.EqualTo((true, false, true)));
            Assert.That(o.CpusAllowed, Is.EqualTo(new[] { 0 }));
            Assert.That((o.Loops, o.StartDelay), Is.EqualTo((2, (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)))));
            Assert.That((o.SizePercent, o.OffsetPercent), Is.EqualTo(((double?)10, (double?)10)));
            Assert.That(o.Percentiles, Is.EqualTo(new[] { 50.0, 99.0 }));
            Assert.That((o.LatPercentiles, o.ClatPercentiles), Is.EqualTo((true, false)));
            Assert.That(o.Pattern, Is.EqualTo(RwPattern.RandTrim));
        });
    }
}
