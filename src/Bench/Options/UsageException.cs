namespace PolledNvme.Bench.Options;

/// <summary>
/// A command line that cannot run: a bad flag, a bad value, or a flag combination that cannot
/// work on the chosen device. The CLI prints the message and exits with code 2.
/// </summary>
public sealed class UsageException : Exception
{
    /// <summary>Creates the exception for <paramref name="flag"/> (e.g. <c>--bs</c>); the message names it.</summary>
    public UsageException(string flag, string message, Exception? inner = null)
        : base($"{flag}: {message}", inner)
    {
        Flag = flag;
        Detail = message;
    }

    /// <summary>The flag the problem is about, e.g. <c>--bs</c>.</summary>
    public string Flag { get; }

    /// <summary>The message without the flag in front.</summary>
    public string Detail { get; }
}
