using System.Runtime.InteropServices;

namespace PolledNvme.Queues.Uring;

/// <summary>Symbolic names of Linux errno values (asm-generic/errno-base.h, errno.h), for messages.</summary>
internal static class Errno
{
    public const int EPERM = 1, ENOENT = 2, EINTR = 4, EIO = 5, ENXIO = 6, EBADF = 9, EAGAIN = 11,
        ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17, EXDEV = 18, ENODEV = 19,
        ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENFILE = 23, EMFILE = 24, EFBIG = 27, ENOSPC = 28,
        ESPIPE = 29, EROFS = 30, ENOSYS = 38, ENODATA = 61, ETIME = 62, EOVERFLOW = 75, EBADFD = 77,
        EOPNOTSUPP = 95, EDQUOT = 122, ECANCELED = 125;

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
