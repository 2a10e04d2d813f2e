using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Tracing;

namespace PolledNvme.Driver;

/// <summary>
/// The "PolledNvme" event source: controller lifecycle (initialization, reset, fatal status,
/// command timeouts, queue pairs created and deleted, Abort) for <c>dotnet-trace</c>, PerfView,
/// LTTng or an in-process <see cref="EventListener"/>. Nothing on the I/O path: every event is
/// rare, and each is built only after <see cref="EventSource.IsEnabled()"/> said someone listens.
/// Event ids are stable (listeners filter on them); payload names are the method parameters.
/// No keywords: a session that names the provider alone (<c>--providers PolledNvme</c>, whose
/// keyword mask is 0) gets every event; filter by level (Critical fatal, Error failed
/// initialization or reset, Warning timeouts, Informational the rest).
/// </summary>
[EventSource(Name = NvmeDiagnostics.EventSourceName)]
internal sealed unsafe class NvmeEventSource : EventSource
{
    public static readonly NvmeEventSource Log = new();

    internal const int InitializeStartId = 1, InitializeStopId = 2, InitializeFailedId = 3;
    internal const int ResetStartId = 4, ResetStopId = 5, ResetFailedId = 6;
    internal const int ControllerFatalId = 7, CommandTimeoutId = 8;
    internal const int QueuePairCreatedId = 9, QueuePairDeletedId = 10, AbortSentId = 11;

    private NvmeEventSource()
    {
    }

    [Event(InitializeStartId, Level = EventLevel.Informational)]
    public void InitializeStart(string Address, string Transport) => WriteEvent(InitializeStartId, Address, Transport);

    [Event(InitializeStopId, Level = EventLevel.Informational)]
    public void InitializeStop(string Address, string Transport, double DurationMs, int Namespaces, int MaxIoQueuePairs)
    {
        fixed (char* a = Address, t = Transport)
        {
            EventData* d = stackalloc EventData[5];
            d[0] = Text(a, Address);
            d[1] = Text(t, Transport);
            d[2] = Value(&DurationMs);
            d[3] = Value(&Namespaces);
            d[4] = Value(&MaxIoQueuePairs);
            Write(InitializeStopId, 5, d);
        }
    }

    [Event(InitializeFailedId, Level = EventLevel.Error)]
    public void InitializeFailed(string Address, string Transport, double DurationMs, string Error)
    {
        fixed (char* a = Address, t = Transport, e = Error)
        {
            EventData* d = stackalloc EventData[4];
            d[0] = Text(a, Address);
            d[1] = Text(t, Transport);
            d[2] = Value(&DurationMs);
            d[3] = Text(e, Error);
            Write(InitializeFailedId, 4, d);
        }
    }

    [Event(ResetStartId, Level = EventLevel.Informational)]
    public void ResetStart(string Address) => WriteEvent(ResetStartId, Address);

    [Event(ResetStopId, Level = EventLevel.Informational)]
    public void ResetStop(string Address, double DurationMs, int FailedCommands)
    {
        fixed (char* a = Address)
        {
            EventData* d = stackalloc EventData[3];
            d[0] = Text(a, Address);
            d[1] = Value(&DurationMs);
            d[2] = Value(&FailedCommands);
            Write(ResetStopId, 3, d);
        }
    }

    [Event(ResetFailedId, Level = EventLevel.Error)]
    public void ResetFailed(string Address, double DurationMs, string Error)
    {
        fixed (char* a = Address, e = Error)
        {
            EventData* d = stackalloc EventData[3];
            d[0] = Text(a, Address);
            d[1] = Value(&DurationMs);
            d[2] = Text(e, Error);
            Write(ResetFailedId, 3, d);
        }
    }

    /// <summary>
    /// The controller is unusable. Source: <c>CSTS.CFS</c> (Controller Fatal Status seen in CSTS,
    /// Reason then says what the transport knows, e.g. that an emulated controller's device thread
    /// failed) or <c>NVMe/TCP</c> (the association was lost: the target terminated a connection,
    /// closed or reset it, a PDU was malformed, keep-alive expired; Reason names which).
    /// </summary>
    [Event(ControllerFatalId, Level = EventLevel.Critical)]
    public void ControllerFatal(string Address, string Source, int Csts, string Reason)
    {
        fixed (char* a = Address, s = Source, r = Reason)
        {
            EventData* d = stackalloc EventData[4];
            d[0] = Text(a, Address);
            d[1] = Text(s, Source);
            d[2] = Value(&Csts);
            d[3] = Text(r, Reason);
            Write(ControllerFatalId, 4, d);
        }
    }

    /// <summary>A command did not complete in time (an I/O Wait/Drain timeout names every command outstanding then; queue 0 is the admin queue).</summary>
    [Event(CommandTimeoutId, Level = EventLevel.Warning)]
    public void CommandTimeout(string Address, int QueueId, int CommandId, int Opcode, string Command, double TimeoutMs)
    {
        fixed (char* a = Address, c = Command)
        {
            EventData* d = stackalloc EventData[6];
            d[0] = Text(a, Address);
            d[1] = Value(&QueueId);
            d[2] = Value(&CommandId);
            d[3] = Value(&Opcode);
            d[4] = Text(c, Command);
            d[5] = Value(&TimeoutMs);
            Write(CommandTimeoutId, 6, d);
        }
    }

    [Event(QueuePairCreatedId, Level = EventLevel.Informational)]
    public void QueuePairCreated(string Address, int QueueId, int Entries) => WriteEvent(QueuePairCreatedId, Address, QueueId, Entries);

    [Event(QueuePairDeletedId, Level = EventLevel.Informational)]
    public void QueuePairDeleted(string Address, int QueueId, int FailedCommands) => WriteEvent(QueuePairDeletedId, Address, QueueId, FailedCommands);

    /// <summary>An Abort was sent; Aborted is what the controller answered (CQE DW0 bit 0 clear).</summary>
    [Event(AbortSentId, Level = EventLevel.Informational)]
    public void AbortSent(string Address, int QueueId, int CommandId, bool Aborted)
    {
        int aborted = Aborted ? 1 : 0;   // an event's bool is 4 bytes (win:Boolean)
        fixed (char* a = Address)
        {
            EventData* d = stackalloc EventData[4];
            d[0] = Text(a, Address);
            d[1] = Value(&QueueId);
            d[2] = Value(&CommandId);
            d[3] = Value(&aborted);
            Write(AbortSentId, 4, d);
        }
    }

    // Mixed payloads go through WriteEventCore: the object[] overload is not trimming-safe, and
    // the EventSourcePrimitive[] one did not reach EventPipe sessions with keyword mask 0
    // (what `dotnet-trace collect --providers PolledNvme` asks for) when checked with dotnet-trace 10.
    [NonEvent]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Every payload field is a string or a primitive: nothing for the trimmer to remove.")]
    private void Write(int eventId, int count, EventData* data) => WriteEventCore(eventId, count, data);

    [NonEvent]
    private static EventData Text(char* chars, string text) => new() { DataPointer = (nint)chars, Size = (text.Length + 1) * sizeof(char) };

    [NonEvent]
    private static EventData Value<T>(T* value) where T : unmanaged => new() { DataPointer = (nint)value, Size = sizeof(T) };

    /// <summary>Milliseconds since <paramref name="start"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    [NonEvent]
    public static double Since(long start) => Stopwatch.GetElapsedTime(start).TotalMilliseconds;
}
