namespace PolledNvme.Tests.Support;

/// <summary>
/// The suite's long mode: <c>PNVME_LONG=1</c> (what <c>make test-long</c> sets) makes the
/// tests that sample something random (crash rounds) run many more rounds. The default run
/// stays short enough for every change.
/// </summary>
internal static class SuiteMode
{
    /// <summary>The environment variable that selects the long mode.</summary>
    public const string Variable = "PNVME_LONG";

    /// <summary>True when <c>PNVME_LONG=1</c>.</summary>
    public static bool IsLong => Environment.GetEnvironmentVariable(Variable) == "1";

    /// <summary><paramref name="normal"/> in the default run, <paramref name="longRun"/> in the long mode.</summary>
    public static int Rounds(int normal, int longRun) => IsLong ? longRun : normal;
}
