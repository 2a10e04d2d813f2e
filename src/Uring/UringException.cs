namespace PolledNvme.Uring;

/// <summary>
/// An io_uring system call or operation failed. Carries the operation (e.g. <c>READ</c>,
/// <c>io_uring_setup</c>) and the Linux errno, both by number and by name.
/// </summary>
public class UringException : IOException
{
    /// <summary>Creates the exception with a general message.</summary>
    public UringException() : base("An io_uring operation failed.") { Operation = ""; }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public UringException(string message) : base(message) { Operation = ""; }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public UringException(string message, Exception? innerException) : base(message, innerException) { Operation = ""; }

    /// <summary>Creates the exception; <paramref name="message"/> should already name the operation and errno.</summary>
    public UringException(string operation, int errno, string message) : base(message)
    {
        Operation = operation;
        Errno = errno;
        HResult = errno;
    }

    /// <summary>The failed operation: an SQE opcode name (<c>READ</c>) or a system call (<c>io_uring_enter</c>).</summary>
    public string Operation { get; }

    /// <summary>The positive Linux errno, e.g. 22 for EINVAL.</summary>
    public int Errno { get; }

    /// <summary>The errno's macro name, e.g. <c>EINVAL</c>.</summary>
    public string ErrnoName => Uring.Errno.Name(Errno);
}

/// <summary>
/// io_uring cannot be used on this system (disabled by sysctl, not permitted, filtered by
/// seccomp, or not built into the kernel). The message says what to do about it.
/// </summary>
public sealed class UringUnavailableException : UringException
{
    /// <summary>Creates the exception with a general message.</summary>
    public UringUnavailableException() : base("io_uring cannot be used on this system.") { }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public UringUnavailableException(string message) : base(message) { }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public UringUnavailableException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for a failed <c>io_uring_setup</c> or a disabled sysctl.</summary>
    public UringUnavailableException(int errno, string message) : base("io_uring_setup", errno, message) { }
}

/// <summary>Turns failed completions into exceptions that name the operation, its target and the errno.</summary>
internal static class UringErrors
{
    /// <summary>
    /// Builds the exception for a completion of <paramref name="opcode"/> that returned the
    /// negated errno <paramref name="result"/>. Called off the hot path (only on failure).
    /// </summary>
    public static UringException ForCompletion(UringOpcode opcode, int result, int fd, ulong offset, ulong length, bool direct = false)
    {
        int errno = -result;
        string op = UringAbi.OpcodeName(opcode);
        string hint = errno switch
        {
            Errno.EINVAL when direct =>
                " With O_DIRECT the buffer address, the length and the file offset must all be multiples of the device's logical block size (often 512 B or 4 KiB).",
            Errno.EOPNOTSUPP when opcode == UringOpcode.Fallocate =>
                " The filesystem does not support this fallocate mode (punching holes needs ext4, xfs, btrfs, tmpfs or similar).",
            Errno.EFAULT when opcode is UringOpcode.ReadFixed or UringOpcode.WriteFixed =>
                " The buffer must lie entirely inside the registered buffer it names.",
            _ => "",
        };
        return new UringException(op, errno,
            $"{op} of {length} bytes at offset {offset} on fd {fd} failed with {Errno.Describe(errno)}.{hint}");
    }
}
