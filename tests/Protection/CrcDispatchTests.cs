using System.Runtime.Intrinsics.X86;
using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>
/// The dispatch decision, made for synthetic CPUs of every class: each path it picks must be
/// one that class can run, and the per-class choices are the documented ones. (Whether the
/// choices are the fastest is measured by <c>pnvme crc --bench</c>, never by a timed test.)
/// </summary>
public class CrcDispatchTests
{
    private static readonly CrcCpu Zen5 = new(true, true, true, true, CrcCpuVendor.Amd, 0x1A, 0x02);
    private static readonly CrcCpu Zen4 = new(true, true, true, true, CrcCpuVendor.Amd, 0x19, 0x11);
    private static readonly CrcCpu Zen3 = new(true, true, true, false, CrcCpuVendor.Amd, 0x19, 0x01);
    private static readonly CrcCpu Zen2 = new(true, true, false, false, CrcCpuVendor.Amd, 0x17, 0x31);
    private static readonly CrcCpu IceLakeServer = new(true, true, true, true, CrcCpuVendor.Intel, 6, 0x6A);
    private static readonly CrcCpu AlderLake = new(true, true, true, false, CrcCpuVendor.Intel, 6, 0x97);
    private static readonly CrcCpu Skylake = new(true, true, false, false, CrcCpuVendor.Intel, 6, 0x55);
    private static readonly CrcCpu Nehalem = new(true, false, false, false, CrcCpuVendor.Intel, 6, 0x1A);
    private static readonly CrcCpu PclmulWithoutSse42 = new(false, true, false, false, CrcCpuVendor.Other, 0, 0);
    private static readonly CrcCpu Arm = new(false, false, false, false, CrcCpuVendor.Other, 0, 0);

    // CrcCpu is internal, so the test cases carry a name (a public type) and look the CPU up.
    private static readonly Dictionary<string, CrcCpu> s_cpus = new()
    {
        ["Zen5"] = Zen5,
        ["Zen4"] = Zen4,
        ["Zen3"] = Zen3,
        ["Zen2"] = Zen2,
        ["Zen5-without-AVX512"] = Zen5 with { Vpclmul512 = false },
        ["Zen5-without-VPCLMULQDQ"] = Zen5 with { Vpclmul512 = false, Vpclmul256 = false },
        ["Zen5-without-PCLMULQDQ"] = Zen5 with { Vpclmul512 = false, Vpclmul256 = false, Pclmul = false },
        ["IceLakeServer"] = IceLakeServer,
        ["AlderLake"] = AlderLake,
        ["Skylake"] = Skylake,
        ["Nehalem"] = Nehalem,
        ["PCLMULQDQ-without-SSE4.2"] = PclmulWithoutSse42,
        ["Portable"] = Arm,
    };

    public static IEnumerable<string> Cpus() => s_cpus.Keys;

    /// <summary>Whether a CPU with these features can run <paramref name="kernel"/> (what each path executes).</summary>
    private static bool CanRun(CrcCpu cpu, CrcKernel kernel) => kernel switch
    {
        CrcKernel.Table => true,
        CrcKernel.Sse42 => cpu.Crc32,
        CrcKernel.Pclmul128 => cpu.Pclmul,
        CrcKernel.Vpclmul256 => cpu.Vpclmul256,
        CrcKernel.Vpclmul512 => cpu.Vpclmul512,
        CrcKernel.Hybrid128 => cpu.Crc32 && cpu.Pclmul,
        CrcKernel.Hybrid256 => cpu.Crc32 && cpu.Vpclmul256,
        CrcKernel.Hybrid512 => cpu.Crc32 && cpu.Vpclmul512,
        _ => false,
    };

    [TestCaseSource(nameof(Cpus))]
    public void EveryChosenPathRunsOnThatClass(string name)
    {
        CrcCpu cpu = s_cpus[name];
        var plan = CrcDispatchPlan.Decide(cpu);
        foreach (CrcKernel kernel in new[] { plan.Folding, plan.Crc32CShort, plan.Crc32CFold, plan.Crc32CHybrid, plan.Crc32CBlocks })
            Assert.That(CanRun(cpu, kernel), Is.True, $"{kernel} chosen for {cpu}");
        foreach (int length in new[] { 0, 16, 255, 256, 1023, 1024, 2047, 2048, 4096, 1 << 20, int.MaxValue })
            Assert.That(CanRun(cpu, plan.Crc32CKernelFor(length)), Is.True, $"length {length}");
    }

