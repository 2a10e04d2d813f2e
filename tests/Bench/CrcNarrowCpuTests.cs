using System.Diagnostics;
using System.IO.Hashing;
using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// The CRCs on the smaller CPU classes, for real: pnvme runs in a child process with the
/// runtime's instruction-set switches narrowed, so the dispatch, the 256/128-bit hybrids, the
/// <c>crc32</c> streams combined with a software multiply (no PCLMULQDQ) and the tables run
/// as they would on such a CPU. Every value must match System.IO.Hashing (CRC-32C,
/// CRC-64/NVME) or the table path checked against the bit-serial reference (T10-DIF).
/// </summary>
public class CrcNarrowCpuTests
{
    private string _dir = null!;

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("pnvme-crc-cpu-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    // Block sizes that reach each CRC-32C length class (crc32 streams, folding, hybrid) and a
    // last partial block; the whole file goes through the long path. Without PCLMULQDQ, 512,
    // 700 and 1100 B combine their streams with byte tables (segments of 10, 12 and 20 words).
    private static readonly int[] s_crc32CBlockSizes = [100, 512, 700, 1100, 4099];

    [TestCase(CrcCpuClass.Avx2Vpclmul, "DOTNET_EnableAVX512=0")]
    [TestCase(CrcCpuClass.Pclmul, "DOTNET_EnableAVX512=0", "DOTNET_EnableVAES=0")]
    [TestCase(CrcCpuClass.Sse42, "DOTNET_EnableAES=0")]
    [TestCase(CrcCpuClass.Portable, "DOTNET_EnableSSE42=0")]
    public void EveryCrcMatchesOnANarrowedCpu(CrcCpuClass expected, params string[] environment)
    {
        if (CrcDispatch.CpuClass < expected)
            Assert.Ignore($"this CPU ({CrcDispatch.CpuDescription}) is below the {expected} class.");
        byte[] data = new byte[300_013];
        new Random(17).NextBytes(data);
        string path = Path.Combine(_dir, "data.bin");
        File.WriteAllBytes(path, data);

        string bench = Pnvme(environment, "crc", "--bench", "--seconds", "0.1");
        Assert.That(bench, Does.Contain($"CPU class: {expected} "), "the switches narrowed the class");

        Assert.That(Pnvme(environment, "crc", "--algo", "crc32c", path).Trim(),
            Is.EqualTo(Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data).ToString("x8")), "CRC-32C, whole file");
        foreach (int blockSize in s_crc32CBlockSizes)
            CheckBlocks(Pnvme(environment, "crc", "--algo", "crc32c", "--block-size", $"{blockSize}", path), data, blockSize,
                block => Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, block).ToString("x8"), $"CRC-32C, {blockSize}-byte blocks");
        CheckBlocks(Pnvme(environment, "crc", "--algo", "crc64nvme", "--block-size", "4160", path), data, 4160,
            block => Crc64.HashToUInt64(Crc64ParameterSet.Nvme, block).ToString("x16"), "CRC-64/NVME");
        CheckBlocks(Pnvme(environment, "crc", "--algo", "t10dif", "--block-size", "520", path), data, 520,
            block => Crc16T10Dif.Update(0, block, CrcKernel.Table).ToString("x4"), "CRC-16/T10-DIF");
    }

    private static void CheckBlocks(string output, byte[] data, int blockSize, Func<byte[], string> expected, string what)
    {
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo((data.Length + blockSize - 1) / blockSize), what);
        for (int i = 0; i < lines.Length; i++)
        {
            byte[] block = data.AsSpan(i * blockSize, Math.Min(blockSize, data.Length - i * blockSize)).ToArray();
            if (lines[i] != expected(block))
                Assert.Fail($"{what}: block {i} is {lines[i]}, expected {expected(block)}");
        }
    }

    /// <summary>Runs pnvme.dll in a child process with <paramref name="environment"/> (NAME=VALUE) added; returns stdout.</summary>
    private static string Pnvme(string[] environment, params string[] args)
    {
        string dotnet = Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pnvme.dll"));
        foreach (string a in args)
            start.ArgumentList.Add(a);
        foreach (string variable in environment)
        {
            int equals = variable.IndexOf('=');
            start.Environment[variable[..equals]] = variable[(equals + 1)..];
        }
        using var child = Process.Start(start)!;
        Task<string> stdout = child.StandardOutput.ReadToEndAsync();
        Task<string> stderr = child.StandardError.ReadToEndAsync();
        if (!child.WaitForExit(300_000))
        {
            child.Kill();
            Assert.Fail($"pnvme {string.Join(' ', args)} did not finish in 5 minutes");
        }
        Assert.That(child.ExitCode, Is.EqualTo(0), $"{string.Join(' ', environment)} pnvme {string.Join(' ', args)}: {stderr.Result}");
        return stdout.Result;
    }
}
