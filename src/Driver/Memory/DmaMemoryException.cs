namespace PolledNvme.Queues;

/// <summary>
/// DMA memory could not be allocated, locked or mapped. The message says which system limit
/// was hit and how to raise it (hugepage reservation, <c>ulimit -l</c>).
/// </summary>
public sealed class DmaMemoryException : Exception
{
    /// <summary>Creates the exception with a general message.</summary>
    public DmaMemoryException() : base("DMA memory could not be allocated, locked or mapped.") { }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public DmaMemoryException(string message) : base(message) { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public DmaMemoryException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>The OS error number, or 0 when the failure was not a failed system call.</summary>
    public int Errno { get; }

    /// <summary>Creates the exception with a complete, actionable message.</summary>
    public DmaMemoryException(string message, int errno = 0, Exception? inner = null) : base(message, inner) => Errno = errno;
}
