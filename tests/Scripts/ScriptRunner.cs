using System.Diagnostics;

namespace PolledNvme.Tests.Scripts;

/// <summary>Runs a repository shell script and captures its exit code and output.</summary>
internal static class ScriptRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string All => Stdout + Stderr;
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}--- stderr\n{Stderr}";
    }

    /// <summary>The repository root (the directory holding PolledNvme.sln).</summary>
    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "PolledNvme.sln"))) return dir.FullName;
            throw new InvalidOperationException($"PolledNvme.sln not found above {AppContext.BaseDirectory}.");
        }
    }

    public static Result Run(string script, IEnumerable<string> args, IDictionary<string, string>? environment = null, string[]? prefix = null)
    {
        var psi = new ProcessStartInfo(prefix?[0] ?? "bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (prefix is not null)
        {
            foreach (string p in prefix[1..]) psi.ArgumentList.Add(p);
            psi.ArgumentList.Add("bash");
        }
        psi.ArgumentList.Add(Path.Combine(RepoRoot, script));
        foreach (string a in args) psi.ArgumentList.Add(a);
        if (environment is not null)
            foreach ((string key, string value) in environment) psi.Environment[key] = value;
        using var process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} {string.Join(' ', args)} did not finish in 60 s.");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
