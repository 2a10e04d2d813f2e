namespace PolledNvme.Queues;

/// <summary>The controller broke the queueing protocol (e.g. completed a command id that is not outstanding).</summary>
public sealed class NvmeProtocolException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NvmeProtocolException(string message) : base(message) { }
}
