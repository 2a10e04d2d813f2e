using NUnit.Framework;
using PolledNvme.Uring;

namespace PolledNvme.Tests.Uring;

/// <summary>Ring setup: parameters, optional-flag fallbacks, probe, and the unavailable paths.</summary>
public unsafe class UringSetupTests
{
    [Test]
    public void CreatesRingWithRequestedSizes()
    {
        using var ring = UringRing.Create(new UringRingOptions { SqEntries = 48, CqEntries = 200 });
        Assert.That(ring.SqEntries, Is.EqualTo(64), "SQ entries are rounded up to a power of two");
        Assert.That(ring.CqEntries, Is.EqualTo(256), "CQ entries are rounded up to a power of two");
        Assert.That(ring.AppliedFlags & UringSetupFlags.CqSize, Is.EqualTo(UringSetupFlags.CqSize));
        Assert.That(ring.Features & UringFeatures.SingleMmap, Is.EqualTo(UringFeatures.SingleMmap));
        Assert.That(ring.InFlight, Is.Zero);
        Assert.That(ring.Capacity, Is.EqualTo(64));
    }

    [Test]
    public void GrantsSingleIssuerAndDeferTaskRunOnKernelsThatHaveThem()
    {
        using var ring = UringRing.Create(new UringRingOptions());
        Version kernel = Environment.OSVersion.Version;
        if (kernel < new Version(6, 1))
            Assert.Ignore($"kernel {kernel} predates DEFER_TASKRUN (6.1)");
        Assert.That(ring.AppliedFlags & (UringSetupFlags.SingleIssuer | UringSetupFlags.DeferTaskRun | UringSetupFlags.CoopTaskRun),
            Is.EqualTo(UringSetupFlags.SingleIssuer | UringSetupFlags.DeferTaskRun | UringSetupFlags.CoopTaskRun));
    }

    [Test]
    public void DropsOptionalFlagsTheKernelRejects()
    {
        var seen = new List<UringSetupFlags>();
        // An "older kernel": EINVAL for anything newer than COOP_TASKRUN.
        UringSetup.SetupCall olderKernel = (entries, p) =>
        {
            seen.Add(p->Flags);
            if ((p->Flags & (UringSetupFlags.SingleIssuer | UringSetupFlags.DeferTaskRun)) != 0)
                return -Errno.EINVAL;
            return UringSetup.KernelSetup(entries, p);
        };
        using var ring = UringRing.Create(new UringRingOptions(), olderKernel, "/nonexistent/io_uring_disabled");
        Assert.That(ring.AppliedFlags & (UringSetupFlags.SingleIssuer | UringSetupFlags.DeferTaskRun), Is.EqualTo(UringSetupFlags.None));
        Assert.That(seen, Has.Count.EqualTo(3), "DEFER_TASKRUN dropped first, then SINGLE_ISSUER");
        Assert.That(seen[1] & UringSetupFlags.DeferTaskRun, Is.EqualTo(UringSetupFlags.None));
        Assert.That(seen[1] & UringSetupFlags.SingleIssuer, Is.EqualTo(UringSetupFlags.SingleIssuer));
        ref UringSqe sqe = ref ring.GetSqe();
        sqe.PrepareNop(7);
        Assert.That(UringTestIo.SubmitOne(ring).UserData, Is.EqualTo(7UL), "the fallback ring works");
    }

    [Test]
    public void EinvalWithNothingLeftToDropIsReportedWithTheParameters()
    {
        UringSetup.SetupCall rejectAll = (_, _) => -Errno.EINVAL;
        var e = Assert.Throws<UringException>(() => UringRing.Create(new UringRingOptions { SqEntries = 8 }, rejectAll, "/nonexistent"));
        Assert.That(e!.Operation, Is.EqualTo("io_uring_setup"));
        Assert.That(e.ErrnoName, Is.EqualTo("EINVAL"));
        Assert.That(e.Message, Does.Contain("SqEntries=8"));
    }

    [Test]
    public void DisabledBySysctlIsAClearError()
    {
        using var dir = new UringTempDirectory();
        string sysctl = dir.File("io_uring_disabled");
        File.WriteAllText(sysctl, "2\n");
        bool called = false;
        UringSetup.SetupCall setup = (e, p) => { called = true; return UringSetup.KernelSetup(e, p); };
        var ex = Assert.Throws<UringUnavailableException>(() => UringRing.Create(new UringRingOptions(), setup, sysctl));
        Assert.That(called, Is.False, "no ring is attempted when io_uring is disabled");
        Assert.That(ex!.Message, Does.Contain("disabled").And.Contain("kernel.io_uring_disabled=0"));
        Assert.That(ex.ErrnoName, Is.EqualTo("EPERM"));
    }

