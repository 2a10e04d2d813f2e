using System.Diagnostics;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using NUnit.Framework;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Run;
using PolledNvme.Driver.Emulated;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// The CLI fuzzer: random argument vectors for every command (<see cref="CliFuzzVectors"/>),
/// run in-process through <see cref="PolledNvme.Bench.Cli.Run(string[], TextWriter, TextWriter, StopRequest)"/>.
/// Properties: the exit code is 0, 1 or 2; stderr never shows a stack trace or an unexpected
/// exception type; a usage error (2) is one line and comes before any output; and the image,
/// its format record and the kernel path's file are unchanged unless the command line asked
/// to write them (or it was refused with 2, which must come before any I/O).
/// Seeded: <c>PNVME_FUZZ_CLI_SEED</c> (default: a new one, printed), <c>PNVME_FUZZ_CLI_N</c> vectors
/// (default 2000, at most <c>PNVME_FUZZ_CLI_SECONDS</c> = 25 s of them in the suite);
/// <c>make fuzz-cli N=... SEED=...</c> runs it alone, without the time bound.
/// </summary>
[TestFixture]
[NonParallelizable]
public partial class CliFuzzTests
{
    private const int DefaultVectors = 2000;
    private const int DefaultSeconds = 25;

    // A benchmark that parses and opens is stopped after this long: the fuzzer checks what the
    // command line does to pnvme, not the device's speed.
    private static readonly TimeSpan RunBudget = TimeSpan.FromMilliseconds(25);

    private FuzzFiles _files = null!;
    private string _root = null!;

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int link(string existing, string created);

    [OneTimeSetUp]
    public void CreateFiles()
    {
        // Everything, the directory the vectors name included, lives under one root: a mutation that
        // appends to a path ("DIR" + "p") still lands inside it and goes with it.
        _root = Directory.CreateTempSubdirectory("pnvme-fuzz-cli-").FullName;
        string dir = Directory.CreateDirectory(Path.Combine(_root, "dir")).FullName;
        string image = Path.Combine(_root, "ns.img");
        string output = Directory.CreateDirectory(Path.Combine(_root, "out")).FullName;
        _files = new FuzzFiles(dir, image, Path.Combine(_root, "kernel.bin"), Path.Combine(_root, "data.bin"), Path.Combine(_root, "meta.bin"),
            output, Path.Combine(_root, "missing"), Path.Combine(_root, "alias.img"), Path.GetRelativePath(Environment.CurrentDirectory, image), Path.Combine(_root, "hard.img"));
        var layout = CliRunner.Run("bench", $"--device={_files.ImageDevice}", "--rw=write", "--verify", "--size=512k", "--progress=0", "--pin=0");
        Assert.That(layout.ExitCode, Is.EqualTo(0), layout.Stderr);
        var bytes = new byte[1 << 20];
        new Random(1).NextBytes(bytes);
        File.WriteAllBytes(_files.UringFile, bytes);
        File.WriteAllBytes(_files.Data, bytes[..(64 << 10)]);
        File.WriteAllBytes(_files.Metadata, bytes[..4096]);
        File.CreateSymbolicLink(_files.ImageSymlink, image);
        Assert.That(link(image, _files.ImageHardLink), Is.EqualTo(0));
    }

    [OneTimeTearDown]
    public void DeleteFiles() => Directory.Delete(_root, recursive: true);

    private static int EnvInt(string name, int fallback)
        => int.TryParse(Environment.GetEnvironmentVariable(name), out int value) ? value : fallback;

