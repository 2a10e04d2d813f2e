using System.Text;
using Tmds.Linux;

namespace PolledNvme.Queues.Uring;

/// <summary>
/// A file or block device opened with open(2) for io_uring: the raw descriptor, its size
/// and whether it was opened with O_DIRECT. Closed on dispose.
/// </summary>
internal sealed unsafe class NativeFile : IDisposable
{
    private const int BlkGetSize64 = unchecked((int)0x80081272); // BLKGETSIZE64 (linux/fs.h): _IOR(0x12, 114, size_t)
    private const int BlkSszGet = 0x1268;                         // BLKSSZGET (linux/fs.h): logical block size

    private NativeFile(string path, int fd, bool direct, bool isBlockDevice)
    {
        Path = path;
        Fd = fd;
        IsDirect = direct;
        IsBlockDevice = isBlockDevice;
    }

    /// <summary>The path it was opened with.</summary>
    public string Path { get; }

    /// <summary>The descriptor; -1 after dispose.</summary>
    public int Fd { get; private set; }

    /// <summary>Opened with O_DIRECT (page cache bypassed; aligned I/O required).</summary>
    public bool IsDirect { get; }

    /// <summary>A block device rather than a regular file.</summary>
    public bool IsBlockDevice { get; }

    /// <summary>
    /// Opens <paramref name="path"/> read-write (or read-only), optionally with O_DIRECT and
    /// optionally creating a regular file. Throws <see cref="UringException"/> with the errno;
    /// O_DIRECT refused by the filesystem (EINVAL) is reported as such.
    /// </summary>
    public static NativeFile Open(string path, bool writable, bool direct, bool create = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        int flags = (writable ? LibC.O_RDWR : LibC.O_RDONLY) | LibC.O_CLOEXEC;
        if (direct) flags |= LibC.O_DIRECT;
        if (create) flags |= LibC.O_CREAT;
        byte[] pathBytes = Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        fixed (byte* p = pathBytes)
        {
            do fd = LibC.open(p, flags, 0b110_100_100); // 0644
            while (fd < 0 && LibC.errno == Errno.EINTR);
        }
        if (fd < 0)
        {
            int errno = LibC.errno;
            string hint = errno == Errno.EINVAL && direct
                ? " The filesystem does not support O_DIRECT (tmpfs before 6.6, some FUSE filesystems); open it buffered instead."
                : "";
            throw new UringException("open", errno, $"open(\"{path}\"{(direct ? ", O_DIRECT" : "")}) failed with {Errno.Describe(errno)}.{hint}");
        }

        stat st;
        if (LibC.fstat(fd, &st) < 0)
        {
            int errno = LibC.errno;
            LibC.close(fd);
            throw new UringException("fstat", errno, $"fstat(\"{path}\") failed with {Errno.Describe(errno)}.");
        }
        bool isBlock = LibC.S_ISBLK(st.st_mode);
        if (!isBlock && !LibC.S_ISREG(st.st_mode))
        {
            LibC.close(fd);
            throw new ArgumentException($"'{path}' is neither a regular file nor a block device.", nameof(path));
        }
        return new NativeFile(path, fd, direct, isBlock);
    }

    /// <summary>Current size in bytes (fstat for files, BLKGETSIZE64 for block devices).</summary>
    public long Length
    {
        get
        {
            if (IsBlockDevice)
            {
                ulong size;
                if (LibC.ioctl(Fd, BlkGetSize64, &size) < 0)
                    ThrowErrno("ioctl(BLKGETSIZE64)");
                return (long)size;
            }
            stat st;
            if (LibC.fstat(Fd, &st) < 0)
                ThrowErrno("fstat");
            return st.st_size;
        }
    }

    /// <summary>The O_DIRECT alignment used for regular files (safe on every common filesystem).</summary>
    public const int FileDirectAlignment = 4096;

    /// <summary>
    /// The alignment O_DIRECT needs: the device's logical block size for block devices, and
    /// 4096 for files (safe on every common filesystem; STATX_DIOALIGN is not in Tmds.LibC).
    /// </summary>
    public int DirectAlignment
    {
        get
        {
            if (!IsBlockDevice)
                return FileDirectAlignment;
            int size;
            if (LibC.ioctl(Fd, BlkSszGet, &size) < 0)
                ThrowErrno("ioctl(BLKSSZGET)");
            return size;
        }
    }

    /// <summary>Sets a regular file's length (ftruncate).</summary>
    public void SetLength(long length)
    {
        if (IsBlockDevice)
            throw new InvalidOperationException($"'{Path}' is a block device; its size cannot be changed.");
        if (LibC.ftruncate(Fd, length) < 0)
            ThrowErrno("ftruncate");
    }

    private void ThrowErrno(string operation)
    {
        int errno = LibC.errno;
        throw new UringException(operation, errno, $"{operation} on \"{Path}\" failed with {Errno.Describe(errno)}.");
    }

    /// <summary>Closes the descriptor.</summary>
    public void Dispose()
    {
        if (Fd >= 0)
        {
            LibC.close(Fd);
            Fd = -1;
        }
    }
}
