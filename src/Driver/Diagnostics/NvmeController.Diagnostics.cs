using System.Diagnostics;

namespace PolledNvme.Driver;

/// <summary>
/// The controller's side of metrics and tracing: its per-controller counters (host PI
/// verification failures), registered with the meter from Open to Dispose, and the
/// initialization and reset events with their durations.
/// </summary>
public sealed partial class NvmeController
{
    /// <summary>Counters of this controller that belong to no queue pair.</summary>
    internal ControllerMetrics Metrics { get; private set; } = null!;

    private string TransportName => Transport.GetType().Name;

    /// <summary>Registers the counters and traces InitializeStart; returns the start time for the stop event.</summary>
    private long TraceInitializeStart()
    {
        Metrics = new ControllerMetrics(Address);
        NvmeMetrics.Register(Metrics);
        NvmeEventSource log = NvmeEventSource.Log;
        if (log.IsEnabled())
            log.InitializeStart(Address, TransportName);
        return Stopwatch.GetTimestamp();
    }

    private void TraceInitializeStop(long started)
    {
        NvmeEventSource log = NvmeEventSource.Log;
        if (log.IsEnabled())
            log.InitializeStop(Address, TransportName, NvmeEventSource.Since(started), _namespaces.Count, MaxIoQueuePairs);
    }

    private void TraceInitializeFailed(long started, Exception error)
    {
        NvmeEventSource log = NvmeEventSource.Log;
        if (log.IsEnabled())
            log.InitializeFailed(Address, TransportName, NvmeEventSource.Since(started), $"{error.GetType().Name}: {error.Message}");
    }

    private long TraceResetStart()
    {
        NvmeEventSource log = NvmeEventSource.Log;
        if (log.IsEnabled())
            log.ResetStart(Address);
        return Stopwatch.GetTimestamp();
    }

    private void TraceResetStop(long started, int failedCommands)
    {
        NvmeEventSource log = NvmeEventSource.Log;
        if (log.IsEnabled())
            log.ResetStop(Address, NvmeEventSource.Since(started), failedCommands);
    }

    private void TraceResetFailed(long started, Exception error)
    {
        NvmeEventSource log = NvmeEventSource.Log;
        if (log.IsEnabled())
            log.ResetFailed(Address, NvmeEventSource.Since(started), $"{error.GetType().Name}: {error.Message}");
    }
}
