using System.Diagnostics;
using NUnit.Framework;
using PolledNvme.Bench.Engines;
using PolledNvme.Bench.Run;
using PolledNvme.Driver.Spec;

namespace PolledNvme.Tests.Bench;

[TestFixture]
public class BenchStatsTests
{
    [Test]
    public void Direction_stats_merge_counts_extremes_and_percentiles()
    {
        var a = new DirectionStats();
        var b = new DirectionStats();
        for (int i = 1; i <= 1000; i++) a.Record(100, i * 1000, 4096, IoResultKind.Ok);      // 1..1000 µs
        for (int i = 1; i <= 1000; i++) b.Record(100, 1_000_000 + i * 1000, 4096, IoResultKind.Ok);
        b.Record(100, 5_000_000, 4096, IoResultKind.GuardError);
        var total = new DirectionStats();
        total.Add(a);
        total.Add(b);
        Assert.Multiple(() =>
        {
            Assert.That(total.Ios, Is.EqualTo(2001));
            Assert.That(total.Bytes, Is.EqualTo(2000L * 4096), "failed I/Os move no bytes");
            Assert.That(total.Clat!.Min, Is.EqualTo(1000));
            Assert.That(total.Clat.Max, Is.EqualTo(5_000_000));
            Assert.That(total.Lat!.Max, Is.EqualTo(5_000_100), "lat = slat + clat");
            Assert.That(total.Slat!.Mean, Is.EqualTo(100));
            Assert.That(total.PiErrors, Is.EqualTo(1));
            Assert.That(total.Clat.Histogram!.TotalCount, Is.EqualTo(2001));
            // Median of 1..1000 µs ∪ 1001..2000 µs (+ one 5 ms) is ~1000 µs; HdrHistogram keeps 3 digits.
            Assert.That(total.Clat.Percentile(50), Is.EqualTo(1_000_000).Within(1_000_000 / 500));
        });
    }

    [Test]
    public void Timeline_keeps_every_completion_when_it_coarsens()
    {
        var t = new RunTimeline(TimeSpan.FromMilliseconds(10), capacity: 8);
        long start = 1_000_000;
        t.Start(start);
        long tick10ms = Stopwatch.Frequency / 100;
        for (int i = 0; i < 40; i++) t.Record(start + i * tick10ms / 2, i % 2, 4096, 1000 + i);   // 20 buckets' worth at 10 ms
        double seconds = t.BucketSeconds;
        Assert.That(seconds, Is.EqualTo(0.04).Within(1e-6), "10 ms doubled twice to fit 8 buckets");
        Assert.That(t.Iops(0).Sum() * seconds, Is.EqualTo(20).Within(1e-6));
        Assert.That(t.Iops(1).Sum() * seconds, Is.EqualTo(20).Within(1e-6));
        Assert.That(t.BytesPerSecond(1).Sum() * seconds, Is.EqualTo(20 * 4096).Within(1e-6));
        Assert.That(t.MaxLatencyNs(1).Where(double.IsFinite).Max(), Is.EqualTo(1039));
    }

    [Test]
    public void Verify_pattern_round_trips_and_catches_any_flipped_bit()
    {
        var blocks = new byte[4 * 512];
        VerifyPattern.Fill(blocks, 512, 100, 42);
        Assert.That(VerifyPattern.FindMismatch(blocks, 512, 100, 42), Is.EqualTo(-1));
        Assert.That(VerifyPattern.FindMismatch(blocks, 512, 101, 42), Is.EqualTo(0), "read from the wrong LBA");
        Assert.That(VerifyPattern.FindMismatch(blocks, 512, 100, 43), Is.EqualTo(0), "another run's seed");
        var random = new Random(1);
        for (int trial = 0; trial < 200; trial++)
        {
            int bit = random.Next(blocks.Length * 8);
            blocks[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.That(VerifyPattern.FindMismatch(blocks, 512, 100, 42), Is.EqualTo(bit / 8 / 512), $"bit {bit}");
            blocks[bit / 8] ^= (byte)(1 << (bit % 8));
        }
    }

    [Test]
    public void Nvme_pi_statuses_map_to_their_error_kinds()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ErrorText.Classify(NvmeStatus.EndToEndGuardCheckError), Is.EqualTo(IoResultKind.GuardError));
            Assert.That(ErrorText.Classify(NvmeStatus.EndToEndApplicationTagCheckError), Is.EqualTo(IoResultKind.AppTagError));
            Assert.That(ErrorText.Classify(NvmeStatus.EndToEndReferenceTagCheckError), Is.EqualTo(IoResultKind.RefTagError));
            Assert.That(ErrorText.Classify(NvmeStatus.EndToEndStorageTagCheckError), Is.EqualTo(IoResultKind.StorageTagError));
            Assert.That(ErrorText.Classify(NvmeStatus.InvalidProtectionInformation), Is.EqualTo(IoResultKind.OtherError));
            Assert.That(ErrorText.Classify(NvmeStatus.Success), Is.EqualTo(IoResultKind.Ok));
            Assert.That(ErrorText.Describe(new IoOutcome(IoResultKind.GuardError, NvmeStatus.EndToEndGuardCheckError.Value, 3)),
                Is.EqualTo("EndToEndGuardCheckError (SCT 2h, SC 82h)"));
            Assert.That(ErrorText.Describe(new IoOutcome(IoResultKind.OtherError, -5, 3)), Does.StartWith("errno 5"));
        });
    }
}
