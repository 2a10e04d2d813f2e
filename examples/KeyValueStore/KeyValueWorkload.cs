using System.Diagnostics;
using System.Globalization;
using PolledNvme.Driver;

namespace PolledNvme.Examples.KeyValueStore;

/// <summary>What a workload run measured: operations, hits, back-pressure, cancellations and latency percentiles.</summary>
public sealed record KeyValueReport(string Device, int Concurrency, double Seconds, long Gets, long Hits, long Puts, long BackPressureWaits,
    long Cancelled, double P50Us, double P99Us, double P999Us)
{
    /// <summary>Operations per second.</summary>
    public double OpsPerSecond => (Gets + Puts) / Seconds;

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Device}: {Concurrency} in flight, {Seconds:F1} s: {OpsPerSecond:F0} ops/s ({Gets} gets, {Hits} hits, {Puts} puts); "
        + $"latency p50 {P50Us:F1} µs, p99 {P99Us:F1} µs, p99.9 {P999Us:F1} µs; {BackPressureWaits} back-pressure waits, {Cancelled} cancelled at the end");
}

/// <summary>
/// The example's workload: load <c>keys</c> keys, then run <c>concurrency</c> operations at a
/// time on the event loop — 90 % gets, 10 % puts of random keys — until the run's token is
/// cancelled (the operations then in flight end cancelled: their commands aborted or finished).
/// </summary>
public static class KeyValueWorkload
{
    /// <summary>Runs the workload on <paramref name="device"/> and returns its report.</summary>
    public static KeyValueReport Run(string device, int keys, int concurrency, TimeSpan duration, int valueBytes = 512)
    {
        using var controller = NvmeController.Open(device);
        Namespace ns = controller.Namespaces[0];
        using IoQueuePair qp = controller.CreateIoQueuePair(new IoQueuePairOptions { Entries = 64, SoftwareQueueDepth = 4 * concurrency });
        long slots = (long)Math.Min(ns.BlockCount, 4UL * (ulong)keys);
        using var store = new BlockKeyValueStore(controller, ns, qp, slots, concurrency);
        var latencies = new long[1 << 20];
        long recorded = 0, gets = 0, hits = 0, puts = 0, cancelled = 0;
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        qp.Run(async _ =>
        {
            var value = new byte[valueBytes];
            var key = new byte[16];
            for (int k = 0; k < keys; k++)
            {
                Key(key, k);
                Random.Shared.NextBytes(value);
                await store.PutAsync(key, value);
            }
            stop.CancelAfter(duration);
            clock.Restart();
            var workers = new Task[concurrency];
            for (int w = 0; w < concurrency; w++)
                workers[w] = Worker(w).AsTask();
            await Task.WhenAll(workers);

            async ValueTask Worker(int seed)
            {
                var random = new Random(seed);
                var myKey = new byte[16];
                var myValue = new byte[valueBytes];
                var destination = new byte[store.MaxValueLength(myKey.Length)];
                while (!stop.IsCancellationRequested)
                {
                    Key(myKey, random.Next(keys));
                    long start = Stopwatch.GetTimestamp();
                    try
                    {
                        if (random.Next(10) == 0)
                        {
                            random.NextBytes(myValue);
                            await store.PutAsync(myKey, myValue, stop.Token);
                            puts++;
                        }
                        else
                        {
                            int length = await store.GetAsync(myKey, destination, stop.Token);
                            gets++;
                            if (length >= 0)
                                hits++;
                        }
                    }
                    catch (OperationCanceledException)
                    {
                        cancelled++;
                        break;
                    }
                    latencies[recorded++ & (latencies.Length - 1)] = Stopwatch.GetTimestamp() - start;
                }
            }
        });
        double seconds = clock.Elapsed.TotalSeconds;
        int n = (int)Math.Min(recorded, latencies.Length);
        Array.Sort(latencies, 0, n);
        double Percentile(double p) => n == 0 ? 0 : latencies[Math.Min(n - 1, (int)(p * n))] * 1e6 / Stopwatch.Frequency;
        return new KeyValueReport(device, concurrency, seconds, gets, hits, puts, store.BackPressureWaits, cancelled,
            Percentile(0.50), Percentile(0.99), Percentile(0.999));
    }

    /// <summary>Key number <paramref name="k"/> as 16 bytes.</summary>
    public static void Key(Span<byte> key, int k)
    {
        key.Clear();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(key, k);
        "kv-key"u8.CopyTo(key[4..]);
    }
}
