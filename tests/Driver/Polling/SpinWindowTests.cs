using NUnit.Framework;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver.Polling;

/// <summary>
/// When a poller that found nothing sleeps (<see cref="SpinWindow"/>): after its window, or at once
/// when the gap between two empty polls says the thread lost its CPU. Synthetic clock: no timing.
/// </summary>
public class SpinWindowTests
{
    private const long Start = 1_000_000;
    private static readonly long Step = SpinWindow.LostCpuTicks / 4;   // polls that keep the CPU
    private static readonly long Length = SpinWindow.LostCpuTicks * 10;

    [Test]
    public void PollsThatKeepTheCpuSpinTheWholeWindowThenSleep()
    {
        var spin = new SpinWindow();
        long now = Start;
        Assert.That(spin.ShouldSleep(now, Length), Is.False, "the first empty poll opens the window");
        while (now + Step < Start + Length)
        {
            now += Step;
            Assert.That(spin.ShouldSleep(now, Length), Is.False, $"still inside the window at +{now - Start} ticks");
        }
        Assert.That(spin.ShouldSleep(Start + Length, Length), Is.True, "the window is over");
    }

    [Test]
    public void AGapLongerThanLostCpuTicksSleepsAtOnceInsideTheWindow()
    {
        var spin = new SpinWindow();
        Assert.That(spin.ShouldSleep(Start, Length), Is.False);
        Assert.That(spin.ShouldSleep(Start + SpinWindow.LostCpuTicks, Length), Is.False, "a gap of exactly LostCpuTicks still counts as running");
        Assert.That(spin.ShouldSleep(Start + 2 * SpinWindow.LostCpuTicks + 1, Length), Is.True, "descheduled for longer: sleep, the core is wanted elsewhere");
    }

    [Test]
    public void ResetOpensANewWindowAndForgetsThePreviousPoll()
    {
        var spin = new SpinWindow();
        Assert.That(spin.ShouldSleep(Start, Length), Is.False);
        Assert.That(spin.ShouldSleep(Start + Length, Length), Is.True);
        spin.Reset();   // a completion
        long later = Start + 100 * Length;   // long after the last empty poll: not a lost CPU, a new window
        Assert.That(spin.ShouldSleep(later, Length), Is.False);
        Assert.That(spin.ShouldSleep(later + Step, Length), Is.False);
        Assert.That(spin.ShouldSleep(later + Length, Length), Is.True);
    }

    [Test]
    public void AZeroWindowSleepsAtTheFirstEmptyPoll()
    {
        var spin = new SpinWindow();
        Assert.That(spin.ShouldSleep(Start, 0), Is.True);
        Assert.That(spin.ShouldSleep(Start + 1, 0), Is.True);
    }

    [Test]
    public void TheLengthIsTheCallersAtEachPoll()
    {
        // The emulated device lengthens its window while a host it signalled wakes up.
        var spin = new SpinWindow();
        Assert.That(spin.ShouldSleep(Start, Length), Is.False);
        long now = Start;
        for (int i = 0; i < 50; i++)
            Assert.That(spin.ShouldSleep(now += Step, 100 * Length), Is.False);
        Assert.That(spin.ShouldSleep(now + Step, Length), Is.True, "back to the short window, which is over");
    }
}