    [Test]
    public void Random_argument_vectors_exit_0_1_or_2_without_stack_traces_and_leave_images_alone()
    {
        int seed = EnvInt("PNVME_FUZZ_CLI_SEED", Environment.TickCount & 0x7FFFFFFF);
        int vectors = EnvInt("PNVME_FUZZ_CLI_N", DefaultVectors);
        // The suite's run is bounded in time too (a busy machine runs fewer vectors, the same ones);
        // PNVME_FUZZ_CLI_SECONDS=0 (make fuzz-cli) runs all N.
        int seconds = EnvInt("PNVME_FUZZ_CLI_SECONDS", DefaultSeconds);
        TestContext.Out.WriteLine($"CLI fuzz: seed {seed}, {vectors} vectors (reproduce: make fuzz-cli SEED={seed} N={vectors})");
        var generator = new CliFuzzVectors(_files);
        var exits = new int[3];
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        var times = new Dictionary<string, double>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        int ran = 0;
        for (int i = 0; i < vectors && (seconds <= 0 || clock.Elapsed.TotalSeconds < seconds); i++, ran++)
        {
            string[] args = generator.Generate(seed, i);
            string shown = $"seed {seed} vector {i}: pnvme {string.Join(' ', args.Select(Quote))}";
            var before = Snapshot();
            var stop = new StopRequest();
            CliRunner.Outcome run;
            long started = Stopwatch.GetTimestamp();
            using (new Timer(_ => stop.Request("the fuzzer's time budget"), null, RunBudget, Timeout.InfiniteTimeSpan))
                run = CliRunner.Run(stop, args);
            Assert.That(run.ExitCode, Is.InRange(0, 2), $"{shown}\n{run.Stderr}");
            exits[run.ExitCode]++;
            string what = run.ExitCode == 0 ? $"{args[0]}: ok" : string.Join(' ', run.Stderr.Split(' ').Take(3));
            outcomes[what] = outcomes.GetValueOrDefault(what) + 1;
            times[args[0]] = times.GetValueOrDefault(args[0]) + Stopwatch.GetElapsedTime(started).TotalSeconds;
            CliRunner.AssertNoStackTrace(run.Stderr, shown);
            Assert.That(run.Stderr, Does.Not.Match(@"unexpected \w*Exception: "), $"an exception type pnvme does not map: {shown}\n{run.Stderr}");
            if (run.ExitCode != 0)
                Assert.That(run.Stderr, Does.StartWith("pnvme"), $"a failure says so: {shown}");
            if (run.ExitCode == 2)
            {
                Assert.That(run.Stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1), $"a usage error is one line: {shown}\n{run.Stderr}");
                Assert.That(run.Stdout, Is.Empty, $"a usage error comes before any output: {shown}");
            }
            if (run.ExitCode == 2 || !MayWrite(args))
                Assert.That(Snapshot(), Is.EqualTo(before), $"changed a file it was not asked to write: {shown}\n{run.Stderr}");
        }
        TestContext.Out.WriteLine($"CLI fuzz: seed {seed}: {ran} vectors in {clock.Elapsed.TotalSeconds:F1} s: exit 0: {exits[0]}, 1: {exits[1]}, 2: {exits[2]}; anomalies: 0");
        foreach (var (what, spent) in times.OrderByDescending(o => o.Value).Take(8))
            TestContext.Out.WriteLine($"  {spent,6:F1} s  {what}");
        foreach (var (what, count) in outcomes.OrderByDescending(o => o.Value).Take(25))
            TestContext.Out.WriteLine($"  {count,6}  {what}");
    }

    [Test]
    public void Usage_errors_through_the_real_process_are_one_line_and_exit_2()
    {
        // The in-process properties hold for the process too: its own top-level handler, the runtime's exit path.
        var generator = new CliFuzzVectors(_files);
        int seed = EnvInt("PNVME_FUZZ_CLI_SEED", 1);
        int checkedVectors = 0;
        for (int i = 0; checkedVectors < 8 && i < 500; i++)
        {
            string[] args = generator.Generate(seed, i);
            if (CliRunner.Run(args).ExitCode != 2) continue;
            checkedVectors++;
            var run = CliRunner.RunProcess(args, timeout: TimeSpan.FromMinutes(1));
            string shown = $"seed {seed} vector {i}: pnvme {string.Join(' ', args.Select(Quote))}";
            Assert.That(run.ExitCode, Is.EqualTo(2), $"{shown}\n{run.Stderr}");
            Assert.That(run.Stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1), $"{shown}\n{run.Stderr}");
            CliRunner.AssertNoStackTrace(run.Stderr, shown);
        }
        Assert.That(checkedVectors, Is.EqualTo(8));
    }

    private (ulong, ulong, ulong) Snapshot() => (HashOf(_files.Image), HashOf(_files.Image + ".pnvmefmt"), HashOf(_files.UringFile));

    private readonly byte[] _hashBuffer = new byte[1 << 20];

    // Read through one reused buffer: a fresh 1 MiB array per file and vector would make the fuzzer time GC, not pnvme.
    private ulong HashOf(string path)
    {
        if (!File.Exists(path)) return 0;
        var hash = new XxHash3();
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        int read;
        while ((read = file.Read(_hashBuffer)) > 0)
            hash.Append(_hashBuffer.AsSpan(0, read));
        return hash.GetCurrentHashAsUInt64();
    }

    /// <summary>
    /// Whether the command line asks to write the fuzzer's files: the writing tools, a benchmark
    /// with writes (or the --verify lay-out), a device string that re-lays the image (format=1)
    /// or lays out the kernel path's file (size=). Decided with the real parsers; a line they
    /// refuse writes nothing (and must exit 2).
    /// </summary>
    private static bool MayWrite(string[] args)
    {
        if (args.Length == 0) return false;
        if (args[0] is "format" or "write" or "write-zeroes" or "dsm") return true;
        foreach (string arg in args)
        {
            string device = arg.StartsWith("--device=", StringComparison.Ordinal) ? arg["--device=".Length..] : arg;
            if (device.StartsWith("uring:", StringComparison.Ordinal) && device.Contains("size", StringComparison.Ordinal)) return true;
            if (device.StartsWith("emu:", StringComparison.Ordinal))
            {
                try
                {
                    if (EmulatedControllerOptions.Parse(device).Namespaces.Any(n => n.FormatMedia)) return true;
                }
                catch (Exception e) when (e is ArgumentException or IOException)
                {
                }
            }
        }
        if (args[0] != "bench") return false;
        try
        {
            var options = BenchOptionParser.Parse(args[1..]);
            return options.HasWrites || (options.Verify && !options.VerifyOnly);
        }
        catch (UsageException)
        {
            return false;
        }
    }

    private static string Quote(string arg) => arg.Length == 0 || arg.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '\'' or '"' or '$')
        ? "'" + string.Concat(arg.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c == '\'' ? "'\\''" : c.ToString())) + "'"
        : arg;
}
