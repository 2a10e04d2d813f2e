using BenchmarkDotNet.Running;

namespace PolledNvme.Bench.Micro;

internal static class Program
{
    private static void Main(string[] args)
    {
        // `queuepair [seconds]`: the stopwatch harness (IOPS at QD128, QD1 latency percentiles).
        if (args.Length > 0 && args[0] == "queuepair")
        {
            QueuePairHarness.Run(Console.Out, args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5);
            return;
        }
        // `await [seconds]`: QD1 latency of the callback form, the event-loop await and the poller cross-thread await.
        if (args.Length > 0 && args[0] == "await")
        {
            AwaitHarness.Run(Console.Out, args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5);
            return;
        }
        // `idle [device] [spin|adaptive|interrupt] [seconds]`: process CPU of an open controller with one idle queue pair.
        if (args.Length > 0 && args[0] == "idle")
        {
            IdleCpuHarness.Run(Console.Out, args.Length > 1 ? args[1] : "mem:",
                args.Length > 2 ? Enum.Parse<PolledNvme.Driver.PollMode>(args[2], ignoreCase: true) : PolledNvme.Driver.PollMode.Spin,
                args.Length > 3 ? double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 10);
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