    [TestCaseSource(nameof(Cpus))]
    public void FoldingIsTheWidestTheClassHas(string name)
    {
        CrcCpu cpu = s_cpus[name];
        CrcKernel expected = cpu.Vpclmul512 ? CrcKernel.Vpclmul512 : cpu.Vpclmul256 ? CrcKernel.Vpclmul256 : cpu.Pclmul ? CrcKernel.Pclmul128 : CrcKernel.Table;
        Assert.That(CrcDispatchPlan.Decide(cpu).Folding, Is.EqualTo(expected));
    }

    [TestCaseSource(nameof(Cpus))]
    public void LengthClassesAreOrderedAndTheHybridGetsAWholeIteration(string name)
    {
        CrcCpu cpu = s_cpus[name];
        var plan = CrcDispatchPlan.Decide(cpu);
        Assert.That(plan.Crc32CFoldFrom, Is.LessThanOrEqualTo(plan.Crc32CHybridFrom));
        if (plan.Crc32CHybridFrom != CrcDispatchPlan.Never)
        {
            int width = plan.Crc32CHybrid switch { CrcKernel.Hybrid512 => 64, CrcKernel.Hybrid256 => 32, _ => 16 };
            Assert.That(plan.Crc32CHybridFrom, Is.GreaterThanOrEqualTo(plan.Hybrid.IterationBytes(width)));
        }
        // Lengths walk through the classes in order and never come back.
        CrcKernel[] order = [plan.Crc32CShort, plan.Crc32CFold, plan.Crc32CHybrid];
        int last = 0;
        for (int length = 0; length <= 8192; length += 16)
        {
            int index = Array.LastIndexOf(order, plan.Crc32CKernelFor(length));
            Assert.That(index, Is.GreaterThanOrEqualTo(last), $"length {length}");
            last = index;
        }
    }

    [Test]
    public void AvxFiveTwelveZen5RunsSixStreamsAndTheWideHybrid()
    {
        var plan = CrcDispatchPlan.Decide(Zen5);
        Assert.That(Zen5.Class, Is.EqualTo(CrcCpuClass.Avx512Vpclmul));
        Assert.That(plan.Shape, Is.EqualTo(Crc32CShapeId.SixByFive));
        Assert.That(plan.Crc32Streams, Is.EqualTo(6));
        Assert.That(plan.Crc32CKernelFor(127), Is.EqualTo(CrcKernel.Sse42));
        Assert.That(plan.Crc32CKernelFor(128), Is.EqualTo(CrcKernel.Vpclmul512), "measured crossover");
        Assert.That(plan.Crc32CKernelFor(512), Is.EqualTo(CrcKernel.Vpclmul512));
        Assert.That(plan.Crc32CKernelFor(4096), Is.EqualTo(CrcKernel.Hybrid512));
        Assert.That(plan.Crc32CBlocks, Is.EqualTo(CrcKernel.Hybrid512));
    }

    [Test]
    public void AvxTwoAmdTakesTheHybridAt4KiBNotTheInstructionAlone()
    {
        // Issue 13: on an AVX2-only AMD EPYC the old default (crc32 x3 at every length) was
        // 12-15 % slower than 256-bit folding at 4 KiB. The hybrid runs both from 1 KiB; below,
        // three streams beat 256-bit folding (measured with three streams on Zen 5).
        var plan = CrcDispatchPlan.Decide(Zen3);
        Assert.That(Zen3.Class, Is.EqualTo(CrcCpuClass.Avx2Vpclmul));
        Assert.That(plan.Shape, Is.EqualTo(Crc32CShapeId.ThreeByFive));
        Assert.That(plan.Crc32CKernelFor(512), Is.EqualTo(CrcKernel.Sse42));
        Assert.That(plan.Crc32CKernelFor(1023), Is.EqualTo(CrcKernel.Sse42));
        Assert.That(plan.Crc32CKernelFor(1024), Is.EqualTo(CrcKernel.Hybrid256));
        Assert.That(plan.Crc32CKernelFor(4096), Is.EqualTo(CrcKernel.Hybrid256));
        Assert.That(plan.Crc32CKernelFor(1 << 20), Is.EqualTo(CrcKernel.Hybrid256));
        Assert.That(plan.Crc32CBlocks, Is.EqualTo(CrcKernel.Hybrid256));
    }

