using System.Runtime.InteropServices;

namespace PolledNvme.Driver.Vfio;

/// <summary>
/// A VFIO set-up or DMA-mapping step failed. The message names the step, the OS error
/// (when there is one) and what to do about it.
/// </summary>
public sealed class VfioException : IOException
{
    /// <summary>Creates the exception with a general message.</summary>
    public VfioException() : base("A VFIO set-up or DMA-mapping step failed.") { }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public VfioException(string message) : base(message) { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public VfioException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>The errno of the failed system call, or 0 when the failure was found by a check.</summary>
    public int Errno { get; }

    /// <summary>Creates the exception with a complete message.</summary>
    public VfioException(string message, int errno) : base(message) => Errno = errno;

    /// <summary>Builds "<paramref name="step"/> failed: reason (errno N). <paramref name="remedy"/>".</summary>
    internal static VfioException FromErrno(string step, int errno, string? remedy = null)
    {
        string reason = $"{step} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).";
        return new VfioException(remedy is null ? reason : $"{reason} {remedy}", errno);
    }
}
