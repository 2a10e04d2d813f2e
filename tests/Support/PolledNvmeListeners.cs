using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using PolledNvme.Driver;

namespace PolledNvme.Tests.Support;

/// <summary>
/// A <see cref="MeterListener"/> on the "PolledNvme" meter that keeps, per instrument and tag
/// set, the last observed value (observable instruments) and every histogram recording, for
/// one controller address only (tests may run beside others that open controllers).
/// </summary>
internal sealed class PolledNvmeMeterListener : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly string _controller;
    private readonly ConcurrentDictionary<string, long> _last = new();
    private readonly ConcurrentQueue<(string Op, double Micros)> _latencies = new();

    public PolledNvmeMeterListener(string controller, bool histogram = true)
    {
        _controller = controller;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == NvmeDiagnostics.MeterName && (histogram || instrument is not Histogram<double>))
                listener.EnableMeasurementEvents(instrument, this);
        };
        _listener.SetMeasurementEventCallback<long>(static (instrument, value, tags, state) => ((PolledNvmeMeterListener)state!).Observed(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>(static (instrument, value, tags, state) => ((PolledNvmeMeterListener)state!).Recorded(value, tags));
        _listener.Start();
    }

    /// <summary>Names of the instruments this listener was told about.</summary>
    public IEnumerable<string> Instruments => _last.Keys.Select(k => k.Split('|')[0]).Distinct();

    /// <summary>Histogram recordings of this controller: (nvme.op, µs).</summary>
    public IReadOnlyCollection<(string Op, double Micros)> Latencies => _latencies;

    /// <summary>Asks the observable instruments for their values now.</summary>
    public void Collect() => _listener.RecordObservableInstruments();

    /// <summary>
    /// The last observed value of <paramref name="instrument"/> whose tags include every
    /// <paramref name="tags"/> (key=value) pair, summed over the matching series; 0 when none matched.
    /// </summary>
    public long Value(string instrument, params string[] tags)
        => _last.Where(kv => kv.Key.StartsWith(instrument + "|", StringComparison.Ordinal) && tags.All(t => kv.Key.Contains("|" + t + "|", StringComparison.Ordinal)))
            .Sum(kv => kv.Value);

    /// <summary>How many series of <paramref name="instrument"/> reported for this controller.</summary>
    public int Series(string instrument) => _last.Keys.Count(k => k.StartsWith(instrument + "|", StringComparison.Ordinal));

    public void Clear() => _last.Clear();

    private bool Mine(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (KeyValuePair<string, object?> tag in tags)
            if (tag.Key == "nvme.controller")
                return (string?)tag.Value == _controller;
        return false;
    }

    private void Observed(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (!Mine(tags))
            return;
        var key = new System.Text.StringBuilder(instrument.Name).Append('|');
        foreach (KeyValuePair<string, object?> tag in tags)
            key.Append(tag.Key).Append('=').Append(tag.Value).Append('|');
        _last[key.ToString()] = value;
    }

    private void Recorded(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (!Mine(tags))
            return;
        string op = "";
        foreach (KeyValuePair<string, object?> tag in tags)
            if (tag.Key == "nvme.op")
                op = (string)tag.Value!;
        _latencies.Enqueue((op, value));
    }

    public void Dispose() => _listener.Dispose();
}

/// <summary>An <see cref="EventListener"/> on the "PolledNvme" event source keeping the events whose controller address starts with the given one.</summary>
internal sealed class PolledNvmeEventListener : EventListener
{
    private readonly ConcurrentQueue<EventWrittenEventArgs> _events = new();
    private readonly string? _address;

    public PolledNvmeEventListener(string address)
    {
        _address = address;
        // OnEventSourceCreated can run inside the base constructor (for sources that exist already), before the field is set: enable here too.
        foreach (EventSource source in EventSource.GetSources())
            if (source.Name == NvmeDiagnostics.EventSourceName)
                EnableEvents(source, EventLevel.Verbose);
    }

    public IReadOnlyList<EventWrittenEventArgs> Events => _events.ToArray();

    /// <summary>The events named <paramref name="name"/>, in order.</summary>
    public List<EventWrittenEventArgs> Named(string name) => Events.Where(e => e.EventName == name).ToList();

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == NvmeDiagnostics.EventSourceName)
            EnableEvents(source, EventLevel.Verbose);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (_address is not null && e.Payload is { Count: > 0 } payload && payload[0] is string a && a.StartsWith(_address, StringComparison.Ordinal))
            _events.Enqueue(e);
    }

    /// <summary>The named payload field of <paramref name="e"/>.</summary>
    public static object? Field(EventWrittenEventArgs e, string name) => e.Payload![e.PayloadNames!.IndexOf(name)];
}
