using System.Diagnostics;
using System.Runtime.CompilerServices;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// The queue pair's side of metrics and tracing: its counters (<see cref="QueuePairMetrics"/>,
/// registered with the meter for the pair's life), the submit timestamp taken only while the
/// latency histogram is listened to, queue-full counting, and the lifecycle events.
/// </summary>
public sealed partial class IoQueuePair
{
    /// <summary>This pair's counters (written on the owning thread, read by the metrics collector).</summary>
    internal QueuePairMetrics Metrics { get; private set; } = null!;

    /// <summary>Creates and registers the counters; the constructor's last step (nothing left that could fail).</summary>
    private void RegisterMetrics(int entries)
    {
        Metrics = new QueuePairMetrics(this, _controller.Address, Id);
        NvmeMetrics.Register(Metrics);
        NvmeEventSource log = NvmeEventSource.Log;
        if (log.IsEnabled())
            log.QueuePairCreated(_controller.Address, Id, entries);
    }

    private void UnregisterMetrics(int failedCommands)
    {
        NvmeMetrics.Unregister(Metrics);
        NvmeEventSource log = NvmeEventSource.Log;
        if (log.IsEnabled())
            log.QueuePairDeleted(_controller.Address, Id, failedCommands);
    }

    /// <summary>
    /// The submit time of <paramref name="r"/> when the latency histogram has a listener, else 0
    /// (no clock read). Checked per I/O: one load of the instrument's subscription list.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StampSubmit(IoRequest r) => r.SubmitTimestamp = NvmeMetrics.Latency.Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>A Wait or Drain timed out: one CommandTimeout event per command still outstanding.</summary>
    private void ReportTimeout(TimeSpan limit)
    {
        NvmeEventSource log = NvmeEventSource.Log;
        if (!log.IsEnabled())
            return;
        for (int i = 0; i < _requests.Capacity; i++)
        {
            IoRequest r = _requests[i];
            if (r.InFlight)
                log.CommandTimeout(_controller.Address, Id, r.CommandId, r.Opcode, NvmeException.OpcodeName(r.Opcode, isAdmin: false), limit.TotalMilliseconds);
        }
    }
}
