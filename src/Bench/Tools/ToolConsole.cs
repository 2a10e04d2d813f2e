namespace PolledNvme.Bench.Tools;

/// <summary>
/// The process's standard streams as the tools need them beyond text: stdin and stdout as binary
/// streams (data of <c>write</c>/<c>read</c> without <c>-d</c>, <c>-b</c> raw pages), whether a
/// person is at a terminal (to ask before <c>format</c>), and the answer they type. Tests swap in
/// their own with <see cref="Use"/> (per thread: the CLI runs on the caller's thread).
/// </summary>
internal sealed class ToolConsole
{
    [ThreadStatic]
    private static ToolConsole? t_current;

    private static readonly ToolConsole Process = new(
        Console.OpenStandardInput,
        Console.OpenStandardOutput,
        isInteractive: !Console.IsInputRedirected && !Console.IsErrorRedirected,
        Console.In.ReadLine);

    private readonly Func<Stream> _openInput;
    private readonly Func<Stream> _openOutput;
    private readonly Func<string?> _readAnswer;

    public ToolConsole(Func<Stream> openInput, Func<Stream> openOutput, bool isInteractive, Func<string?> readAnswer)
    {
        _openInput = openInput;
        _openOutput = openOutput;
        IsInteractive = isInteractive;
        _readAnswer = readAnswer;
    }

    /// <summary>The console of this thread's CLI run.</summary>
    public static ToolConsole Current => t_current ?? Process;

    /// <summary>True when stdin and stderr are terminals: someone can read a question and answer it.</summary>
    public bool IsInteractive { get; }

    /// <summary>Standard input as bytes.</summary>
    public Stream OpenInput() => _openInput();

    /// <summary>Standard output as bytes; flush <paramref name="text"/> first so text and bytes keep their order.</summary>
    public Stream OpenOutput(TextWriter text)
    {
        text.Flush();
        return _openOutput();
    }

    /// <summary>One line typed at the terminal (null at end of input).</summary>
    public string? ReadAnswer() => _readAnswer();

    /// <summary>Makes <paramref name="console"/> this thread's console until the result is disposed.</summary>
    public static IDisposable Use(ToolConsole console)
    {
        ToolConsole? previous = t_current;
        t_current = console;
        return new Restore(previous);
    }

    private sealed class Restore(ToolConsole? previous) : IDisposable
    {
        public void Dispose() => t_current = previous;
    }
}
