using System.Buffers.Binary;
using NUnit.Framework;
using PolledNvme.Driver.Emulated;
using PolledNvme.Protection;
using PolledNvme.Tools.PiCrashWriter;

namespace PolledNvme.Tests.Driver.Emulated.Media;

/// <summary>
/// Crash consistency of the io_uring file backend: a real child process (tools/PiCrashWriter)
/// rewrites PI-protected blocks and is killed with SIGKILL mid-run; after each kill every block
/// must read back as old or new data with valid PI, or fail its PI check; never as wrong data
/// that passes PI.
/// </summary>
public class UringFileCrashTests
{
    private const int Blocks = 1024;
    private const int Rounds = 3;
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("pnvme-crash-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private readonly record struct Tally(int Checked, int ValidPi, int FailedPi, int Wrong, int Unwritten, int Newest);

    [Test]
    public void SigkillMidRunNeverLeavesWrongDataWithValidPi()
    {
        string path = Path.Combine(_dir, "crash.img");
        var random = new Random(20261125);
        int totalChecked = 0, totalFailed = 0;
        for (int round = 0; round < Rounds; round++)
        {
            int firstGeneration = round * 1000 + 1;
            int lastDone = RunChildAndKill(path, firstGeneration, killDelay: TimeSpan.FromMilliseconds(random.Next(5, 120)));
            Tally t = Check(path, maxGeneration: lastDone + 1, newestGeneration: lastDone + 1);
            TestContext.Out.WriteLine(
                $"round {round + 1}: child completed generation {lastDone}, killed during {lastDone + 1}; {t.Checked} blocks checked: " +
                $"{t.ValidPi} valid PI and correct data ({t.Newest} of them from the interrupted generation), {t.FailedPi} failed the PI check (torn), " +
                $"{t.Wrong} wrong data with valid PI, {t.Unwritten} unwritten");
            Assert.That(t.Checked, Is.EqualTo(Blocks));
            Assert.That(t.Wrong, Is.Zero, "a block with valid PI must hold exactly the data of the generation its tag names");
            Assert.That(t.Unwritten, Is.Zero, "every block was written in a completed generation");
            totalChecked += t.Checked;
            totalFailed += t.FailedPi;
        }
        TestContext.Out.WriteLine($"total: {totalChecked} blocks checked over {Rounds} SIGKILLs, {totalFailed} torn blocks caught by PI, 0 wrong");

        // The checker is not vacuous: a block whose data changed under its PI is caught, not accepted.
        long lba = 17;
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            fs.Position = lba * 4096 + 100;
            int b = fs.ReadByte();
            fs.Position--;
            fs.WriteByte((byte)(b ^ 0x01));
        }
        Tally corrupted = Check(path, maxGeneration: int.MaxValue, newestGeneration: 0);
        Assert.That(corrupted.Wrong, Is.Zero);
        Assert.That(corrupted.FailedPi, Is.GreaterThanOrEqualTo(1));
    }

    /// <summary>Starts the writer, waits until its first generation has covered every block, lets it run, kills it; returns the last completed generation.</summary>
    private static int RunChildAndKill(string path, int firstGeneration, TimeSpan killDelay)
    {
        using var child = CrashWriterChild.Start(path, Blocks, firstGeneration);
        Assert.That(child.WaitFirstGeneration(TimeSpan.FromSeconds(60)), Is.True, $"the writer did not complete a generation: {child.Errors}");
        Thread.Sleep(killDelay);
        child.Kill(); // SIGKILL on Linux: no cleanup, no flush, mid-I/O
        return child.LastDone;
    }

    /// <summary>Reads every block back through a freshly opened namespace and classifies it.</summary>
    private static Tally Check(string path, int maxGeneration, int newestGeneration)
    {
        using var ns = new EmulatedNamespace(1, CrashPattern.NamespaceOptions(path, Blocks));
        ProtectionFormat pi = ns.Protection!;
        var data = new byte[pi.BlockSize];
        var metadata = new byte[pi.MetadataSize];
        var expected = new byte[pi.BlockSize];
        var tally = new Tally();
        for (int lba = 0; lba < Blocks; lba++)
        {
            ns.Read(lba, 1, data, metadata);
            // 64b guard, PI last with ms=16: guard [0,8), application tag [8,10), reference tag [10,16) (PI.md §1).
            ushort tag = BinaryPrimitives.ReadUInt16BigEndian(metadata.AsSpan(pi.TupleOffset + 8));
            var context = new ProtectionContext(pi, PiChecks.Guard | PiChecks.ReferenceTag, (ulong)lba);
            tally = tally with { Checked = tally.Checked + 1 };
            if (!context.Verify(data, metadata, 1, out _))
            {
                tally = tally with { FailedPi = tally.FailedPi + 1 };
                continue;
            }
            if (tag == 0xFFFF)
            {
                // Escape: a deallocated (never written) block. Its data must still be zeros.
                tally = data.AsSpan().IndexOfAnyExcept((byte)0) < 0
                    ? tally with { Unwritten = tally.Unwritten + 1 }
                    : tally with { Wrong = tally.Wrong + 1 };
                continue;
            }
            CrashPattern.Fill(expected, lba, tag);
            bool correct = tag >= 1 && tag <= maxGeneration && data.AsSpan().SequenceEqual(expected);
            tally = correct
                ? tally with { ValidPi = tally.ValidPi + 1, Newest = tally.Newest + (tag == newestGeneration ? 1 : 0) }
                : tally with { Wrong = tally.Wrong + 1 };
        }
        return tally;
    }
}