    [Test]
    public void TwoCrc32PerCycleWithoutWideFoldingRunsTheStreamsLonger()
    {
        // Six streams make 16 B per cycle: beside them 256-bit folding paid only from 4 KiB and
        // 128-bit folding not at all (paired measurements, 512 B to 1 MiB). Multi-block keeps
        // the hybrid (512-byte blocks on the streams beside four folded ones).
        var avx2 = CrcDispatchPlan.Decide(s_cpus["Zen5-without-AVX512"]);
        Assert.That(avx2.Crc32Streams, Is.EqualTo(6));
        Assert.That(avx2.Crc32CKernelFor(512), Is.EqualTo(CrcKernel.Sse42));
        Assert.That(avx2.Crc32CKernelFor(4095), Is.EqualTo(CrcKernel.Sse42));
        Assert.That(avx2.Crc32CKernelFor(4096), Is.EqualTo(CrcKernel.Hybrid256));
        Assert.That(avx2.Crc32CBlocks, Is.EqualTo(CrcKernel.Hybrid256));
        var pclmul = CrcDispatchPlan.Decide(s_cpus["Zen5-without-VPCLMULQDQ"]);
        foreach (int length in new[] { 0, 512, 4096, 1 << 20, int.MaxValue })
            Assert.That(pclmul.Crc32CKernelFor(length), Is.EqualTo(CrcKernel.Sse42), $"length {length}");
        Assert.That(pclmul.Crc32CBlocks, Is.EqualTo(CrcKernel.Hybrid128));
    }

    [Test]
    public void WithoutCarrylessMultiplyShortBuffersRunThreeStreams()
    {
        // Five table products cost more than six streams gain on short buffers; with a
        // multiplier, or where the shape has three streams anyway, nothing changes by length.
        var sse42 = CrcDispatchPlan.Decide(s_cpus["Zen5-without-PCLMULQDQ"]);
        Assert.That(sse42.Crc32CSixStreamsFrom, Is.EqualTo(640));
        Assert.That(sse42.Describe()[1], Does.Contain("crc32 x3 (x6 from 640 B)"));
        foreach (CrcCpu cpu in new[] { Zen5, Zen5 with { Vpclmul512 = false }, Nehalem, Zen3 })
            Assert.That(CrcDispatchPlan.Decide(cpu).Crc32CSixStreamsFrom, Is.Zero, cpu.ToString());
    }

    [Test]
    public void OneCrc32PerCycleWithNarrowFoldingTakesTheHybridFrom1KiB()
    {
        foreach (CrcCpu cpu in new[] { Zen2, Skylake, AlderLake })
        {
            var plan = CrcDispatchPlan.Decide(cpu);
            Assert.That(plan.Crc32CKernelFor(1023), Is.EqualTo(CrcKernel.Sse42), cpu.ToString());
            Assert.That(plan.Crc32CKernelFor(1024), Is.EqualTo(cpu.Vpclmul256 ? CrcKernel.Hybrid256 : CrcKernel.Hybrid128), cpu.ToString());
        }
    }

    [Test]
    public void IntelKeepsMultiBlockOnFoldingAndFewerWordsPerFold()
    {
        // Where the multiplier issues once per cycle the streams of whole blocks would hold the folding back.
        foreach (CrcCpu cpu in new[] { IceLakeServer, AlderLake, Skylake })
        {
            var plan = CrcDispatchPlan.Decide(cpu);
            Assert.That(plan.Shape, Is.EqualTo(Crc32CShapeId.ThreeByTwo), cpu.ToString());
            Assert.That(plan.Crc32CBlocks, Is.EqualTo(plan.Folding), cpu.ToString());
        }
    }

