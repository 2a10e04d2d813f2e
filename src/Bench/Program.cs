using PolledNvme.Bench.Run;

namespace PolledNvme.Bench;

internal static class Program
{
    private static int Main(string[] args)
    {
        // A failure on a thread the command does not own (none is expected) still ends in one line and exit 1.
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            TemporaryFiles.DeleteAll();
            string command = args.Length > 0 ? args[0] : "";
            CliErrors.Report(command, e.ExceptionObject as Exception ?? new InvalidOperationException($"{e.ExceptionObject}"), Console.Error);
            Environment.Exit(Cli.ExitFailure);
        };
        var stop = new StopRequest();
        using var signals = CliSignals.Install(stop);
        try
        {
            return Cli.Run(args, Console.Out, Console.Error, stop);
        }
        finally
        {
            TemporaryFiles.DeleteAll();
        }
    }
}
