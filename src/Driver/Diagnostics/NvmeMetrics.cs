using System.Diagnostics.Metrics;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;

namespace PolledNvme.Driver;

/// <summary>
/// The "PolledNvme" <see cref="Meter"/>: per controller and I/O queue pair, commands completed,
/// bytes, errors by NVMe status, PI errors by kind, queue-full events and commands in flight, as
/// observable instruments read from the queue pairs' plain counters (<see cref="QueuePairMetrics"/>)
/// when a collector asks; and the I/O latency histogram, recorded per completion only while
/// someone listens to it. Nothing here runs per I/O unless the histogram is listened to. Queue
/// pairs and controllers register when created and unregister when disposed (a lock, never on the I/O path).
/// </summary>
internal static class NvmeMetrics
{
    internal const string ControllerTag = "nvme.controller";
    internal const string QueuePairTag = "nvme.queue_pair";
    internal const string OpTag = "nvme.op";
    internal const string StatusTag = "nvme.status";
    internal const string PiKindTag = "nvme.pi.kind";
    internal const string PiSourceTag = "nvme.pi.source";
    internal const int PiKinds = 4;

    internal static readonly Meter Meter = new(NvmeDiagnostics.MeterName, typeof(NvmeMetrics).Assembly.GetName().Version?.ToString());

