using System.Runtime.InteropServices;
using System.Text;
using PolledNvme.Queues.Uring;
using Tmds.Linux;

namespace PolledNvme.Driver.Emulated.Media;

/// <summary>
/// The file-system calls of the format protocol and the format record (small files, renames,
/// directory syncs), each failing with a <see cref="MediaIoException"/> that names the errno and
/// the path, so the device can report it instead of dying on a .NET exception.
/// </summary>
internal static unsafe partial class MediaFiles
{
    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameCall(string from, string to);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UnlinkCall(string path);

    /// <summary>rename(2): atomically replaces <paramref name="to"/> with <paramref name="from"/>.</summary>
    public static void Rename(string from, string to)
    {
        if (RenameCall(from, to) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new MediaIoException(MediaOperation.Record, errno, to, 0, 0, $"renaming '{from}' to");
        }
    }

    /// <summary>Removes <paramref name="path"/>; a missing file is not an error. Returns whether it existed.</summary>
    public static bool Unlink(string path)
    {
        if (UnlinkCall(path) == 0)
            return true;
        int errno = Marshal.GetLastPInvokeError();
        if (errno == Errno.ENOENT)
            return false;
        throw new MediaIoException(MediaOperation.Record, errno, path, 0, 0, "removing");
    }

    /// <summary>fsync of the directory holding <paramref name="path"/>, so a rename or unlink in it is durable.</summary>
    public static void SyncDirectory(string path)
    {
        string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        int fd = OpenRaw(directory, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        if (fd < 0)
            return; // cannot open the directory (permissions): the rename itself is still atomic
        int result = LibC.fsync(fd);
        int errno = LibC.errno;
        LibC.close(fd);
        if (result < 0 && errno != Errno.EINVAL) // EINVAL: a file system that cannot sync directories
            throw new MediaIoException(MediaOperation.Record, errno, directory, 0, 0, "syncing the directory");
    }

    /// <summary>The inode and length of <paramref name="path"/>, or false when it does not exist.</summary>
    public static bool TryStat(string path, out ulong inode, out long length)
    {
        byte[] name = Encoding.UTF8.GetBytes(path + "\0");
        stat st;
        int result;
        fixed (byte* p = name)
            result = LibC.stat(p, &st);
        if (result < 0)
        {
            int errno = LibC.errno;
            inode = 0;
            length = 0;
            if (errno is Errno.ENOENT or Errno.ENOTDIR)
                return false;
            throw new MediaIoException(MediaOperation.Record, errno, path, 0, 0, "examining");
        }
        inode = (ulong)st.st_ino;
        length = st.st_size;
        return true;
    }

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes of a small file; -1 when it does not exist.</summary>
    public static int ReadSmall(string path, Span<byte> buffer)
    {
        int fd = OpenRaw(path, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = LibC.errno;
            if (errno == Errno.ENOENT)
                return -1;
            throw new MediaIoException(MediaOperation.Record, errno, path, 0, 0, "opening");
        }
        try
        {
            int done = 0;
            fixed (byte* p = buffer)
            {
                while (done < buffer.Length)
                {
                    long n = LibC.read(fd, p + done, (size_t)(buffer.Length - done));
                    if (n < 0 && LibC.errno == Errno.EINTR)
                        continue;
                    if (n < 0)
                        throw new MediaIoException(MediaOperation.Record, LibC.errno, path, done, buffer.Length - done);
                    if (n == 0)
                        break;
                    done += (int)n;
                }
            }
            return done;
        }
        finally
        {
            LibC.close(fd);
        }
    }

    /// <summary>
    /// Replaces <paramref name="path"/> with <paramref name="bytes"/> atomically and durably: a
    /// temporary file beside it (<c>PATH.tmp</c>), written and fsynced, renamed over it, and the
    /// directory fsynced; after a crash the file is the old one, the new one, or absent, never torn.
    /// </summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes)
    {
        string temporary = path + ".tmp";
        int fd = OpenRaw(temporary, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_TRUNC | LibC.O_CLOEXEC, 0b110_100_100);
        if (fd < 0)
            throw new MediaIoException(MediaOperation.Record, LibC.errno, temporary, 0, 0, "creating");
        try
        {
            int done = 0;
            fixed (byte* p = bytes)
            {
                while (done < bytes.Length)
                {
                    long n = LibC.write(fd, p + done, (size_t)(bytes.Length - done));
                    if (n < 0 && LibC.errno == Errno.EINTR)
                        continue;
                    if (n <= 0)
                        throw new MediaIoException(MediaOperation.Record, n < 0 ? LibC.errno : 0, temporary, done, bytes.Length - done, "writing the format record");
                    done += (int)n;
                }
            }
            if (LibC.fsync(fd) < 0)
                throw new MediaIoException(MediaOperation.Record, LibC.errno, temporary, 0, 0, "syncing the format record");
        }
        catch
        {
            LibC.close(fd);
            UnlinkQuietly(temporary);
            throw;
        }
        LibC.close(fd);
        Rename(temporary, path);
        SyncDirectory(path);
    }

    /// <summary>Removes a temporary file on a path that already failed; a second error would hide the first.</summary>
    public static void UnlinkQuietly(string path) => UnlinkCall(path);

    private static int OpenRaw(string path, int flags, int mode)
    {
        byte[] name = Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        fixed (byte* p = name)
        {
            do fd = LibC.open(p, flags, (mode_t)mode);
            while (fd < 0 && LibC.errno == Errno.EINTR);
        }
        return fd;
    }
}
