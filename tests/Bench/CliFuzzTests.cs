using System.Diagnostics;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using NUnit.Framework;
using PolledNvme.Bench;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Run;
using PolledNvme.Bench.Tools;
using PolledNvme.Emulation;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// The CLI fuzzer: random argument vectors for every command (<see cref="CliFuzzVectors"/>), with
/// random bytes on stdin, run in-process through <see cref="Cli.Run(string[], TextWriter, TextWriter, StopRequest)"/>.
/// Properties: the exit code is 0, 1 or 2; stderr never shows a stack trace or an unexpected
/// exception type; a usage error (2) is one line and comes before any output (text or binary);
/// and the image, its format record and the kernel path's file are unchanged unless the command
/// line asked to write them (or it was refused with 2, which must come before any I/O). A vector
/// that wrote them is followed by their restoration, so every vector starts from the same files.
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
        // Logs named after a job land in the working directory: the fuzzer's own, under the root, for its run.
        string cwd = Directory.CreateDirectory(Path.Combine(_root, "cwd")).FullName;
        _savedDirectory = Environment.CurrentDirectory;
        Environment.CurrentDirectory = cwd;
        _files = new FuzzFiles(dir, image, Path.Combine(_root, "kernel.bin"), Path.Combine(_root, "data.bin"), Path.Combine(_root, "meta.bin"),
            output, Path.Combine(_root, "missing"), Path.Combine(_root, "alias.img"), Path.GetRelativePath(Environment.CurrentDirectory, image), Path.Combine(_root, "hard.img"),
            Directory.CreateDirectory(Path.Combine(_root, "jobs")).FullName, Path.Combine(_root, "logtrap"), cwd);
        var layout = CliRunner.Run("bench", $"--device={_files.ImageDevice}", "--rw=write", "--verify", "--size=512k", "--progress=0", "--pin=0");
        Assert.That(layout.ExitCode, Is.EqualTo(0), layout.Stderr);
        var bytes = new byte[1 << 20];
        new Random(1).NextBytes(bytes);
        File.WriteAllBytes(_files.UringFile, bytes);
        File.WriteAllBytes(_files.Data, bytes[..(64 << 10)]);
        File.WriteAllBytes(_files.Metadata, bytes[..4096]);
        File.CreateSymbolicLink(_files.ImageSymlink, image);
        // fio's log names that are the image: PREFIX_KIND.1.log beside the prefix, and a job "trap"'s logs in the working directory.
        foreach (string kind in FuzzFiles.LogKinds)
        {
            File.CreateSymbolicLink($"{_files.LogTrap}_{kind}.1.log", image);
            File.CreateSymbolicLink(Path.Combine(cwd, $"trap_{kind}.1.log"), image);
        }
        Assert.That(link(image, _files.ImageHardLink), Is.EqualTo(0));
        _pristine = (File.ReadAllBytes(image), File.ReadAllBytes(image + ".pnvmefmt"), bytes, Snapshot());
    }

    // The files as laid out: what a vector that was allowed to write them is undone to.
    private (byte[] Image, byte[] Record, byte[] Uring, (ulong, ulong, ulong) Hashes) _pristine;

    // Written in place (same inode), so the hard link and the symlink still name the image; a
    // writer that replaced the file (a new inode) gets the hard link made again.
    private void RestoreFiles()
    {
        RewriteInPlace(_files.Image, _pristine.Image);
        RewriteInPlace(_files.Image + ".pnvmefmt", _pristine.Record);
        RewriteInPlace(_files.UringFile, _pristine.Uring);
        if (!PolledNvme.Bench.Options.FileIdentity.Same(_files.Image, _files.ImageHardLink))
        {
            File.Delete(_files.ImageHardLink);
            Assert.That(link(_files.Image, _files.ImageHardLink), Is.EqualTo(0));
        }
        Assert.That(Snapshot(), Is.EqualTo(_pristine.Hashes), "the fuzzer's files are restored");
    }

    private static void RewriteInPlace(string path, byte[] content)
    {
        using var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite);
        file.SetLength(0);
        file.Write(content);
    }

    private string _savedDirectory = "";

    [OneTimeTearDown]
    public void DeleteFiles()
    {
        Environment.CurrentDirectory = _savedDirectory;
        Directory.Delete(_root, recursive: true);
    }

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
        var perCommand = new Dictionary<string, (double Seconds, int Ok, int Failed, int Usage)>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        int ran = 0;
        for (int i = 0; i < vectors && (seconds <= 0 || clock.Elapsed.TotalSeconds < seconds); i++, ran++)
        {
            var vector = generator.Generate(seed, i);
            string[] args = vector.Args;
            string shown = $"seed {seed} vector {i}: pnvme {string.Join(' ', args.Select(Quote))} (stdin: {vector.Stdin.Length} bytes)";
            var stop = new StopRequest();
            var binary = new MemoryStream();
            var console = new ToolConsole(() => new MemoryStream(vector.Stdin, writable: false), () => binary, isInteractive: false, () => null);
            CliRunner.Outcome run;
            long started = Stopwatch.GetTimestamp();
            using (ToolConsole.Use(console))
            using (new Timer(_ => stop.Request("the fuzzer's time budget"), null, RunBudget, Timeout.InfiniteTimeSpan))
                run = CliRunner.Run(stop, args);
            Assert.That(run.ExitCode, Is.InRange(0, 2), $"{shown}\n{run.Stderr}");
            exits[run.ExitCode]++;
            string what = run.ExitCode == 0 ? $"{args[0]}: ok" : string.Join(' ', run.Stderr.TrimEnd().Split('\n')[^1].Split(' ').Take(5));
            outcomes[what] = outcomes.GetValueOrDefault(what) + 1;
            var c = perCommand.GetValueOrDefault(args[0]);
            perCommand[args[0]] = (c.Seconds + Stopwatch.GetElapsedTime(started).TotalSeconds,
                c.Ok + (run.ExitCode == 0 ? 1 : 0), c.Failed + (run.ExitCode == 1 ? 1 : 0), c.Usage + (run.ExitCode == 2 ? 1 : 0));
            CliRunner.AssertNoStackTrace(run.Stderr, shown);
            Assert.That(run.Stderr, Does.Not.Match(@"unexpected \w*Exception: "), $"an exception type pnvme does not map: {shown}\n{run.Stderr}");
            if (run.ExitCode != 0)
                Assert.That(run.Stderr.TrimEnd().Split('\n')[^1], Does.StartWith("pnvme"), $"a failure says so, last (after nvme-cli's notes): {shown}\n{run.Stderr}");
            if (run.ExitCode == 2)
            {
                Assert.That(run.Stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1), $"a usage error is one line: {shown}\n{run.Stderr}");
                Assert.That(run.Stdout, Is.Empty, $"a usage error comes before any output: {shown}");
                Assert.That(binary.ToArray(), Is.Empty, $"a usage error comes before any data on stdout: {shown}");
            }
            var after = Snapshot();
            if (run.ExitCode == 2 || !MayWrite(args))
                Assert.That(after, Is.EqualTo(_pristine.Hashes), $"changed a file it was not asked to write: {shown}\n{run.Stderr}");
            if (after != _pristine.Hashes)
                RestoreFiles();
        }
        TestContext.Out.WriteLine($"CLI fuzz: seed {seed}: {ran} vectors in {clock.Elapsed.TotalSeconds:F1} s: exit 0: {exits[0]}, 1: {exits[1]}, 2: {exits[2]}; anomalies: 0");
        // Per command (the ones pnvme has): time spent and exit codes 0/1/2, so a command that never gets past its checks shows.
        foreach (var (command, c) in perCommand.Where(p => CliFuzzVectors.Covered.Contains(p.Key)).OrderByDescending(p => p.Value.Seconds))
            TestContext.Out.WriteLine($"  {c.Seconds,6:F1} s  {command,-15} exit 0: {c.Ok,5}  1: {c.Failed,5}  2: {c.Usage,5}");
        // The most frequent outcomes; PNVME_FUZZ_CLI_SHOW=TEXT lists those containing TEXT (e.g. "pnvme read") instead.
        string? show = Environment.GetEnvironmentVariable("PNVME_FUZZ_CLI_SHOW");
        foreach (var (what, count) in outcomes.Where(o => show is null || o.Key.Contains(show, StringComparison.Ordinal)).OrderByDescending(o => o.Value).Take(show is null ? 25 : 100))
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
            var vector = generator.Generate(seed, i);
            string[] args = vector.Args;
            var console = new ToolConsole(() => new MemoryStream(vector.Stdin, writable: false), () => new MemoryStream(), isInteractive: false, () => null);
            int code;
            using (ToolConsole.Use(console))
                code = CliRunner.Run(args).ExitCode;
            if (Snapshot() != _pristine.Hashes)
                RestoreFiles();
            if (code != 2) continue;
            checkedVectors++;
            var run = CliRunner.RunProcess(args, timeout: TimeSpan.FromMinutes(1), stdin: vector.Stdin);
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
        if (args[0] is "io-passthru" or "admin-passthru" && PassthruMayWrite(args)) return true;
        foreach (string arg in args)
        {
            // The device positional, or the value of --device / -device= / a prefix of it.
            string device = arg.StartsWith('-') && arg.IndexOf('=') is var eq and > 0 ? arg[(eq + 1)..] : arg;
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
            // Every job, from the command line or a job file: one that writes, trims or lays out for
            // --verify, or whose device lays out a uring: file or re-lays an image.
            foreach (var job in BenchArguments.Parse(args[1..], _ => null, new StringReader("")).Jobs)
            {
                var o = job.Options;
                if (o.HasWrites || o.HasTrims || (o.Verify && !o.VerifyOnly)) return true;
                string? device = PolledNvme.Bench.Engines.JobDevices.Resolve(o);
                if (device is null) continue;
                if (device.StartsWith("uring:", StringComparison.Ordinal) && device.Contains("size", StringComparison.Ordinal)) return true;
                if (device.StartsWith("emu:", StringComparison.Ordinal) && EmulatedControllerOptions.Parse(device).Namespaces.Any(n => n.FormatMedia)) return true;
            }
            return false;
        }
        catch (Exception e) when (e is UsageException or ArgumentException or IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether a passthru line sends a command the emulated controller changes media with: I/O Write,
    /// Write Zeroes, Dataset Management; admin Format NVM. Decided with the command's own parser;
    /// a line it refuses writes nothing (and must exit 2).
    /// </summary>
    private static bool PassthruMayWrite(string[] args)
    {
        try
        {
            var a = NvmeCliArgs.Parse(args[1..], CliFuzzVectors.SpecOf(args[0])!.Options);
            if (a.Has("dry-run") || a.Get("opcode") is not { } text) return false;
            byte opcode = (byte)NvmeCliArgs.ParseNumber("--opcode", text, byte.MaxValue);
            return args[0] == "admin-passthru" ? opcode == 0x80 : opcode is 0x01 or 0x08 or 0x09;
        }
        catch (UsageException)
        {
            return false;
        }
    }

    [Test]
    public void The_generator_covers_every_pnvme_command()
        => Assert.That(CliFuzzVectors.Covered, Is.EquivalentTo(Cli.CommandNames));

    [Test]
    public void The_generator_writes_every_form_of_nvme_cli_grammar()
    {
        // A generator that stopped producing a form would fuzz less without failing: count them.
        var generator = new CliFuzzVectors(_files);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        void Count(string form) => seen[form] = seen.GetValueOrDefault(form) + 1;
        for (int i = 0; i < 4000; i++)
        {
            var vector = generator.Generate(1, i);
            string[] args = vector.Args;
            Count("command " + args[0]);
            if (CliFuzzVectors.SpecOf(args[0]) is null) continue;
            if (args.Length > 1 && args[1].Contains(':') && !args[1].StartsWith('-')) Count("positional device first");
            if (args.Contains("--")) Count("device after --");
            if (vector.Stdin.Length > 0) Count("stdin");
            foreach (string arg in args.Skip(1))
            {
                if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Contains('=')) Count("--opt=value");
                else if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Length > 2) Count("--opt");
                else if (arg.Length == 2 && arg[0] == '-' && char.IsAsciiLetterOrDigit(arg[1])) Count("-x");
                else if (arg.Length > 2 && arg[0] == '-' && arg[1] != '-' && arg.Contains('=')) Count("-long=value");
                else if (arg.Length is > 2 and < 6 && arg[0] == '-' && arg[1..].All(char.IsAsciiLetter)) Count("-xyz (a cluster, or one dash and a long name)");
            }
        }
        foreach (string command in CliFuzzVectors.Covered)
            Assert.That(seen.GetValueOrDefault("command " + command), Is.GreaterThan(50), command);
        foreach (string form in new[] { "positional device first", "device after --", "stdin", "--opt=value", "--opt", "-x", "-long=value", "-xyz (a cluster, or one dash and a long name)" })
            Assert.That(seen.GetValueOrDefault(form), Is.GreaterThan(50), form);
    }

    private static string Quote(string arg) => arg.Length == 0 || arg.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '\'' or '"' or '$')
        ? "'" + string.Concat(arg.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c == '\'' ? "'\\''" : c.ToString())) + "'"
        : arg;
}
