using System.Text.Json;
using NUnit.Framework;
using PolledNvme.Bench.Report;
using PolledNvme.Bench.Run;
using PolledNvme.Tests.Scripts;

namespace PolledNvme.Tests.Bench;

/// <summary>Percentiles within the recorded range, exact mean and deviation, fio's latency bins.</summary>
[TestFixture]
public class LatencyStatsTests
{
    [Test]
    public void Percentiles_never_exceed_the_maximum_nor_fall_below_the_minimum()
    {
        var s = new LatencyStats();
        // 1,000,001 ns sits low in HdrHistogram's 512 ns wide bucket: the histogram alone answers with the bucket's top.
        s.Record(1_000_001);
        s.Record(999_999);
        Assert.That(s.Histogram!.GetValueAtPercentile(100), Is.GreaterThan(s.Max), "the raw histogram overshoots (the bug this guards against)");
        foreach (double p in new[] { 0.001, 1, 50, 99, 99.99, 100 })
        {
            Assert.That(s.Percentile(p), Is.LessThanOrEqualTo(s.Max), $"p{p}");
            Assert.That(s.Percentile(p), Is.GreaterThanOrEqualTo(s.Min), $"p{p}");
        }
        Assert.That(s.Percentile(100), Is.EqualTo(1_000_001));
        Assert.That(s.Percentile(1), Is.EqualTo(999_999).Within(999_999 / 1000), "min is never above p1");
    }

    [Test]
    public void Random_latencies_keep_every_percentile_inside_the_range()
    {
        var random = new Random(7);
        for (int trial = 0; trial < 50; trial++)
        {
            var s = new LatencyStats();
            int n = random.Next(1, 2000);
            for (int i = 0; i < n; i++) s.Record((long)Math.Exp(random.NextDouble() * 25));
            long previous = 0;
            foreach (double p in PolledNvme.Bench.Options.BenchOptions.DefaultPercentiles.Append(99.999).Append(100))
            {
                long v = s.Percentile(p);
                Assert.That(v, Is.InRange(s.Min, s.Max), $"trial {trial} p{p}");
                Assert.That(v, Is.GreaterThanOrEqualTo(previous), "percentiles ascend");
                previous = v;
            }
        }
    }

    [Test]
    public void Mean_and_deviation_are_exact_as_fio_computes_them()
    {
        var s = new LatencyStats();
        long[] values = [100, 200, 300, 400, 1_000_000];
        foreach (long v in values) s.Record(v);
        double mean = values.Average();
        double sampleDev = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
        Assert.That(s.Mean, Is.EqualTo(mean));
        Assert.That(s.StdDev, Is.EqualTo(sampleDev).Within(1e-6));
        Assert.That((s.Min, s.Max, s.Count), Is.EqualTo((100L, 1_000_000L, 5L)));
    }

    [Test]
    public void Rate_samples_merge_as_a_distribution_and_as_fio_group_sum()
    {
        var a = new SampleStats();
        var b = new SampleStats();
        foreach (long v in new long[] { 10, 20, 30 }) a.Add(v);
        foreach (long v in new long[] { 40, 50 }) b.Add(v);
        var all = new SampleStats();
        all.Merge(a, pureSum: false);
        all.Merge(b, pureSum: false);
        Assert.That((all.Samples, all.Min, all.Max, all.Mean), Is.EqualTo((5L, 10L, 50L, 30.0)));
        Assert.That(all.StdDev, Is.EqualTo(Math.Sqrt(250.0)).Within(1e-9));
        var group = new SampleStats();
        group.Merge(a, pureSum: true);
        group.Merge(b, pureSum: true);
        Assert.That((group.Min, group.Max, group.Mean), Is.EqualTo((50L, 80L, 65.0)), "a group's rate is the sum of its jobs' rates");
    }

    [TestCase(0UL, 0)]
    [TestCase(127UL, 127)]
    [TestCase(128UL, 128)]
    [TestCase(129UL, 128)]
    [TestCase(130UL, 129)]
    [TestCase(255UL, 191)]
    [TestCase(256UL, 192)]
    [TestCase(ulong.MaxValue, FioBins.BucketCount - 1)]
    public void Fio_bucket_of_a_value(ulong value, int index) => Assert.That(FioBins.ValueToIndex(value), Is.EqualTo(index));

    [TestCase(127, 127UL)]
    [TestCase(128, 129UL)]
    [TestCase(191, 255UL)]
    [TestCase(192, 258UL)]
    public void Fio_value_of_a_bucket(int index, ulong value) => Assert.That(FioBins.IndexToValue(index), Is.EqualTo(value));

