using System.Diagnostics;
using System.Diagnostics.Tracing;

namespace PolledNvme.Driver;

/// <summary>
/// The "PolledNvme" event source: controller lifecycle (initialization, reset, fatal status,
/// command timeouts, queue pairs created and deleted, Abort) for <c>dotnet-trace</c>, PerfView,
/// LTTng or an in-process <see cref="EventListener"/>. Nothing on the I/O path: every event is
/// rare, and each is built only after <see cref="EventSource.IsEnabled()"/> said someone listens.
/// Event ids are stable (listeners filter on them); payload names are the method parameters.
/// </summary>
[EventSource(Name = NvmeDiagnostics.EventSourceName)]
internal sealed class NvmeEventSource : EventSource
{
    public static readonly NvmeEventSource Log = new();

    internal const int InitializeStartId = 1, InitializeStopId = 2, InitializeFailedId = 3;
    internal const int ResetStartId = 4, ResetStopId = 5, ResetFailedId = 6;
    internal const int ControllerFatalId = 7, CommandTimeoutId = 8;
    internal const int QueuePairCreatedId = 9, QueuePairDeletedId = 10, AbortSentId = 11;

    private NvmeEventSource()
        : base(EventSourceSettings.EtwSelfDescribingEventFormat)
    {
    }

    /// <summary>Keywords: filter with e.g. <c>--providers PolledNvme:0x1</c>.</summary>
    public static class Keywords
    {
        /// <summary>Initialization, reset, fatal status, shutdown.</summary>
        public const EventKeywords Controller = (EventKeywords)1;
        /// <summary>Queue pairs created and deleted.</summary>
        public const EventKeywords QueuePair = (EventKeywords)2;
        /// <summary>Command timeouts and Abort.</summary>
        public const EventKeywords Command = (EventKeywords)4;
    }

    [Event(InitializeStartId, Level = EventLevel.Informational, Keywords = Keywords.Controller)]
    public void InitializeStart(string Address, string Transport) => WriteEvent(InitializeStartId, Address, Transport);

    [Event(InitializeStopId, Level = EventLevel.Informational, Keywords = Keywords.Controller)]
    public void InitializeStop(string Address, string Transport, double DurationMs, int Namespaces, int MaxIoQueuePairs)
        => Write(InitializeStopId, Address, Transport, DurationMs, Namespaces, MaxIoQueuePairs);

    [Event(InitializeFailedId, Level = EventLevel.Error, Keywords = Keywords.Controller)]
    public void InitializeFailed(string Address, string Transport, double DurationMs, string Error)
        => Write(InitializeFailedId, Address, Transport, DurationMs, Error);

    [Event(ResetStartId, Level = EventLevel.Informational, Keywords = Keywords.Controller)]
    public void ResetStart(string Address) => WriteEvent(ResetStartId, Address);

    [Event(ResetStopId, Level = EventLevel.Informational, Keywords = Keywords.Controller)]
    public void ResetStop(string Address, double DurationMs, int FailedCommands) => Write(ResetStopId, Address, DurationMs, FailedCommands);

    [Event(ResetFailedId, Level = EventLevel.Error, Keywords = Keywords.Controller)]
    public void ResetFailed(string Address, double DurationMs, string Error) => Write(ResetFailedId, Address, DurationMs, Error);

    /// <summary>
    /// The controller is unusable. Source: <c>CSTS.CFS</c> (Controller Fatal Status seen in CSTS,
    /// Reason then says what the transport knows, e.g. that an emulated controller's device thread
    /// failed) or <c>NVMe/TCP</c> (the association was lost: the target terminated a connection,
    /// closed or reset it, a PDU was malformed, keep-alive expired; Reason names which).
    /// </summary>
    [Event(ControllerFatalId, Level = EventLevel.Critical, Keywords = Keywords.Controller)]
    public void ControllerFatal(string Address, string Source, int Csts, string Reason) => Write(ControllerFatalId, Address, Source, Csts, Reason);

    /// <summary>A command did not complete in time (an I/O Wait/Drain timeout names every command outstanding then; queue 0 is the admin queue).</summary>
    [Event(CommandTimeoutId, Level = EventLevel.Warning, Keywords = Keywords.Command)]
    public void CommandTimeout(string Address, int QueueId, int CommandId, int Opcode, string Command, double TimeoutMs)
        => Write(CommandTimeoutId, Address, QueueId, CommandId, Opcode, Command, TimeoutMs);

    [Event(QueuePairCreatedId, Level = EventLevel.Informational, Keywords = Keywords.QueuePair)]
    public void QueuePairCreated(string Address, int QueueId, int Entries) => Write(QueuePairCreatedId, Address, QueueId, Entries);

    [Event(QueuePairDeletedId, Level = EventLevel.Informational, Keywords = Keywords.QueuePair)]
    public void QueuePairDeleted(string Address, int QueueId, int FailedCommands) => Write(QueuePairDeletedId, Address, QueueId, FailedCommands);

    /// <summary>An Abort was sent; Aborted is what the controller answered (CQE DW0 bit 0 clear).</summary>
    [Event(AbortSentId, Level = EventLevel.Informational, Keywords = Keywords.Command)]
    public void AbortSent(string Address, int QueueId, int CommandId, bool Aborted) => Write(AbortSentId, Address, QueueId, CommandId, Aborted);

    // Mixed payloads: the trimming-safe primitive overload (an array per event, only when enabled).
    [NonEvent]
    private void Write(int id, params EventSourcePrimitive[] args) => WriteEvent(id, args);

    /// <summary>Milliseconds since <paramref name="start"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    [NonEvent]
    public static double Since(long start) => Stopwatch.GetElapsedTime(start).TotalMilliseconds;
}
