namespace PolledNvme.Queues;

/// <summary>
/// Every request slot of a queue pair is in use. PolledNvme rejects rather than queueing in
/// software (unlike SPDK's queued_req): back-pressure stays visible and memory stays bounded.
/// Reap completions (ProcessCompletions) and submit again.
/// </summary>
public sealed class QueueFullException : InvalidOperationException
{
    /// <summary>Creates the exception with a general message.</summary>
    public QueueFullException() : base("Every request slot of the queue pair is in use: call ProcessCompletions before submitting more.") { }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public QueueFullException(string message) : base(message) { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public QueueFullException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for queue <paramref name="queueId"/> with <paramref name="depth"/> commands outstanding.</summary>
    public QueueFullException(ushort queueId, int depth)
        : base($"Queue pair {queueId} is full: all {depth} commands are outstanding. Call ProcessCompletions before submitting more (PolledNvme rejects instead of queueing in software).")
    {
        QueueId = queueId;
        Depth = depth;
    }

    /// <summary>The queue identifier.</summary>
    public ushort QueueId { get; }

    /// <summary>Number of commands that can be outstanding on the queue pair.</summary>
    public int Depth { get; }
}
