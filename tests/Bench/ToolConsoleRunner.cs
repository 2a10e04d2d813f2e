using System.Diagnostics;
using PolledNvme.Bench;
using PolledNvme.Bench.Tools;

namespace PolledNvme.Tests.Bench;

/// <summary>
/// Runs pnvme with binary stdin/stdout and a terminal (or not) of the test's choosing, in-process
/// (<see cref="Run"/>) or as a real child process whose stdin/stdout are pipes (<see cref="RunProcess"/>).
/// </summary>
internal static class ToolConsoleRunner
{
    public sealed record Outcome(int ExitCode, byte[] Stdout, string Text, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout ({Stdout.Length} bytes)\n{Text}--- stderr\n{Stderr}";
    }

    /// <summary>
    /// Runs in-process: <paramref name="stdin"/> is what the command reads as binary input,
    /// <paramref name="interactive"/> whether a terminal is attached, <paramref name="answers"/>
    /// what is typed at it. Text and bytes written to stdout come back together, in order.
    /// </summary>
    public static Outcome Run(byte[]? stdin, bool interactive, string[] answers, params string[] args)
    {
        var output = new MemoryStream();
        var stdout = new StreamWriter(output, leaveOpen: true) { AutoFlush = true };
        var stderr = new StringWriter();
        var typed = new Queue<string>(answers);
        var console = new ToolConsole(
            () => new MemoryStream(stdin ?? [], writable: false),
            () => new NonClosing(output),
            interactive,
            () => typed.Count > 0 ? typed.Dequeue() : null);
        int code;
        using (ToolConsole.Use(console))
            code = Cli.Run(args, stdout, stderr);
        stdout.Flush();
        byte[] bytes = output.ToArray();
        return new Outcome(code, bytes, System.Text.Encoding.UTF8.GetString(bytes), stderr.ToString());
    }

    public static Outcome Run(params string[] args) => Run(null, false, [], args);

    /// <summary>Runs pnvme.dll in a child process, <paramref name="stdin"/> piped in and stdout read as bytes.</summary>
    public static Outcome RunProcess(byte[] stdin, params string[] args)
    {
        string pnvme = Path.Combine(AppContext.BaseDirectory, "pnvme.dll");
        string dotnet = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(pnvme);
        foreach (string a in args)
            start.ArgumentList.Add(a);
        using var child = Process.Start(start)!;
        var stdout = new MemoryStream();
        Task copy = child.StandardOutput.BaseStream.CopyToAsync(stdout);
        Task<string> stderr = child.StandardError.ReadToEndAsync();
        child.StandardInput.BaseStream.Write(stdin);
        child.StandardInput.Close();
        if (!child.WaitForExit(120_000))
        {
            child.Kill();
            throw new TimeoutException($"pnvme {string.Join(' ', args)} did not finish in 2 minutes");
        }
        copy.Wait();
        byte[] bytes = stdout.ToArray();
        return new Outcome(child.ExitCode, bytes, System.Text.Encoding.UTF8.GetString(bytes), stderr.Result);
    }

    /// <summary>The command disposes the stream it wrote to; the test still needs it.</summary>
    private sealed class NonClosing(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);
    }
}
