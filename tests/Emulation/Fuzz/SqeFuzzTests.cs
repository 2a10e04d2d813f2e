using System.Globalization;
using NUnit.Framework;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>
/// The SQE fuzzer in the suite: every configuration (backends, formats, limits, inline and
/// threaded devices) gets its share of PNVME_FUZZ_COUNT commands (100 000 by default) from
/// PNVME_FUZZ_SEED (random by default; always printed). PNVME_FUZZ_CONFIG narrows the run to
/// configurations whose name contains it, PNVME_FUZZ_TRACE=1 prints every command. `make fuzz`
/// sets them (N, SEED, ONLY, TRACE). docs/FUZZING.md describes what is checked.
/// </summary>
[Category("Fuzz")]
public class SqeFuzzTests
{
    private const long DefaultCount = 100_000;

    public static IEnumerable<TestCaseData> Configurations()
        => FuzzConfig.All.Select(c => new TestCaseData(c.Name).SetName($"Fuzz_{c.Name}"));

    [TestCaseSource(nameof(Configurations))]
    public void DeviceKeepsEveryRuleUnderFuzzedSubmissions(string name)
    {
        string? filter = Environment.GetEnvironmentVariable("PNVME_FUZZ_CONFIG");
        var selected = FuzzConfig.All.Where(c => string.IsNullOrEmpty(filter) || c.Name.Contains(filter, StringComparison.Ordinal)).ToArray();
        var config = selected.FirstOrDefault(c => c.Name == name);
        if (config is null)
            Assert.Ignore($"PNVME_FUZZ_CONFIG={filter} leaves this configuration out");
        long total = ReadCount();
        long count = Math.Max(1, total * config!.Weight / selected.Sum(c => c.Weight));
        ulong seed = ReadSeed();
        bool trace = Environment.GetEnvironmentVariable("PNVME_FUZZ_TRACE") == "1";
        try
        {
            var stats = SqeFuzzer.Run(config, seed, count, TestContext.Progress, trace);
            TestContext.Progress.WriteLine($"SQE fuzzer {config.Name}, seed 0x{seed:X}: {stats}");
        }
        catch (FuzzViolationException e)
        {
            Assert.Fail(e.Message);
        }
    }

    private static long ReadCount()
    {
        string? text = Environment.GetEnvironmentVariable("PNVME_FUZZ_COUNT");
        if (string.IsNullOrEmpty(text))
            return DefaultCount;
        return long.TryParse(text.Replace("_", ""), NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n > 0
            ? n : throw new ArgumentException($"PNVME_FUZZ_COUNT='{text}' is not a positive number of commands.");
    }

    /// <summary>PNVME_FUZZ_SEED (decimal or 0x hex), or a fresh random seed, printed so a failure can be rerun.</summary>
    private static ulong ReadSeed()
    {
        string? text = Environment.GetEnvironmentVariable("PNVME_FUZZ_SEED");
        if (string.IsNullOrEmpty(text))
            return Seed ??= (ulong)Random.Shared.NextInt64() & 0xFFFF_FFFF_FFFF;
        bool hex = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
        return ulong.TryParse(hex ? text[2..] : text, hex ? NumberStyles.HexNumber : NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed)
            ? seed : throw new ArgumentException($"PNVME_FUZZ_SEED='{text}' is not a number (decimal, or hex with 0x).");
    }

    /// <summary>One random seed per test run, shared by every configuration (one number to rerun them all).</summary>
    private static ulong? Seed;
}
