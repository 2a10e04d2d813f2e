using System.Text;
using Tmds.Linux;

namespace PolledNvme.Uring;

/// <summary>
/// A file or block device opened with open(2) for io_uring: the raw descriptor, its size
/// and whether it was opened with O_DIRECT. Closed on dispose.
/// </summary>
public sealed unsafe class NativeFile : IDisposable
{
    private const int BlkGetSize64 = unchecked((int)0x80081272); // BLKGETSIZE64 (linux/fs.h): _IOR(0x12, 114, size_t)
    private const int BlkSszGet = 0x1268;                         // BLKSSZGET (linux/fs.h): logical block size

    private NativeFile(string path, int fd, bool direct, bool isBlockDevice, ulong device, ulong inode, bool created)
    {
        Device = device;
        Path = path;
        Fd = fd;
        IsDirect = direct;
        IsBlockDevice = isBlockDevice;
        Inode = inode;
        Created = created;
    }

    /// <summary>The path it was opened with.</summary>
    public string Path { get; }

    /// <summary>The descriptor; -1 after dispose.</summary>
    public int Fd { get; private set; }

    /// <summary>Opened with O_DIRECT (page cache bypassed; aligned I/O required).</summary>
    public bool IsDirect { get; }

    /// <summary>A block device rather than a regular file.</summary>
    public bool IsBlockDevice { get; }

    /// <summary>The device (st_dev) the open file lives on.</summary>
    public ulong Device { get; }

    /// <summary>The inode number (st_ino) of the open file.</summary>
    public ulong Inode { get; }

    /// <summary>This open created the file (it did not exist before).</summary>
    public bool Created { get; }

    /// <summary>A <see cref="FileLock"/> is held through this descriptor; dispose releases it before closing.</summary>
    public bool HoldsLock { get; internal set; }

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
        byte[] pathBytes = Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        bool created = false;
        fixed (byte* p = pathBytes)
        {
            while (true)
            {
                fd = LibC.open(p, flags, 0);
                if (fd >= 0 || !create || LibC.errno != Errno.ENOENT)
                {
                    if (fd < 0 && LibC.errno == Errno.EINTR)
                        continue;
                    break;
                }
                // Missing: create it, exclusively, so Created says whether this open made it.
                fd = LibC.open(p, flags | LibC.O_CREAT | LibC.O_EXCL, 0b110_100_100); // 0644
                if (fd >= 0)
                {
                    created = true;
                    break;
                }
                if (LibC.errno is not (Errno.EEXIST or Errno.EINTR))
                    break;
            }
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
        return new NativeFile(path, fd, direct, isBlock, (ulong)st.st_dev, (ulong)st.st_ino, created);
    }

    /// <summary>
    /// Opens <paramref name="path"/> like <see cref="Open"/> and locks it (<see cref="FileLock"/>):
    /// exclusive for the one writer, shared for readers. Throws <see cref="FileLockedException"/>
    /// when another user holds a conflicting lock. If a format replaced the file between the open
    /// and the lock (a new inode renamed over the path), it opens the new one.
    /// </summary>
    public static NativeFile OpenLocked(string path, bool writable, bool direct, bool create, FileLockMode mode)
    {
        for (int attempt = 0; ; attempt++)
        {
            NativeFile file = Open(path, writable, direct, create);
            try
            {
                FileLock.Acquire(file, mode);
                if (file.IsNamedBy(path))
                    return file;
            }
            catch
            {
                file.Dispose();
                throw;
            }
            file.Dispose();
            if (attempt == 3)
                throw new IOException($"'{path}' was replaced {attempt + 1} times while it was being opened and locked; try again when nothing else is formatting it.");
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> again (for I/O), checking that it is still the file
    /// <paramref name="holder"/> has open and locked; a lock must be held through a descriptor
    /// that no io_uring registers, because a ring's teardown (after the process exits, even by
    /// SIGKILL) runs later in the kernel and would keep the lock alive until then.
    /// </summary>
    public static NativeFile OpenSame(string path, NativeFile holder, bool writable, bool direct)
    {
        NativeFile file = Open(path, writable, direct);
        if (file.Inode == holder.Inode && file.Device == holder.Device)
            return file;
        file.Dispose();
        throw new IOException($"'{path}' was replaced while it was being opened (renamed or moved by something that does not lock it); open it again.");
    }

    /// <summary>True while <paramref name="path"/> still names this open file (no rename replaced it).</summary>
    public bool IsNamedBy(string path)
    {
        byte[] name = Encoding.UTF8.GetBytes(path + "\0");
        stat st;
        fixed (byte* p = name)
            if (LibC.stat(p, &st) < 0)
                return false;
        return (ulong)st.st_ino == Inode && (ulong)st.st_dev == Device;
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

    /// <summary>
    /// Tells the kernel the file is read at random (posix_fadvise POSIX_FADV_RANDOM): no
    /// readahead, so a read that misses the page cache brings in only its own pages. Advice only:
    /// false when the kernel refused it (nothing changed).
    /// </summary>
    public bool AdviseRandomAccess() => LibC.posix_fadvise(Fd, 0, 0, LibC.POSIX_FADV_RANDOM) == 0;

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
            if (HoldsLock)
                FileLock.Release(this);
            LibC.close(Fd);
            Fd = -1;
        }
    }
}
