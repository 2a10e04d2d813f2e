namespace PolledNvme.Driver.Tcp;

/// <summary>What went wrong on an NVMe/TCP connection.</summary>
public enum NvmeTcpError
{
    /// <summary>Nothing listens on the address and port (ECONNREFUSED).</summary>
    ConnectionRefused,
    /// <summary>The TCP connection could not be made (unreachable, timed out, another errno).</summary>
    ConnectFailed,
    /// <summary>The ICReq/ICResp exchange failed: no answer in time, the connection closed, or an invalid ICResp.</summary>
    InitializationFailed,
    /// <summary>The controller refused the Fabrics Connect (unknown subsystem, host not allowed, bad queue size...).</summary>
    ConnectRejected,
    /// <summary>The target reset the connection (ECONNRESET, EPIPE).</summary>
    ConnectionReset,
    /// <summary>The target closed the connection (end of stream) while the association was live.</summary>
    ConnectionClosed,
    /// <summary>A PDU broke the NVMe/TCP rules (an unknown type, a bad length, data out of range, a PDU out of sequence).</summary>
    ProtocolError,
    /// <summary>A PDU header did not match its header digest.</summary>
    HeaderDigestMismatch,
    /// <summary>The controller sent a C2HTermReq: it ended the connection on a fatal error.</summary>
    TerminatedByController,
    /// <summary>A Keep Alive command got no completion within KATO: the association is considered lost.</summary>
    KeepAliveExpired,
    /// <summary>The controller was reset or disposed while commands were outstanding (the host closed the connection).</summary>
    Disconnected,
}

/// <summary>
/// An NVMe/TCP connection failed: connecting, initializing, or on a live association. The
/// message says what, with the endpoint, the queue and the errno or PDU details, and what to do.
/// A failure on a live association also fails every outstanding command (status
/// <c>HostPathingError (SCT 3h, SC 70h)</c>, this message as its detail) and marks the controller
/// fatal; <see cref="NvmeController.Reset"/> reconnects (a new association).
/// </summary>
public sealed class NvmeTcpException : IOException
{
    /// <summary>Creates the exception with a general message.</summary>
    public NvmeTcpException() : base("An NVMe/TCP connection failed.") { }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public NvmeTcpException(string message) : base(message) { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public NvmeTcpException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public NvmeTcpException(NvmeTcpError error, string message, int errno = 0, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
        Errno = errno;
    }

    /// <summary>What went wrong.</summary>
    public NvmeTcpError Error { get; }

    /// <summary>The OS errno for a socket failure, 0 otherwise.</summary>
    public int Errno { get; }
}
