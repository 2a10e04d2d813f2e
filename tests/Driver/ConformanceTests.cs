using NUnit.Framework;
using PolledNvme.Conformance;
using PolledNvme.Driver;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// The expectations of tests/Conformance, which the QEMU guest test holds QEMU's controller to,
/// run against our emulated controller: every PI format QEMU supports, each on a fresh
/// namespace, and the same Format NVM walk the guest does.
/// </summary>
[Parallelizable(ParallelScope.None)]
public class ConformanceTests
{

    private static IEnumerable<ConformanceFormat> Matrix()
        => ConformanceFormat.PiMatrix(PiGuardFormat.Guard16).Concat(ConformanceFormat.PiMatrix(PiGuardFormat.Guard64));

    private static IEnumerable<TestCaseData> ControllerCases()
        => from boot in ConformanceBoot.QemuBoots
           from e in ControllerExpectations.Controller
           select new TestCaseData(boot, e).SetName($"{e.Name}({boot.Name})");

    private static IEnumerable<TestCaseData> FormatCases()
        => from f in Matrix().Concat(ConformanceBoot.QemuBoots.Select(b => b.Namespace)).Distinct()
           from e in ControllerExpectations.For(f)
           select new TestCaseData(f, e).SetName($"{e.Name}({f.Name})");

    [TestCaseSource(nameof(ControllerCases))]
    public void ControllerExpectation(ConformanceBoot boot, Expectation expectation)
    {
        using var setup = EmulatedSetup.Open(boot.EmulatedAddress);
        using IoQueuePair queue = setup.Controller.CreateIoQueuePair(32);
        string? failure = ConformanceRunner.Run(expectation, new ConformanceTarget(setup.Controller, queue, ControllerKind.Emulated, boot.Namespace));
        Assert.That(failure, Is.Null, expectation.Rule);
    }

    [TestCaseSource(nameof(FormatCases))]
    public void FormatExpectation(ConformanceFormat format, Expectation expectation)
    {
        using var setup = EmulatedSetup.Open(format.EmulatedAddress());
        using IoQueuePair queue = setup.Controller.CreateIoQueuePair(32);
        var target = new ConformanceTarget(setup.Controller, queue, ControllerKind.Emulated, format);
        string? failure = ConformanceRunner.Run(expectation, target);
        Assert.That(failure, Is.Null, expectation.Rule);
        Assert.That(target.DeviationSeen, Is.Null, "the emulated controller follows the spec where QEMU deviates");
    }

    /// <summary>The guest's walk: one controller, Format NVM to each format of one guard, all expectations after each.</summary>
    [TestCase("bs512-ms8-sep-pi1-pil0-pif0")]
    [TestCase("bs4096-ms16-ext-pi2-pil1-pif2")]
    [TestCase("bs4096-ms64-sep-pi3-pil0-pif2")]
    public void FormatNvmWalk(string initialName)
    {
        ConformanceFormat initial = ConformanceFormat.Parse(initialName);
        using var setup = EmulatedSetup.Open(initial.EmulatedAddress());
        var sink = new CollectingSink();
        ConformanceRunner.RunFormat(setup.Controller, initial, ControllerKind.Emulated, sink, formatFirst: false);
        foreach (ConformanceFormat f in ConformanceFormat.PiMatrix(initial.Guard).Where(f => f != initial))
            ConformanceRunner.RunFormat(setup.Controller, f, ControllerKind.Emulated, sink, formatFirst: true);
        Assert.That(sink.Failures, Is.Empty);
        Assert.That(sink.Passed, Is.GreaterThan(ConformanceFormat.PiMatrix(initial.Guard).Count() * 5));
    }

    [Test]
    public void FormatNamesRoundTripAndBadNamesAreRejected()
    {
        foreach (ConformanceFormat f in Matrix())
            Assert.That(ConformanceFormat.Parse(f.Name), Is.EqualTo(f));
        Assert.That(ConformanceFormat.PiMatrix(PiGuardFormat.Guard16).Count(), Is.EqualTo(48));
        Assert.That(ConformanceFormat.PiMatrix(PiGuardFormat.Guard64).Count(), Is.EqualTo(24));
        Assert.Throws<FormatException>(() => ConformanceFormat.Parse("bs1024-ms8-sep-pi1-pil0-pif0"));
        Assert.Throws<FormatException>(() => ConformanceFormat.Parse("bs512-ms8-sep-pi1-pil0-pif1"));
        foreach (ConformanceBoot boot in ConformanceBoot.QemuBoots)
            Assert.That(ConformanceBoot.Parse(boot.Name), Is.EqualTo(boot));
        Assert.That(ConformanceBoot.Parse("bs4096-ms0-sep-pi0-pil0-pif0-mdts10").Mdts, Is.EqualTo(10));
        Assert.That(ConformanceBoot.Parse("bs512-ms8-sep-pi1-pil0-pif0").Mdts, Is.EqualTo(ConformanceBoot.DefaultMdts));
        Assert.Throws<FormatException>(() => ConformanceBoot.Parse("bs512-ms8-sep-pi1-pil0-pif0-mdts11"));
        Assert.That(ConformanceFormat.Parse("bs4096-ms64-ext-pi3-pil1-pif2").QemuProperties,
            Is.EqualTo("logical_block_size=4096,physical_block_size=4096,ms=64,mset=1,pi=3,pil=1,pif=2"));
    }

    [Test]
    public void FormatIndexNamesWhatIsMissing()
    {
        using var setup = EmulatedSetup.Open(ConformanceFormat.Parse("bs512-ms8-sep-pi1-pil0-pif0").EmulatedAddress());
        var e = Assert.Throws<ArgumentException>(() => ConformanceRunner.FormatIndex(setup.Ns, new ConformanceFormat(512, 64, false, PiType.Type1, PiLocation.Last, PiGuardFormat.Guard64)));
        Assert.That(e!.Message, Does.Contain("no LBA format 512+64 with Guard64"));
    }

    private sealed class CollectingSink : IConformanceSink
    {
        public int Passed;
        public List<string> Failures { get; } = new();
        void IConformanceSink.Passed(string check, string subject, string? deviation) => Passed++;
        void IConformanceSink.Failed(string check, string subject, string message) => Failures.Add($"{check} [{subject}]: {message}");
    }
}
