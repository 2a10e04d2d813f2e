using System.IO.Hashing;
using NUnit.Framework;
using PolledNvme.Protection;
using PolledNvme.Bench;
using PolledNvme.Tests.Protection;

namespace PolledNvme.Tests.Bench;

/// <summary><c>pnvme crc</c> driven through <see cref="Cli.Run"/>.</summary>
public class CrcCommandTests
{
    private string _dir = null!;

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("pnvme-crc-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private static readonly BitSerialCrc s_t10Dif = new(new Crc16T10DifUnderTest().Parameters);
    private static readonly BitSerialCrc s_crc32C = new(new Crc32CUnderTest().Parameters);
    private static readonly BitSerialCrc s_crc64 = new(new Crc64NvmeUnderTest().Parameters);

    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = Cli.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private string WriteFile(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        string path = Path.Combine(_dir, $"data-{seed}.bin");
        File.WriteAllBytes(path, data);
        return path;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [TestCase("t10dif", 4)]
    [TestCase("crc32c", 8)]
    [TestCase("crc64nvme", 16)]
    public void WholeFilePrintsOneFixedWidthLowercaseValue(string algo, int digits)
    {
        string path = WriteFile(10_000, 1);
        byte[] data = File.ReadAllBytes(path);
        BitSerialCrc reference = algo switch { "t10dif" => s_t10Dif, "crc32c" => s_crc32C, _ => s_crc64 };
        var (exit, output, error) = Run("crc", "--algo", algo, path);
        Assert.That(exit, Is.EqualTo(0), error);
        Assert.That(output, Is.EqualTo(reference.Compute(data).ToString("x" + digits) + Environment.NewLine));
    }

    [TestCase("t10dif", 4)]
    [TestCase("crc32c", 8)]
    [TestCase("crc64nvme", 16)]
    public void PerBlockPrintsEveryBlockIncludingTheLastPartialOne(string algo, int digits)
    {
        string path = WriteFile(5 * 520 + 77, 2);
        byte[] data = File.ReadAllBytes(path);
        BitSerialCrc reference = algo switch { "t10dif" => s_t10Dif, "crc32c" => s_crc32C, _ => s_crc64 };
        var (exit, output, error) = Run("crc", "--algo", algo, "--block-size", "520", path);
        Assert.That(exit, Is.EqualTo(0), error);
        string[] lines = Lines(output);
        Assert.That(lines, Has.Length.EqualTo(6));
        for (int i = 0; i < lines.Length; i++)
        {
            int length = Math.Min(520, data.Length - i * 520);
            Assert.That(lines[i], Has.Length.EqualTo(digits));
            Assert.That(lines[i], Is.EqualTo(reference.Compute(data.AsSpan(i * 520, length)).ToString("x" + digits)), $"block {i}");
        }
    }

    [Test]
    public void PerBlockAcrossReadChunksMatchesSystemIoHashing()
    {
        // 3 MB with 4160-byte blocks: several 1 MiB reads, a partial block at the end.
        string path = WriteFile(3_000_000, 3);
        byte[] data = File.ReadAllBytes(path);
        var (exit, output, error) = Run("crc", "--block-size", "4160", "--algo", "crc64nvme", path);
        Assert.That(exit, Is.EqualTo(0), error);
        string[] lines = Lines(output);
        Assert.That(lines, Has.Length.EqualTo((3_000_000 + 4159) / 4160));
        for (int i = 0; i < lines.Length; i++)
        {
            int length = Math.Min(4160, data.Length - i * 4160);
            Assert.That(lines[i], Is.EqualTo(Crc64.HashToUInt64(Crc64ParameterSet.Nvme, data.AsSpan(i * 4160, length)).ToString("x16")), $"block {i}");
        }
    }

    [Test]
    public void EmptyFileGivesTheEmptyCrcOrNoBlocks()
    {
        string path = Path.Combine(_dir, "empty");
        File.WriteAllBytes(path, []);
        Assert.That(Run("crc", "--algo", "crc32c", path).Out, Is.EqualTo("00000000" + Environment.NewLine));
        var (exit, output, _) = Run("crc", "--algo", "crc32c", "--block-size", "512", path);
        Assert.That((exit, output), Is.EqualTo((0, "")));
    }

    [Test]
    public void UnknownAlgorithmIsAUsageError()
    {
        var (exit, output, error) = Run("crc", "--algo", "md5", WriteFile(10, 4));
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(output, Is.Empty);
        Assert.That(error, Does.Contain("unknown algorithm 'md5'").And.Contain("t10dif, crc32c or crc64nvme"));
    }

    [Test]
    public void MissingFileIsReported()
    {
        string path = Path.Combine(_dir, "no-such-file");
        var (exit, output, error) = Run("crc", "--algo", "t10dif", path);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(output, Is.Empty);
        Assert.That(error, Does.Contain($"file '{path}' not found"));
    }

    [TestCase("0")]
    [TestCase("-512")]
    [TestCase("abc")]
    [TestCase("99999999999999999999")]
    public void BadBlockSizeIsAUsageError(string size)
    {
        var (exit, _, error) = Run("crc", "--algo", "t10dif", "--block-size", size, WriteFile(10, 5));
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--block-size: must be a positive number of bytes").And.Contain($"got '{size}'"));
    }

    [Test]
    public void UnknownOptionIsAUsageError()
    {
        var (exit, _, error) = Run("crc", "--algo", "t10dif", "--frobnicate", WriteFile(10, 6));
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--frobnicate: unknown option"));
    }

    [TestCase(new[] { "crc", "--algo" }, "--algo: needs a value")]
    [TestCase(new[] { "crc", "somefile" }, "--algo: is required")]
    [TestCase(new[] { "crc", "--algo", "crc32c" }, "FILE: is required")]
    [TestCase(new[] { "crc", "--algo", "crc32c", "a", "b" }, "only one FILE")]
    [TestCase(new[] { "crc", "--bench", "--algo", "crc32c" }, "--bench: takes no FILE")]
    [TestCase(new[] { "crc", "--bench", "--seconds", "0" }, "--seconds: must be a positive number")]
    [TestCase(new[] { "crc", "--algo", "crc32c", "--algo", "t10dif", "x" }, "--algo: given more than once")]
    [TestCase(new[] { "crc", "--algo", "crc32c", "--block-size", "512", "--block-size", "4096", "x" }, "--block-size: given more than once")]
    [TestCase(new[] { "crc", "--bench", "--runs", "0" }, "--runs: must be a whole number from 1 to 99, got '0'")]
    [TestCase(new[] { "crc", "--bench", "--runs", "2.5" }, "--runs: must be a whole number")]
    [TestCase(new[] { "crc", "--bench", "--runs", "3", "--runs", "5" }, "--runs: given more than once")]
    [TestCase(new[] { "crc", "--algo", "crc32c", "--runs", "3", "f" }, "--runs: only applies to --bench")]
    [TestCase(new[] { "crc", "--algo", "crc32c", "--seconds", "3", "f" }, "--seconds: only applies to --bench")]
    public void IncompleteOrConflictingArgumentsAreUsageErrors(string[] args, string message)
    {
        var (exit, _, error) = Run(args);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain(message));
    }

    [Test]
    public void HelpPrintsUsage()
    {
        var (exit, output, _) = Run("crc", "--help");
        Assert.That(exit, Is.EqualTo(0));
        Assert.That(output, Does.Contain("--algo t10dif|crc32c|crc64nvme"));
    }

    [Test]
    public void BenchPrintsAnAlignedTable()
    {
        var (exit, output, error) = Run("crc", "--bench", "--seconds", "0.3");
        Assert.That(exit, Is.EqualTo(0), error);
        string[] lines = output.Split(Environment.NewLine);
        string header = lines.Single(l => l.StartsWith("algorithm", StringComparison.Ordinal));
        Assert.That(header, Does.Contain("512 B").And.Contain("4 KiB").And.Contain("1 MiB"));
        foreach (string algorithm in new[] { "T10-DIF", "CRC-32C", "CRC-64/NVME" })
            Assert.That(lines.Any(l => l.StartsWith(algorithm, StringComparison.Ordinal)), algorithm);
        // The rows of the main table: from the header to the first line that is not a row.
        var rows = lines.SkipWhile(l => l != header).TakeWhile(l => l.Length > 0 && !l.StartsWith('(')).ToList();
        Assert.That(rows, Has.Count.GreaterThanOrEqualTo(12), "every path of every algorithm");
        Assert.That(rows.Select(r => r.Length).Distinct().Count(), Is.EqualTo(1), "rows are aligned to one width");
        Assert.That(output, Does.Contain("multi-block"));
        Assert.That(output, Does.Contain($"CPU class: {CrcDispatch.CpuClass}"), "the detected class is printed");
        Assert.That(output, Does.Contain("Dispatch: ").And.Contain("CRC-32C: "), "and what the dispatch chose for it");
        Assert.That(output, Does.Contain("Default path at 4 KiB against the fastest forced path"));
        Assert.That(lines.Count(l => l.StartsWith("Warm-up: ", StringComparison.Ordinal)), Is.EqualTo(1), "the warm-up says whether the JIT settled");
        if (!output.Contains("ISA-L: skipped", StringComparison.Ordinal))
        {
            // One paired-ratio line per CRC, three sizes each: "1.05x [1.03-1.08]".
            var paired = lines.SkipWhile(l => !l.StartsWith("Default / ISA-L in alternating", StringComparison.Ordinal)).Skip(2)
                .TakeWhile(l => l.Length > 0).ToList();
            Assert.That(paired, Has.Count.EqualTo(3), "paired ratios of every CRC against ISA-L");
            foreach (string line in paired)
                Assert.That(System.Text.RegularExpressions.Regex.Matches(line, @"\d+\.\d\dx \[\s*\d+\.\d\d-\s*\d+\.\d\d\]"), Has.Count.EqualTo(3), line);
        }
        foreach (string algorithm in new[] { "T10-DIF", "CRC-32C", "CRC-64/NVME" })
            Assert.That(lines.Any(l => l.StartsWith($"  {algorithm} ", StringComparison.Ordinal)
                && System.Text.RegularExpressions.Regex.IsMatch(l, @"default \(.+\) / .+: \d+\.\d\dx \[\d+\.\d\d-\d+\.\d\d\], (fastest|NOT the fastest)")), algorithm);
    }

    [Test]
    public void BenchWithSeveralRunsPrintsMedians()
    {
        var (exit, output, error) = Run("crc", "--bench", "--seconds", "0.3", "--runs", "3");
        Assert.That(exit, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("median of 3 runs"));
    }
}
