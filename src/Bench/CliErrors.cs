using System.Reflection;
using PolledNvme.Bench.Options;
using PolledNvme.Bench.Run;
using PolledNvme.Driver;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Bench;

/// <summary>
/// The one place where a failure becomes what pnvme prints and its exit code: one line on
/// stderr, <c>pnvme COMMAND: what happened (where) - what to do</c>; a stack trace only when
/// <see cref="DebugVariable"/> is set. Exit codes as docs/PNVME.md lists them: 2 for a command
/// line that cannot run (<see cref="UsageException"/>, always raised before any I/O), 1 for
/// everything else: the device, the system, or the data failed.
/// </summary>
internal static class CliErrors
{
    /// <summary>Environment variable that adds the exception's full text and stack trace to the message (any value but empty or 0).</summary>
    public const string DebugVariable = "PNVME_DEBUG";

    /// <summary>Whether <see cref="DebugVariable"/> asks for stack traces.</summary>
    public static bool DebugEnabled => Environment.GetEnvironmentVariable(DebugVariable) is { Length: > 0 } v && v != "0";

    /// <summary>Prints the line for <paramref name="error"/> (and with <see cref="DebugVariable"/> its stack trace); returns the exit code.</summary>
    public static int Report(string command, Exception error, TextWriter stderr)
    {
        error = Unwrap(error);
        var (code, line) = Describe(command, error);
        try
        {
            stderr.WriteLine(line);
            if (DebugEnabled) stderr.WriteLine(error.ToString());
            stderr.Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // stderr is gone (a closed pipe): the exit code still says it.
        }
        return code;
    }

    /// <summary>The exit code and the one line for <paramref name="error"/>.</summary>
    public static (int ExitCode, string Line) Describe(string command, Exception error)
    {
        error = Unwrap(error);
        string prefix = command.Length == 0 ? "pnvme: " : $"pnvme {command}: ";
        string help = command.Length == 0 ? "pnvme --help" : $"pnvme {command} --help";
        return error switch
        {
            UsageException u => (Cli.ExitUsage, $"{prefix}{OneLine(u.Message)} (see '{help}')"),
            NvmeException n => (Cli.ExitFailure, $"{prefix}NVMe status {n.Status}: {OneLine(n.Message)}"),
            OutOfMemoryException => (Cli.ExitFailure, $"{prefix}out of memory; use a smaller device size, --bs, --iodepth or --numjobs"),
            _ when IsExpected(error) => (Cli.ExitFailure, prefix + OneLine(error.Message)),
            _ => (Cli.ExitFailure, $"{prefix}unexpected {error.GetType().Name}: {OneLine(error.Message)} (set {DebugVariable}=1 for the stack trace, and please report it)"),
        };
    }

    /// <summary>
    /// Failures pnvme expects and whose messages say what and where: the device and its commands,
    /// DMA memory, files and the OS, PI, a stopped or failed run. Anything else is a defect.
    /// </summary>
    private static bool IsExpected(Exception e) => e is NvmeControllerException or NvmeProtocolException or NvmeProtocolFormatException
        or DmaMemoryException or ProtectionException or BenchFailedException or IOException or UnauthorizedAccessException
        or InvalidDataException or TimeoutException or InvalidOperationException or NotSupportedException or OperationCanceledException;

    // A failure inside a type initializer or a reflection call carries the real one inside.
    private static Exception Unwrap(Exception e)
    {
        while (e is TypeInitializationException or TargetInvocationException or AggregateException { InnerExceptions.Count: 1 } && e.InnerException is not null)
            e = e.InnerException;
        return e;
    }

    private static string OneLine(string message) => string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
