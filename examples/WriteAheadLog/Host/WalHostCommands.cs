using System.Diagnostics;
using System.Globalization;
using PolledNvme.Driver;

namespace PolledNvme.Examples.WriteAheadLog.Host;

/// <summary>
/// The host's commands:
/// <c>append ADDRESS [APPENDERS [COUNT]]</c> appends pattern records (<see cref="RecordPattern"/>),
/// printing <c>ack ID</c> (flushed) for each acknowledged one, until COUNT or until killed;
/// <c>recover ADDRESS</c> prints what recovery finds;
/// <c>bench ADDRESS APPENDERS RECORDS [PAYLOAD]</c> prints commit latency percentiles.
/// </summary>
public static class WalHostCommands
{
    /// <summary>Runs one command; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        try
        {
            switch (args)
            {
                case ["append", string address, ..]:
                    Append(address, IntArg(args, 2, 4), IntArg(args, 3, int.MaxValue), output);
                    return 0;
                case ["recover", string address]:
                    Recover(address, output);
                    return 0;
                case ["bench", string address, string appenders, string records, ..]:
                    Bench(address, IntArg(args, 2, 1), IntArg(args, 3, 1000), IntArg(args, 4, 100), output);
                    return 0;
                default:
                    error.WriteLine("usage: WalHost append ADDRESS [APPENDERS [COUNT]] | recover ADDRESS | bench ADDRESS APPENDERS RECORDS [PAYLOAD]");
                    return 2;
            }
        }
        catch (Exception e) when (e is ArgumentException or WalCorruptionException or WalFullException or NvmeException)
        {
            error.WriteLine($"WalHost: {e.Message}");
            return 1;
        }
    }

    private static int IntArg(string[] args, int index, int missing)
    {
        if (args.Length <= index)
            return missing;
        if (!int.TryParse(args[index], NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < 1)
            throw new ArgumentException($"argument {index} must be a positive integer; got '{args[index]}'.");
        return value;
    }

    private static void Append(string address, int appenders, int count, TextWriter output)
    {
        using var controller = NvmeController.Open(address);
        using var log = WriteAheadLog.Open(controller, controller.Namespaces[0]);
        long firstId = log.Recovery.Records.Count == 0 ? 0 : log.Recovery.Records.Max(RecordPattern.IdOf) + 1;
        lock (output)
        {
            output.WriteLine($"recovered {log.Recovery.Records.Count} records, appending at LBA {log.Recovery.EndLba}");
            output.Flush();
        }
        long nextId = firstId - 1;
        long lastId = firstId + count - 1;
        Task[] workers = new Task[appenders];
        for (int w = 0; w < appenders; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                for (long id = Interlocked.Increment(ref nextId); id <= lastId; id = Interlocked.Increment(ref nextId))
                {
                    await log.AppendAsync(RecordPattern.TypeOf(id), RecordPattern.PayloadOf(id));
                    lock (output)
                    {
                        output.WriteLine($"ack {id}");
                        output.Flush();
                    }
                }
            });
        }
        Task.WaitAll(workers);
    }

    private static void Recover(string address, TextWriter output)
    {
        using var controller = NvmeController.Open(address);
        using var log = WriteAheadLog.Open(controller, controller.Namespaces[0]);
        WalRecoveryResult r = log.Recovery;
        output.WriteLine($"{r.Records.Count} records in {r.EndLba} blocks, epoch {r.LastEpoch}; end: {r.EndReason}");
    }

    private static void Bench(string address, int appenders, int records, int payloadBytes, TextWriter output)
    {
        using var controller = NvmeController.Open(address);
        using var log = WriteAheadLog.Open(controller, controller.Namespaces[0]);
        byte[] payload = new byte[payloadBytes];
        var latencies = new long[records];
        int next = -1;
        long started = Stopwatch.GetTimestamp();
        Task[] workers = new Task[appenders];
        for (int w = 0; w < appenders; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                for (int i = Interlocked.Increment(ref next); i < records; i = Interlocked.Increment(ref next))
                {
                    long t0 = Stopwatch.GetTimestamp();
                    await log.AppendAsync(1, payload);
                    latencies[i] = Stopwatch.GetTimestamp() - t0;
                }
            });
        }
        Task.WaitAll(workers);
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        Array.Sort(latencies);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"appenders {appenders}, records {records} x {payloadBytes} B: p50 {Micros(latencies, 0.50):F0} us, p99 {Micros(latencies, 0.99):F0} us, p99.9 {Micros(latencies, 0.999):F0} us; " +
            $"{records / seconds:F0} records/s, {log.WriteCommands} write+flush groups ({(double)records / log.WriteCommands:F1} records/group)"));
    }

    private static double Micros(long[] sorted, double quantile)
    {
        int index = Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1);
        return sorted[Math.Max(index, 0)] * 1e6 / Stopwatch.Frequency;
    }
}
