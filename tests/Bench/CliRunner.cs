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
                File.Delete(p + PolledNvme.Bench.Engines.NvmeBenchTarget.FormatRecordSuffix);   // the emulated controller's format record
            }
            catch (IOException) { }
        }
    }
}
