namespace PolledNvme.Driver;

/// <summary>
/// Names to subscribe to for PolledNvme's metrics and traces (docs/LIBRARY.md, "Metrics and
/// tracing"): the <see cref="System.Diagnostics.Metrics.Meter"/> with per queue pair counters
/// and the I/O latency histogram (<c>dotnet-counters monitor --counters PolledNvme</c>,
/// OpenTelemetry <c>AddMeter(NvmeDiagnostics.MeterName)</c>), and the
/// <see cref="System.Diagnostics.Tracing.EventSource"/> with controller lifecycle events
/// (<c>dotnet-trace collect --providers PolledNvme</c>). Both cost nothing per I/O while nobody listens.
/// </summary>
public static class NvmeDiagnostics
{
    /// <summary>Name of the meter: "PolledNvme".</summary>
    public const string MeterName = "PolledNvme";

    /// <summary>Name of the event source: "PolledNvme".</summary>
    public const string EventSourceName = "PolledNvme";
}
