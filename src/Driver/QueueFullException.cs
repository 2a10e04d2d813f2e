namespace PolledNvme.Queues;

/// <summary>
/// Every request slot of a queue pair is in use (and its software queue, when it has one, is
/// full too). By default PolledNvme refuses rather than queueing in software: back-pressure
/// stays visible and memory stays bounded. Reap completions (ProcessCompletions) and submit
/// again, use a Try form, or create the queue pair with a software queue
/// (IoQueuePairOptions.SoftwareQueueDepth).
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
        : base($"Queue pair {queueId} is full: all {depth} commands are outstanding. Call ProcessCompletions before submitting more, "
            + "or create the queue pair with IoQueuePairOptions.SoftwareQueueDepth so that commands wait in a bounded software queue.")
    {
        QueueId = queueId;
        Depth = depth;
    }

    /// <summary>
    /// Creates the exception for queue <paramref name="queueId"/> whose <paramref name="depth"/>
    /// slots and software queue of <paramref name="softwareQueueDepth"/> commands are all in use.
    /// </summary>
    public QueueFullException(ushort queueId, int depth, int softwareQueueDepth)
        : base($"Queue pair {queueId} is full: all {depth} commands are outstanding and its software queue holds {softwareQueueDepth} waiting commands. "
            + "Call ProcessCompletions before submitting more, or create the queue pair with a larger IoQueuePairOptions.SoftwareQueueDepth.")
    {
        QueueId = queueId;
        Depth = depth;
        SoftwareQueueDepth = softwareQueueDepth;
    }

    /// <summary>The queue identifier.</summary>
    public ushort QueueId { get; }

    /// <summary>Number of commands that can be outstanding on the queue pair.</summary>
    public int Depth { get; }

    /// <summary>Commands the queue pair's software queue holds (0 when it has none).</summary>
    public int SoftwareQueueDepth { get; }
}
