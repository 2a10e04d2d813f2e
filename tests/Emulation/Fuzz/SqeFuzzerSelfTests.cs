using System.Text.RegularExpressions;
using NUnit.Framework;
using PolledNvme.Emulation;
using PolledNvme.Driver.Spec;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>
/// The fuzzer's checks can fail: each test breaks one thing behind the fuzzer's back (a wrong
/// status, a lost completion, a changed block, a stray write, a fatal controller) and the run
/// must stop with that violation. And its host memory really is fenced by inaccessible pages.
/// </summary>
public class SqeFuzzerSelfTests
{
    private const ulong Seed = 0x5E1F;
    private static FuzzConfig Ram => FuzzConfig.All.Single(c => c.Name == "ram-16b");

    private static string RunBroken(Sabotage sabotage)
    {
        var e = Assert.Throws<FuzzViolationException>(() => SqeFuzzer.Run(Ram, Seed, 3000, TextWriter.Null, trace: false, sabotage))!;
        Assert.That(e.Message, Does.Contain($"seed 0x{Seed:X}").And.Contain("rerun: make fuzz"));
        return e.Message;
    }

    [Test]
    public void AStatusNoRuleAllowsIsCaughtWithTheCommandsDwords()
    {
        string report = RunBroken(new Sabotage(500, (device, _) =>
            device.Faults.FailNextCommand(FaultQueue.Io, (byte)NvmOpcode.Read, NvmeStatus.InternalError)));
        Assert.That(report, Does.Contain("completed with InternalError"));
        Assert.That(Regex.IsMatch(report, "CDW0-15:( [0-9A-F]{8}){16}"), report);
    }

    [Test]
    public void ALostCompletionIsAHang()
        => Assert.That(RunBroken(new Sabotage(500, (device, _) => device.Faults.DropNextCompletion(FaultQueue.Io, (byte)NvmOpcode.Write))),
            Does.Contain("hang"));

    /// <summary>Under shadow doorbells a host that never rings the MMIO doorbell EventIdx asks for stalls, as on hardware.</summary>
    [Test]
    public void AHostThatSkipsTheKicksEventIdxAsksForHangs()
    {
        var broken = FuzzConfig.All.Single(c => c.Name == "ram-32b-64b") with { BrokenHostSkipsKicks = true };
        Assert.That(broken.ShadowDoorbellsInForce, Is.True);
        var e = Assert.Throws<FuzzViolationException>(() => SqeFuzzer.Run(broken, Seed, 3000, TextWriter.Null, trace: false))!;
        Assert.That(e.Message, Does.Contain("hang").Or.Contain("no completion"));
    }

    [Test]
    public void ABlockChangedWithoutAWriteIsCaughtAtTheNextCheckpoint()
        => Assert.That(RunBroken(new Sabotage(1500, (device, _) => device.Faults.CorruptBlock(2, 200, CorruptionTarget.Data))),
            Does.Contain("block 200 of namespace 2 changed"));

    [Test]
    public unsafe void AWriteIntoTheCanaryRegionIsCaught()
        => Assert.That(RunBroken(new Sabotage(500, (_, memory) => memory.Canary.Host[1234] ^= 0x40)), Does.Contain("canary region"));

    [Test]
    public unsafe void AWriteThroughAStaleMappingIsCaught()
        => Assert.That(RunBroken(new Sabotage(500, (_, memory) => memory.Retired.Host[77] ^= 1)), Does.Contain("retired region"));

    [Test]
    public void AFatalControllerIsCaught()
        => Assert.That(RunBroken(new Sabotage(500, (device, _) => device.Faults.SetFatalStatus())), Does.Contain("not ready"));

    [Test]
    public void ACleanRunPassesAndIsReproducible()
    {
        var first = SqeFuzzer.Run(Ram, Seed, 3000, TextWriter.Null, trace: false);
        var second = SqeFuzzer.Run(Ram, Seed, 3000, TextWriter.Null, trace: false);
        Assert.That(first.Commands, Is.GreaterThanOrEqualTo(3000));
        Assert.That(second.Statuses, Is.EqualTo(first.Statuses), "same seed, same commands, same completions");
    }

    [Test]
    public unsafe void RegionsAreFencedByInaccessiblePages()
    {
        using var controller = EmulatedController.Create(Ram.Options(Path.GetTempPath()));
        using var region = new GuardedRegion(controller.Transport, "probe", 8192);
        ulong start = (ulong)region.Host, end = start + (ulong)region.Length;
        string Protection(ulong address)
        {
            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var range = fields[0].Split('-');
                if (Convert.ToUInt64(range[0], 16) <= address && address < Convert.ToUInt64(range[1], 16))
                    return fields[1];
            }
            return "unmapped";
        }
        Assert.Multiple(() =>
        {
            Assert.That(Protection(start - 1), Does.StartWith("---"), "the page before");
            Assert.That(Protection(start), Does.StartWith("rw-"));
            Assert.That(Protection(end - 1), Does.StartWith("rw-"));
            Assert.That(Protection(end), Does.StartWith("---"), "the page after");
        });
    }
}
