using System.Diagnostics;
using NUnit.Framework;
using PolledNvme.Bench;

namespace PolledNvme.Tests.Bench;

/// <summary>Runs the pnvme command line in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public sealed record Outcome(int ExitCode, string Stdout, string Stderr);

    public static Outcome Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Cli.Run(args, stdout, stderr);
        return new Outcome(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs <paramref name="args"/> in-process with <paramref name="stop"/> (a test's stand-in for a signal).</summary>
    public static Outcome Run(PolledNvme.Bench.Run.StopRequest stop, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Cli.Run(args, stdout, stderr, stop);
        return new Outcome(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>
    /// Starts the real pnvme process (<c>dotnet pnvme.dll</c> from the test's output directory),
    /// for what only a process has: the top-level handler of Program, signals, exit codes.
    /// </summary>
    /// <param name="args">The command line.</param>
    /// <param name="environment">Variables to set (null value: remove).</param>
    /// <param name="prefix">A program and its arguments to run pnvme under (e.g. setpriv, prlimit).</param>
    public static Process Start(string[] args, IReadOnlyDictionary<string, string?>? environment = null, string[]? prefix = null)
    {
        string dotnet = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        string[] command = [.. prefix ?? [], dotnet, Path.Combine(AppContext.BaseDirectory, "pnvme.dll"), .. args];
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string arg in command.Skip(1))
            start.ArgumentList.Add(arg);
        start.Environment.Remove("PNVME_DEBUG");
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        }
        return Process.Start(start)!;
    }

    /// <summary>
    /// Runs the real pnvme process to its end (at most <paramref name="timeout"/>) and captures what
    /// it prints; <paramref name="stdin"/> is written to its standard input, which is then closed.
    /// </summary>
    public static Outcome RunProcess(string[] args, IReadOnlyDictionary<string, string?>? environment = null, string[]? prefix = null, TimeSpan? timeout = null, byte[]? stdin = null)
    {
        using var process = Start(args, environment, prefix);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            process.StandardInput.BaseStream.Write(stdin ?? []);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The process ended (or closed its stdin) before reading it all: what it did is in its output.
        }
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"pnvme {string.Join(' ', args)} did not exit within {timeout ?? TimeSpan.FromMinutes(2)}");
        }
        process.WaitForExit();
        return new Outcome(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// Reads a bench process's stdout into <paramref name="stdout"/> up to the header's last line
    /// (<c>Starting N thread(s)</c>, written once the devices are open and the run is about to
    /// start); returns that line, or null when the output ended first.
    /// </summary>
    public static string? ReadUntilStarted(Process process, System.Text.StringBuilder stdout)
    {
        string? line;
        while ((line = process.StandardOutput.ReadLine()) is not null)
        {
            stdout.AppendLine(line);
            if (line.StartsWith("Starting ", StringComparison.Ordinal)) break;
        }
        return line;
    }

    /// <summary>Asserts that <paramref name="stderr"/> shows no .NET stack trace or crash banner.</summary>
    public static void AssertNoStackTrace(string stderr, string context = "")
    {
        Assert.That(stderr, Does.Not.Contain("Unhandled exception"), context);
        Assert.That(stderr, Does.Not.Match(@"(?m)^\s+at \S"), $"a stack frame in stderr {context}");
    }

    /// <summary>A fresh path for a backing file, deleted at the end of the test by <see cref="TempFiles"/>.</summary>
    public static string TempImage(TempFiles files)
    {
        string image = files.Add(Path.Combine(Path.GetTempPath(), $"pnvme-test-{Guid.NewGuid():N}.img"));
        files.Add(image + PolledNvme.Emulation.Media.MediaFormatRecord.SidecarSuffix); // the file backend's format record
        return image;
    }
}

/// <summary>Temp files of one test, deleted on dispose.</summary>
internal sealed class TempFiles : IDisposable
{
    private readonly List<string> _paths = [];

    public string Add(string path)
    {
        _paths.Add(path);
        return path;
    }

    public string New(string suffix = ".bin") => Add(Path.Combine(Path.GetTempPath(), $"pnvme-test-{Guid.NewGuid():N}{suffix}"));

    public void Dispose()
    {
        foreach (var p in _paths)
        {
            try
            {
                File.Delete(p);
                File.Delete(p + PolledNvme.Emulation.Media.EmulatedImageFiles.FormatRecordSuffix);   // the emulated controller's format record
            }
            catch (IOException) { }
        }
    }
}
