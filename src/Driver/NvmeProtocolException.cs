namespace PolledNvme.Queues;

/// <summary>The controller broke the queueing protocol (e.g. completed a command id that is not outstanding).</summary>
public sealed class NvmeProtocolException : Exception
{
    /// <summary>Creates the exception with a general message.</summary>
    public NvmeProtocolException() : base("The controller broke the queueing protocol.") { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public NvmeProtocolException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public NvmeProtocolException(string message) : base(message) { }
}
