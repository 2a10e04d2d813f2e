using System.Runtime.InteropServices;

namespace PolledNvme.Uring;

/// <summary>Symbolic names of Linux errno values (asm-generic/errno-base.h, errno.h), for messages.</summary>
public static class Errno
{
    /// <summary>Operation not permitted.</summary>
    public const int EPERM = 1;

    /// <summary>No such file or directory.</summary>
    public const int ENOENT = 2;

    /// <summary>Interrupted system call (retry it).</summary>
    public const int EINTR = 4;

    /// <summary>Input/output error.</summary>
    public const int EIO = 5;

    /// <summary>No such device or address.</summary>
    public const int ENXIO = 6;

    /// <summary>Bad file descriptor.</summary>
    public const int EBADF = 9;

    /// <summary>Resource temporarily unavailable (try again).</summary>
    public const int EAGAIN = 11;

    /// <summary>Cannot allocate memory.</summary>
    public const int ENOMEM = 12;

    /// <summary>Permission denied.</summary>
    public const int EACCES = 13;

    /// <summary>Bad address.</summary>
    public const int EFAULT = 14;

    /// <summary>Device or resource busy.</summary>
    public const int EBUSY = 16;

    /// <summary>File exists.</summary>
    public const int EEXIST = 17;

    /// <summary>Invalid cross-device link.</summary>
    public const int EXDEV = 18;

    /// <summary>No such device.</summary>
    public const int ENODEV = 19;

    /// <summary>Not a directory.</summary>
    public const int ENOTDIR = 20;

    /// <summary>Is a directory.</summary>
    public const int EISDIR = 21;

    /// <summary>Invalid argument.</summary>
    public const int EINVAL = 22;

    /// <summary>Too many open files in the system.</summary>
    public const int ENFILE = 23;

    /// <summary>Too many open files in this process.</summary>
    public const int EMFILE = 24;

    /// <summary>File too large.</summary>
    public const int EFBIG = 27;

    /// <summary>No space left on device.</summary>
    public const int ENOSPC = 28;

    /// <summary>Illegal seek.</summary>
    public const int ESPIPE = 29;

    /// <summary>Read-only file system.</summary>
    public const int EROFS = 30;

    /// <summary>Function not implemented.</summary>
    public const int ENOSYS = 38;

    /// <summary>No data available.</summary>
    public const int ENODATA = 61;

    /// <summary>Timer expired.</summary>
    public const int ETIME = 62;

    /// <summary>Value too large for defined data type.</summary>
    public const int EOVERFLOW = 75;

    /// <summary>File descriptor in bad state.</summary>
    public const int EBADFD = 77;

    /// <summary>Operation not supported.</summary>
    public const int EOPNOTSUPP = 95;

    /// <summary>Disk quota exceeded.</summary>
    public const int EDQUOT = 122;

    /// <summary>Operation canceled.</summary>
    public const int ECANCELED = 125;

    /// <summary>The errno's macro name (e.g. <c>EINVAL</c>), or <c>errno N</c> for ones not listed.</summary>
    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM", ENOENT => "ENOENT", EINTR => "EINTR", EIO => "EIO", ENXIO => "ENXIO",
        EBADF => "EBADF", EAGAIN => "EAGAIN", ENOMEM => "ENOMEM", EACCES => "EACCES",
        EFAULT => "EFAULT", EBUSY => "EBUSY", EEXIST => "EEXIST", ENODEV => "ENODEV",
        EISDIR => "EISDIR", EINVAL => "EINVAL", ENFILE => "ENFILE", EMFILE => "EMFILE",
        EFBIG => "EFBIG", ENOSPC => "ENOSPC", ESPIPE => "ESPIPE", EROFS => "EROFS",
        ENOSYS => "ENOSYS", ENODATA => "ENODATA", ETIME => "ETIME", EOVERFLOW => "EOVERFLOW",
        EBADFD => "EBADFD", EOPNOTSUPP => "EOPNOTSUPP", ECANCELED => "ECANCELED",
        EXDEV => "EXDEV", ENOTDIR => "ENOTDIR", EDQUOT => "EDQUOT",
        _ => $"errno {errno}",
    };

    /// <summary>"EINVAL (Invalid argument)": the name and the C library's description.</summary>
    public static string Describe(int errno) => $"{Name(errno)} ({Marshal.GetPInvokeErrorMessage(errno)})";
}
