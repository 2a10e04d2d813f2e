using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;

namespace PolledNvme.Uring;

/// <summary>How a file is shared while it is open: one writer, or any number of readers.</summary>
public enum FileLockMode
{
    /// <summary>Read-only use: other readers may hold the file too, a writer may not.</summary>
    Shared,
    /// <summary>The one writer (or a format): nobody else may hold the file.</summary>
    Exclusive,
}

/// <summary>
/// Whole-file open file description locks (fcntl F_OFD_SETLK, Linux 3.15). They belong to the
/// open file description, not to the process: two descriptors opened separately conflict even
/// inside one process (two controllers on one image), and closing some other descriptor of the
/// same file does not drop the lock. Classic POSIX locks fail both ways. The locks are advisory:
/// they keep PolledNvme users (and anything else that locks) apart, not a plain <c>dd</c>.
/// </summary>
public static unsafe partial class FileLock
{
    // fcntl commands (asm-generic/fcntl.h; Tmds.LibC does not define the OFD ones).
    private const int OfdSetLock = 37;      // F_OFD_SETLK: take or convert, fail at once on a conflict
    private const short ReadLock = 0;       // F_RDLCK
    private const short WriteLock = 1;      // F_WRLCK
    private const short Unlock = 2;         // F_UNLCK

    /// <summary>struct flock (x86-64 and arm64 layout): the lock is over the whole file (start 0, length 0 = to the end).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Flock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid;   // must be 0 for OFD commands; the kernel reports -1 for an OFD holder
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, Flock* argument);

    /// <summary>
    /// Locks <paramref name="file"/> in <paramref name="mode"/> (converting a lock it already
    /// holds). Throws <see cref="FileLockedException"/> naming the file and, when /proc shows it,
    /// the process that holds the conflicting lock.
    /// </summary>
    public static void Acquire(NativeFile file, FileLockMode mode)
    {
        var request = new Flock { Type = mode == FileLockMode.Exclusive ? WriteLock : ReadLock };
        int result;
        do result = Fcntl(file.Fd, OfdSetLock, &request);
        while (result < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
        if (result == 0)
        {
            file.HoldsLock = true;
            return;
        }
        int errno = Marshal.GetLastPInvokeError();
        if (errno is not (Errno.EAGAIN or Errno.EACCES))
            throw new UringException("fcntl", errno, $"locking '{file.Path}' (fcntl F_OFD_SETLK) failed with {Errno.Describe(errno)}.");
        throw Conflict(file, mode);
    }

    /// <summary>
    /// Drops the lock now. Closing the descriptor is not enough when the file is registered with an
    /// io_uring: the ring's teardown runs later in the kernel and holds the open file description,
    /// and its lock, until then.
    /// </summary>
    public static void Release(NativeFile file)
    {
        var request = new Flock { Type = Unlock };
        int result;
        do result = Fcntl(file.Fd, OfdSetLock, &request);
        while (result < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
        file.HoldsLock = false;
    }

    private static FileLockedException Conflict(NativeFile file, FileLockMode wanted)
    {
        // The kernel reports -1 as the holder of an OFD lock (F_OFD_GETLK, F_GETLK and /proc/locks
        // alike), so the holder is found the way lslocks does: the descriptor whose fdinfo lists a lock.
        LockHolder? holder = FindHolder(file.Fd);
        string who = holder is { } h
            ? h.Pid == Environment.ProcessId
                ? $"this process (PID {h.Pid}) through another descriptor: another controller or engine in it has the file open"
                : $"PID {h.Pid} ({h.Command})"
            : "another process or descriptor (its holder is not visible in /proc)";
        bool holderWrites = holder?.Exclusive ?? true;
        string message = (wanted, holderWrites) switch
        {
            (_, true) => $"'{file.Path}' is in use: {who} has it open for writing. An image has one writer at a time; " +
                         "wait until it is done or stop it, then try again.",
            _ => $"'{file.Path}' is open read-only by {who}. Writing or formatting it needs every reader to close it first; " +
                 "to read it alongside them, open it read-only too (ro=1).",
        };
        return new FileLockedException(file.Path, holder?.Pid, message);
    }

    private readonly record struct LockHolder(int Pid, string Command, bool Exclusive);

    /// <summary>Scans /proc for a descriptor of the same file whose fdinfo shows a lock (only on a conflict; best effort).</summary>
    private static LockHolder? FindHolder(int fd)
    {
        stat own;
        if (LibC.fstat(fd, &own) < 0)
            return null;
        ulong device = (ulong)own.st_dev, inode = (ulong)own.st_ino;
        string ownLink = $"/proc/{Environment.ProcessId}/fd/{fd}";
        try
        {
            foreach (string process in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(System.IO.Path.GetFileName(process), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                    continue;
                if (FindLockedDescriptor(process, device, inode, ownLink) is { } exclusive)
                    return new LockHolder(pid, CommandOf(process), exclusive);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // /proc unreadable: the message goes without the holder.
        }
        return null;
    }

    /// <summary>True (write lock) or false (read lock) when one of the process's descriptors of the file holds a lock; null otherwise.</summary>
    private static bool? FindLockedDescriptor(string process, ulong device, ulong inode, string ownLink)
    {
        IEnumerable<string> links;
        try
        {
            links = Directory.EnumerateFiles(process + "/fd").ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // exited, or not ours to look at
        }
        foreach (string link in links)
        {
            if (link == ownLink || !SameFile(link, device, inode))
                continue;
            string info;
            try
            {
                info = File.ReadAllText(process + "/fdinfo/" + System.IO.Path.GetFileName(link));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            // e.g. "lock:\t1: OFDLCK ADVISORY  WRITE -1 fe:00:11658170 0 EOF"
            foreach (string line in info.Split('\n'))
                if (line.StartsWith("lock:", StringComparison.Ordinal))
                    return line.Contains(" WRITE ", StringComparison.Ordinal);
        }
        return null;
    }

    private static bool SameFile(string path, ulong device, ulong inode)
    {
        byte[] name = Encoding.UTF8.GetBytes(path + "\0");
        stat st;
        fixed (byte* p = name)
            if (LibC.stat(p, &st) < 0)
                return false;
        return (ulong)st.st_dev == device && (ulong)st.st_ino == inode;
    }

    private static string CommandOf(string process)
    {
        try
        {
            return File.ReadAllText(process + "/comm").Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "?";
        }
    }
}

/// <summary>
/// A file is locked by another user: an image or file has one writer at a time, and readers
/// only alongside other readers. The message names the file, the holder when it can be found,
/// and what to do.
/// </summary>
public sealed class FileLockedException : IOException
{
    /// <summary>Creates the exception with a general message.</summary>
    public FileLockedException() : base("A file is locked by another user.") { Path = ""; }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public FileLockedException(string message) : base(message) { Path = ""; }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public FileLockedException(string message, Exception? innerException) : base(message, innerException) { Path = ""; }

    /// <summary>Creates the exception.</summary>
    public FileLockedException(string path, int? holderProcessId, string message) : base(message)
    {
        Path = path;
        HolderProcessId = holderProcessId;
    }

    /// <summary>The locked file.</summary>
    public string Path { get; }

    /// <summary>The process that holds the conflicting lock, when /proc shows it (it may be this process).</summary>
    public int? HolderProcessId { get; }
}