    [Test]
    public void RestrictedToAGroupExplainsWhatToDo()
    {
        using var dir = new UringTempDirectory();
        string sysctl = dir.File("io_uring_disabled");
        File.WriteAllText(sysctl, "1\n");
        UringSetup.SetupCall notInGroup = (_, _) => -Errno.EPERM;
        var ex = Assert.Throws<UringUnavailableException>(() => UringRing.Create(new UringRingOptions(), notInGroup, sysctl));
        Assert.That(ex!.Message, Does.Contain("kernel.io_uring_group").And.Contain("EPERM"));
    }

    [Test]
    public void KernelWithoutIoUringExplainsWhatToDo()
    {
        UringSetup.SetupCall noSyscall = (_, _) => -Errno.ENOSYS;
        var ex = Assert.Throws<UringUnavailableException>(() => UringRing.Create(new UringRingOptions(), noSyscall, "/nonexistent"));
        Assert.That(ex!.ErrnoName, Is.EqualTo("ENOSYS"));
        Assert.That(ex.Message, Does.Contain("CONFIG_IO_URING").And.Contain("seccomp"));
    }

    [TestCase(0u, 0u, "SqEntries")]
    [TestCase(40000u, 0u, "SqEntries")]
    [TestCase(64u, 32u, "CqEntries")]
    [TestCase(64u, 70000u, "CqEntries")]
    public void BadSizesAreRejectedByName(uint sq, uint cq, string parameter)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => UringRing.Create(new UringRingOptions { SqEntries = sq, CqEntries = cq }));
        Assert.That(e!.ParamName, Is.EqualTo(parameter));
    }

    [Test]
    public void ProbeReportsTheOpcodesWeUse()
    {
        using var ring = UringRing.Create(new UringRingOptions { SqEntries = 4 });
        Assert.That(ring.Probe.IsAvailable, Is.True);
        foreach (UringOpcode op in Enum.GetValues<UringOpcode>())
            Assert.That(ring.Probe.Supports(op), Is.True, UringAbi.OpcodeName(op));
        Assert.That(ring.Probe.LastOpcode, Is.GreaterThanOrEqualTo((int)UringOpcode.Write));
        Assert.That(ring.Probe.Supports((UringOpcode)255), Is.False, "an opcode beyond the kernel's last is unsupported");
    }

    [Test]
    public void SqPollRingSubmitsWithoutEnteringWhileItsThreadIsAwake()
    {
        // The SQ thread only sleeps (and asks for a wakeup) after SqPollIdleMilliseconds without work.
        using var ring = UringRing.Create(new UringRingOptions { SqEntries = 8, SqPoll = true, SqPollIdleMilliseconds = 10_000 });
        Assert.That(ring.AppliedFlags & UringSetupFlags.SqPoll, Is.EqualTo(UringSetupFlags.SqPoll));
        // The first submission may find the thread asleep (it can sleep before our first tail
        // store is seen); once it has completed an operation it polls for SqPollIdleMilliseconds.
        ring.GetSqe().PrepareNop(0);
        ring.Submit();
        Assert.That(ring.WaitCompletion().UserData, Is.Zero);
        long enters = ring.EnterCalls;
        for (ulong i = 1; i < 8; i++)
        {
            ring.GetSqe().PrepareNop(i);
            ring.Submit();
        }
        Assert.That(ring.EnterCalls, Is.EqualTo(enters), "while the thread polls, publishing the SQ tail is the whole submission");
        var seen = new List<ulong>();
        for (int i = 1; i < 8; i++)
            seen.Add(ring.WaitCompletion().UserData);
        Assert.That(seen, Is.EqualTo(new ulong[] { 1, 2, 3, 4, 5, 6, 7 }));
    }

    [Test]
    public void ReadyCompletionsAreReapedWithoutASystemCall()
    {
        // Without DEFER_TASKRUN a NOP completes during the submitting io_uring_enter.
        using var ring = UringRing.Create(new UringRingOptions { SqEntries = 8, SingleIssuer = false });
        for (ulong i = 0; i < 4; i++)
            ring.GetSqe().PrepareNop(100 + i);
        ring.Submit();
        long enters = ring.EnterCalls;
        Assert.That(ring.ReadyCompletions, Is.EqualTo(4u));
        for (ulong i = 0; i < 4; i++)
        {
            Assert.That(ring.TryReap(out UringCqe cqe), Is.True);
            Assert.That(cqe.UserData, Is.EqualTo(100 + i));
        }
        Assert.That(ring.TryReap(out _), Is.False);
        Assert.That(ring.EnterCalls, Is.EqualTo(enters), "reaping touched only the mapped CQ");
    }
}