    [Test]
    public void Every_histogram_bucket_falls_inside_one_fio_bucket()
    {
        var s = new LatencyStats();
        var random = new Random(3);
        for (int i = 0; i < 200_000; i++)
        {
            long v = (long)Math.Exp(random.NextDouble() * 28);
            long low = s.Histogram!.LowestEquivalentValue(v), high = s.Histogram!.NextNonEquivalentValue(v) - 1;
            Assert.That(FioBins.ValueToIndex((ulong)low), Is.EqualTo(FioBins.ValueToIndex((ulong)high)), $"{v}: [{low}, {high}]");
            Assert.That(FioBins.ValueToIndex((ulong)v), Is.EqualTo(FioBins.ValueToIndex((ulong)low)));
        }
    }

    [Test]
    public void Bins_count_every_sample_in_fio_buckets()
    {
        var s = new LatencyStats();
        var random = new Random(5);
        var expected = new long[FioBins.BucketCount];
        for (int i = 0; i < 50_000; i++)
        {
            long v = (long)Math.Exp(random.NextDouble() * 22);
            s.Record(v);
            expected[FioBins.ValueToIndex((ulong)v)]++;
        }
        var bins = FioBins.Of(s);
        Assert.That(bins.Sum(b => b.Count), Is.EqualTo(50_000));
        foreach (var (index, count) in bins) Assert.That(count, Is.EqualTo(expected[index]), $"bucket {index}");
    }

    [Test]
    public void Our_fio_buckets_read_fios_own_json_plus()
    {
        string path = Path.Combine(ScriptRunner.RepoRoot, "tests", "data", "fio-3.33-reference.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var read = doc.RootElement.GetProperty("jobs")[0].GetProperty("read");
        foreach (string latency in new[] { "slat_ns", "clat_ns", "lat_ns" })
        {
            var l = read.GetProperty(latency);
            long n = 0;
            var counts = new SortedDictionary<int, long>();
            foreach (var bin in l.GetProperty("bins").EnumerateObject())
            {
                ulong value = ulong.Parse(bin.Name);
                int index = FioBins.ValueToIndex(value);
                Assert.That(FioBins.IndexToValue(index), Is.EqualTo(value), $"{latency} bin {value}");
                counts[index] = bin.Value.GetInt64();
                n += bin.Value.GetInt64();
            }
            Assert.That(n, Is.EqualTo(l.GetProperty("N").GetInt64()), latency);
            // fio's percentile: the value of the first bucket whose running sum reaches p% of N.
            foreach (var p in l.GetProperty("percentile").EnumerateObject())
            {
                double percent = double.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture);
                long sum = 0;
                ulong value = 0;
                foreach (var (index, count) in counts)
                {
                    sum += count;
                    if (sum >= percent / 100 * n) { value = FioBins.IndexToValue(index); break; }
                }
                Assert.That(value, Is.EqualTo(p.Value.GetUInt64()), $"{latency} p{p.Name}");
            }
        }
    }

    [Test]
    public void A_runs_json_keeps_every_percentile_between_min_and_max()
    {
        var run = CliRunner.Run("bench", "--device=mem:size=16M", "--runtime=300ms", "--iodepth=8", "--progress=0", "--pin=0",
            "--output-format=json", "--lat_percentiles=1", "--slat_percentiles=1", "--percentile_list=1:50:99:99.999:100");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        using var doc = JsonDocument.Parse(run.Stdout);
        foreach (string dir in new[] { "read", "write" })
        {
            foreach (string latency in new[] { "slat_ns", "clat_ns", "lat_ns" })
            {
                var l = doc.RootElement.GetProperty("jobs")[0].GetProperty(dir).GetProperty(latency);
                long min = l.GetProperty("min").GetInt64(), max = l.GetProperty("max").GetInt64();
                var percentiles = l.GetProperty("percentile").EnumerateObject().ToArray();
                Assert.That(percentiles.Select(p => p.Name), Is.EqualTo(new[] { "1.000000", "50.000000", "99.000000", "99.999000", "100.000000" }));
                foreach (var p in percentiles)
                    Assert.That(p.Value.GetInt64(), Is.InRange(min, max), $"{dir} {latency} p{p.Name}");
                Assert.That(percentiles[^1].Value.GetInt64(), Is.EqualTo(max), "p100 is the maximum");
            }
        }
    }
}