    /// <summary>I/O latency, submit to completion reaped, µs. Recorded only while <see cref="Instrument.Enabled"/>.</summary>
    internal static readonly Histogram<double> Latency = Meter.CreateHistogram(
        "pollednvme.io.latency", "us", "I/O command latency from submit to completion reaped by the polling thread",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 50_000, 100_000, 1_000_000] });

    private static readonly object s_lock = new();
    private static readonly List<QueuePairMetrics> s_pairs = [];
    private static readonly List<ControllerMetrics> s_controllers = [];
    private static readonly string[] s_piKindNames = ["guard", "app_tag", "ref_tag", "storage_tag"];
    private static readonly PiErrorKind[] s_piKinds = [PiErrorKind.Guard, PiErrorKind.ApplicationTag, PiErrorKind.ReferenceTag, PiErrorKind.StorageTag];

    // A field initializer rather than a static constructor keeps the class beforefieldinit, so
    // the submit path's Latency.Enabled check carries no class-initialization test (last: the
    // observable callbacks use the fields above).
    private static readonly bool s_observablesCreated = CreateObservables();

    private static bool CreateObservables()
    {
        Meter.CreateObservableCounter("pollednvme.io.completed", ObserveCompleted, "{command}",
            "I/O commands completed, any status (nvme.op: read, write, other)");
        Meter.CreateObservableCounter("pollednvme.io.bytes", ObserveBytes, "By",
            "Data bytes moved by successful reads and writes (nvme.op: read, write)");
        Meter.CreateObservableCounter("pollednvme.io.errors", ObserveErrors, "{command}",
            "I/O commands that completed with an error status (nvme.status: name, SCT, SC)");
        Meter.CreateObservableCounter("pollednvme.pi.errors", ObservePiErrors, "{error}",
            "PI check failures (nvme.pi.kind: guard, app_tag, ref_tag, storage_tag; nvme.pi.source: controller status or host verification)");
        Meter.CreateObservableCounter("pollednvme.queue.full", ObserveQueueFull, "{event}",
            "Submissions that found every request slot of the queue pair in use");
        Meter.CreateObservableUpDownCounter("pollednvme.io.in_flight", ObserveInFlight, "{command}",
            "I/O commands submitted and not yet completed");
        return true;
    }

    /// <summary>
    /// The index (0 guard, 1 application tag, 2 reference tag, 3 storage tag) of the PI check a
    /// status reports (SCT 2h, SC 82h/83h/84h/88h, as <see cref="PiError.NvmeStatusCode"/> maps them), or -1.
    /// </summary>
    internal static int PiKindIndex(NvmeStatus status)
    {
        if (status.Type != StatusCodeType.MediaAndDataIntegrity)
            return -1;
        for (int i = 0; i < s_piKinds.Length; i++)
            if (new PiError(0, s_piKinds[i], 0, 0).NvmeStatusCode == status.Code)
                return i;
        return -1;
    }

    /// <summary>The index of <paramref name="kind"/> in the PI error counters, or -1 for <see cref="PiErrorKind.None"/>.</summary>
    internal static int PiKindIndex(PiErrorKind kind) => Array.IndexOf(s_piKinds, kind);

    /// <summary>The tag value of a status: its name, SCT and SC (CRD, More and DNR left out), e.g. <c>EndToEndGuardCheckError (SCT 2h, SC 82h)</c>.</summary>
    internal static string StatusName(ushort typeAndCode) => typeAndCode == QueuePairMetrics.OtherStatusKey
        ? $"Other (more than {QueuePairMetrics.StatusSlots} distinct statuses)"
        : new NvmeStatus(typeAndCode).ToString();

    internal static void Register(QueuePairMetrics pair)
    {
        System.Diagnostics.Debug.Assert(s_observablesCreated);
        lock (s_lock)
            s_pairs.Add(pair);
    }

    internal static void Unregister(QueuePairMetrics pair)
    {
        lock (s_lock)
            s_pairs.Remove(pair);
    }

    internal static void Register(ControllerMetrics controller)
    {
        lock (s_lock)
            s_controllers.Add(controller);
    }

    internal static void Unregister(ControllerMetrics controller)
    {
        lock (s_lock)
            s_controllers.Remove(controller);
    }

    /// <summary>Queue pairs registered now (tests: a disposed pair must not stay).</summary>
    internal static int RegisteredQueuePairs
    {
        get
        {
            lock (s_lock)
                return s_pairs.Count;
        }
    }

    private static List<Measurement<long>> Observe(Action<List<Measurement<long>>, QueuePairMetrics> add)
    {
        var measurements = new List<Measurement<long>>();
        lock (s_lock)
            foreach (QueuePairMetrics pair in s_pairs)
                add(measurements, pair);
        return measurements;
    }

    private static IEnumerable<Measurement<long>> ObserveCompleted() => Observe(static (list, p) =>
    {
        list.Add(new(p.Reads, p.ReadTags));
        list.Add(new(p.Writes, p.WriteTags));
        list.Add(new(p.Others, p.OtherTags));
    });

    private static IEnumerable<Measurement<long>> ObserveBytes() => Observe(static (list, p) =>
    {
        list.Add(new(p.BytesRead, p.ReadTags));
        list.Add(new(p.BytesWritten, p.WriteTags));
    });

    private static IEnumerable<Measurement<long>> ObserveErrors() => Observe(static (list, p) =>
        p.ForEachStatus((list, p), static (s, key, count) =>
            s.list.Add(new(count, WithTags(s.p.PairTags, new KeyValuePair<string, object?>(StatusTag, StatusName(key)))))));

    private static IEnumerable<Measurement<long>> ObservePiErrors()
    {
        List<Measurement<long>> list = Observe(static (list, p) =>
        {
            for (int i = 0; i < PiKinds; i++)
                list.Add(new(p.PiErrors(i), WithTags(p.PairTags, new(PiKindTag, s_piKindNames[i]), new(PiSourceTag, "controller"))));
        });
        lock (s_lock)
            foreach (ControllerMetrics c in s_controllers)
                for (int i = 0; i < PiKinds; i++)
                    list.Add(new(c.HostPiErrors(i), WithTags([new KeyValuePair<string, object?>(ControllerTag, c.Address)], new(PiKindTag, s_piKindNames[i]), new(PiSourceTag, "host"))));
        return list;
    }

    private static KeyValuePair<string, object?>[] WithTags(KeyValuePair<string, object?>[] tags, params ReadOnlySpan<KeyValuePair<string, object?>> more)
    {
        var all = new KeyValuePair<string, object?>[tags.Length + more.Length];
        tags.CopyTo(all, 0);
        more.CopyTo(all.AsSpan(tags.Length));
        return all;
    }

    private static IEnumerable<Measurement<long>> ObserveQueueFull() => Observe(static (list, p) => list.Add(new(p.QueueFullEvents, p.PairTags)));

    private static IEnumerable<Measurement<long>> ObserveInFlight() => Observe(static (list, p) => list.Add(new(p.InFlight, p.PairTags)));
}

/// <summary>
/// What the meter counts per controller rather than per queue pair: PI failures found by host
/// verification (<see cref="HostProtection"/>), which any thread may run, hence interlocked
/// (off the I/O path: only failures are counted).
/// </summary>
internal sealed class ControllerMetrics(string address)
{
    private readonly long[] _hostPiErrors = new long[NvmeMetrics.PiKinds];

    public string Address => address;

    public void HostPiError(PiErrorKind kind)
    {
        int i = NvmeMetrics.PiKindIndex(kind);
        if (i >= 0)
            Interlocked.Increment(ref _hostPiErrors[i]);
    }

    public long HostPiErrors(int kindIndex) => Volatile.Read(ref _hostPiErrors[kindIndex]);
}