    [Test]
    public void WithoutCarrylessMultiplyCrc32CRunsTheInstructionAtEveryLength()
    {
        var plan = CrcDispatchPlan.Decide(Nehalem);
        Assert.That(Nehalem.Class, Is.EqualTo(CrcCpuClass.Sse42));
        Assert.That(plan.Folding, Is.EqualTo(CrcKernel.Table));
        foreach (int length in new[] { 0, 100, 4096, 1 << 20 })
            Assert.That(plan.Crc32CKernelFor(length), Is.EqualTo(CrcKernel.Sse42));
        Assert.That(plan.Crc32CBlocks, Is.EqualTo(CrcKernel.Sse42));
    }

    [Test]
    public void WithoutCrcInstructionsEverythingIsTheTable()
    {
        var plan = CrcDispatchPlan.Decide(Arm);
        Assert.That(Arm.Class, Is.EqualTo(CrcCpuClass.Portable));
        Assert.That(new[] { plan.Folding, plan.Crc32CKernelFor(0), plan.Crc32CKernelFor(1 << 20), plan.Crc32CBlocks },
            Is.All.EqualTo(CrcKernel.Table));
    }

    [Test]
    public void WithoutTheInstructionCrc32CFolds()
    {
        var plan = CrcDispatchPlan.Decide(PclmulWithoutSse42);
        Assert.That(plan.Crc32CKernelFor(4096), Is.EqualTo(CrcKernel.Pclmul128));
        Assert.That(plan.Crc32CKernelFor(10), Is.EqualTo(CrcKernel.Pclmul128));
    }

    [Test]
    public void TwoCrc32PerCycleOnlyOnAmdFrom1Ah()
    {
        Assert.That(Zen5.DualCrc32, Is.True);
        Assert.That(Zen4.DualCrc32, Is.False);
        Assert.That(IceLakeServer.DualCrc32, Is.False);
        Assert.That((Zen5 with { Crc32 = false }).DualCrc32, Is.False);
    }

    [Test]
    public void ThisMachineIsDescribedAsTheRuntimeSeesIt()
    {
        CrcCpu cpu = CrcCpu.Detect();
        Assert.That(cpu.Crc32, Is.EqualTo(Sse42.X64.IsSupported));
        Assert.That(cpu.Pclmul, Is.EqualTo(Pclmulqdq.IsSupported && Ssse3.IsSupported));
        Assert.That(cpu.Vpclmul512, Is.EqualTo(Pclmulqdq.V512.IsSupported && Avx512BW.IsSupported));
        Assert.That(CrcDispatch.CpuClass, Is.EqualTo(cpu.Class));
        Assert.That(CrcDispatch.CpuDescription, Does.StartWith(cpu.Class.ToString()));
        if (X86Base.IsSupported)
            Assert.That(cpu.Family, Is.GreaterThan(0), "family read from CPUID");
        Assert.That(CrcDispatch.Describe(), Has.Some.StartsWith("CRC-32C: ").And.Some.StartsWith("CRC-16/T10-DIF"));
        // The library follows the plan it describes.
        Assert.That(Crc16T10Dif.Kernel, Is.EqualTo(CrcDispatch.Plan.Folding));
        Assert.That(Crc64Nvme.Kernel, Is.EqualTo(CrcDispatch.Plan.Folding));
        Assert.That(Crc32C.KernelFor(4096), Is.EqualTo(CrcDispatch.Plan.Crc32CKernelFor(4096)));
    }

    [Test]
    public void DescriptionsNameClassVendorAndRate()
    {
        Assert.That(Zen5.ToString(), Is.EqualTo("Avx512Vpclmul (AVX-512 + VPCLMULQDQ); AMD family 1Ah model 02h; crc32 issues 2 per cycle"));
        Assert.That(Skylake.ToString(), Does.StartWith("Pclmul (").And.Contain("Intel family 6 model 55h").And.EndWith("1 per cycle"));
        Assert.That(Arm.ToString(), Does.StartWith("Portable").And.Contain("no crc32"));
        var lines = CrcDispatchPlan.Decide(Zen5).Describe();
        Assert.That(lines[1], Is.EqualTo("CRC-32C: < 128 B crc32 x6; 128 B..2047 B vpclmul 512; >= 2 KiB hybrid crc32+vpclmul 512 (6 crc32 streams x 5 words per fold)"));
    }
}
