namespace PolledNvme.Queues;

/// <summary>
/// One tracked command (SPDK's tracker): owns a fixed command identifier, the index of its slot
/// in the queue pair's request table, so a completion finds its request with one array read.
/// Subclasses hold what the layer above needs at completion time.
/// </summary>
internal abstract class QueueRequest
{
    /// <summary>The command to submit; <see cref="SubmissionEntry.CommandId"/> is set by the queue pair.</summary>
    public SubmissionEntry Command;

    /// <summary>This request's command identifier (its index in the request table).</summary>
    public ushort CommandId { get; }

    /// <summary>True between submission and completion.</summary>
    public bool InFlight { get; internal set; }

    /// <summary>True while rented from the pool.</summary>
    internal bool Rented;

    /// <summary>Creates a request bound to command identifier <paramref name="commandId"/>.</summary>
    protected QueueRequest(ushort commandId) => CommandId = commandId;

    /// <summary>
    /// Called on the polling thread when the controller completed the command (or when the
    /// queue pair failed it, e.g. on reset). The queue pair's head and doorbell state are
    /// already updated, so the handler may submit new commands. The handler decides when the
    /// request goes back to the pool (<see cref="QueuePair{TRequest}.Return"/>).
    /// </summary>
    protected internal abstract void OnCompleted(in CompletionEntry completion);
}
