using NUnit.Framework;
using PolledNvme.Emulation;
using PolledNvme.Protection;
using PolledNvme.Tests.Support;
using PolledNvme.Tools.PiCrashWriter;

namespace PolledNvme.Tests.Emulation.Media;

/// <summary>
/// Crash consistency of the emulated controller on a file: a real child process
/// (tools/PiCrashWriter) drives the controller through the driver — deallocating a quarter of
/// the image (Dataset Management, Write Zeroes with DEAC=1, Write Zeroes with PRACT=1), then
/// rewriting every block in shuffled runs of 1 to 128 blocks (4 KiB to 512 KiB), 32 commands in
/// flight — and is killed with SIGKILL mid-run. After each kill every block must read back as
/// old or new data with valid PI (and the metadata the host sent beside it), as a deallocated
/// block (zeros behind the all-FFh tuple), as a zeroed block, or fail its PI check (a tear PI
/// caught); never as data that passes PI without being what its tag says, and never as data
/// behind the deallocated tuple (which switches every check off). Formats: separate and
/// extended metadata, PI first and last, 64b and 32b guards (<see cref="CrashFormat.All"/>).
/// Rounds: 3 per format by default, 30 in the long mode (<see cref="SuiteMode"/>).
/// </summary>
public class UringFileCrashTests
{
    private const int Blocks = 4096;
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("pnvme-crash-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private readonly record struct Tally(int Checked, int ValidPi, int FailedPi, int Wrong, int Deallocated, int BehindDeallocated, int Newest, int Zeroed);

    private static IEnumerable<string> Formats() => CrashFormat.All.Select(f => f.Name);

    [TestCaseSource(nameof(Formats))]
    public void SigkillMidRunNeverLeavesWrongDataWithValidPiOrBehindTheDeallocatedTuple(string formatName)
    {
        var format = CrashFormat.Named(formatName);
        string path = Path.Combine(_dir, "crash.img");
        int rounds = SuiteMode.Rounds(3, 30);
        var random = new Random(20261125);
        var total = new Tally();
        for (int round = 0; round < rounds; round++)
        {
            int firstGeneration = round * 1000 + 1;
            int lastDone = RunChildAndKill(format, path, firstGeneration, killDelay: TimeSpan.FromMilliseconds(random.Next(5, 150)));
            Tally t = Check(format, path, maxGeneration: lastDone + 1, newestGeneration: lastDone + 1);
            TestContext.Out.WriteLine(
                $"round {round + 1}: child completed generation {lastDone}, killed during {lastDone + 1}; {t.Checked} blocks: " +
                $"{t.ValidPi} valid PI and correct data ({t.Newest} from the interrupted generation), {t.Deallocated} deallocated, {t.Zeroed} zeroed, " +
                $"{t.FailedPi} failed PI (torn), {t.Wrong} wrong data with valid PI, {t.BehindDeallocated} data behind the deallocated tuple");
            Assert.That(t.Checked, Is.EqualTo(Blocks));
            Assert.That(t.BehindDeallocated, Is.Zero, "a block whose tuple says deallocated (checks off) must hold zeros");
            Assert.That(t.Wrong, Is.Zero, "a block with valid PI must hold exactly the data of the generation its tag names");
            total = new Tally(total.Checked + t.Checked, total.ValidPi + t.ValidPi, total.FailedPi + t.FailedPi, total.Wrong + t.Wrong,
                total.Deallocated + t.Deallocated, total.BehindDeallocated + t.BehindDeallocated, total.Newest + t.Newest, total.Zeroed + t.Zeroed);
        }
        TestContext.Out.WriteLine($"{format.Name}: {total.Checked} blocks checked over {rounds} SIGKILLs: {total.FailedPi} torn blocks caught by PI, " +
            $"{total.Deallocated} deallocated, {total.Zeroed} zeroed, 0 wrong, 0 behind the deallocated tuple");

        // The checker is not vacuous: data changed under valid PI is caught, and so is data behind a deallocated tuple.
        long lba = 17;
        using (var ns = new EmulatedNamespace(1, format.NamespaceOptions(path, Blocks)))
        {
            var data = new byte[CrashFormat.BlockSize];
            var metadata = new byte[format.MetadataSize];
            ns.Read(lba, 1, data, metadata);
            data[100] ^= 1;
            ns.Write(lba, 1, data, metadata);
            ns.Deallocate(lba + 1, 1);
            ns.Read(lba + 1, 1, data, metadata);
            data[5] = 0x5A;
            ns.Write(lba + 1, 1, data, metadata);
        }
        Tally corrupted = Check(format, path, maxGeneration: int.MaxValue, newestGeneration: 0);
        Assert.That(corrupted.FailedPi, Is.GreaterThanOrEqualTo(1));
        Assert.That(corrupted.BehindDeallocated, Is.EqualTo(1));
    }

    /// <summary>Starts the writer, waits until its first generation has covered every block, lets it run, kills it; returns the last completed generation.</summary>
    private static int RunChildAndKill(CrashFormat format, string path, int firstGeneration, TimeSpan killDelay)
    {
        using var child = CrashWriterChild.Start(format, path, Blocks, firstGeneration);
        Assert.That(child.WaitFirstGeneration(TimeSpan.FromSeconds(120)), Is.True, $"the writer did not complete a generation: {child.Errors}");
        Thread.Sleep(killDelay);
        child.Kill(); // SIGKILL on Linux: no cleanup, no flush, mid-I/O
        return child.LastDone;
    }

    /// <summary>Reads every block back through a freshly opened namespace and classifies it.</summary>
    private static Tally Check(CrashFormat format, string path, int maxGeneration, int newestGeneration)
    {
        using var ns = new EmulatedNamespace(1, format.NamespaceOptions(path, Blocks));
        ProtectionFormat pi = ns.Protection!;
        var data = new byte[pi.BlockSize];
        var metadata = new byte[pi.MetadataSize];
        var expected = new byte[pi.BlockSize];
        var tally = new Tally();
        for (int lba = 0; lba < Blocks; lba++)
        {
            ns.Read(lba, 1, data, metadata);
            ushort tag = PiTuple.Read(metadata.AsSpan(pi.TupleOffset, pi.TupleSize), pi.GuardFormat, pi.StorageTagSize).ApplicationTag;
            var context = new ProtectionContext(pi, PiChecks.Guard | PiChecks.ReferenceTag, (ulong)lba & pi.ReferenceTagMask);
            tally = tally with { Checked = tally.Checked + 1 };
            if (!context.Verify(data, metadata, 1, out _))
            {
                tally = tally with { FailedPi = tally.FailedPi + 1 };
                continue;
            }
            if (tag == 0xFFFF)
            {
                // The escape: a deallocated block, which reads as zeros with every check off.
                tally = data.AsSpan().IndexOfAnyExcept((byte)0) < 0
                    ? tally with { Deallocated = tally.Deallocated + 1 }
                    : tally with { BehindDeallocated = tally.BehindDeallocated + 1 };
                continue;
            }
            // The metadata the host sent beside the tuple: the generation's byte, zeros when zeroed.
            Span<byte> beside = format.PiFirst ? metadata.AsSpan(format.TupleSize) : metadata.AsSpan(0, format.MetadataSize - format.TupleSize);
            if (tag == CrashPattern.ZeroesTag)
            {
                tally = data.AsSpan().IndexOfAnyExcept((byte)0) < 0 && beside.IndexOfAnyExcept((byte)0) < 0
                    ? tally with { Zeroed = tally.Zeroed + 1 }
                    : tally with { Wrong = tally.Wrong + 1 };
                continue;
            }
            CrashPattern.Fill(expected, lba, tag);
            bool correct = tag >= 1 && tag <= maxGeneration && data.AsSpan().SequenceEqual(expected) && beside.IndexOfAnyExcept((byte)tag) < 0;
            tally = correct
                ? tally with { ValidPi = tally.ValidPi + 1, Newest = tally.Newest + (tag == newestGeneration ? 1 : 0) }
                : tally with { Wrong = tally.Wrong + 1 };
        }
        return tally;
    }
}
