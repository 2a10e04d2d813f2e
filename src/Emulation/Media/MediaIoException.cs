using PolledNvme.Uring;

namespace PolledNvme.Emulation.Media;

/// <summary>What the emulated controller was doing to its backing file when a system call failed.</summary>
internal enum MediaOperation
{
    /// <summary>Reading block data or metadata.</summary>
    Read,
    /// <summary>Writing block data or metadata.</summary>
    Write,
    /// <summary>Zeroing or deallocating (punching a hole, or writing zeros).</summary>
    Zero,
    /// <summary>Making written data durable (Flush, fdatasync).</summary>
    Flush,
    /// <summary>Opening, creating, sizing or laying out an image (Format NVM, a new image).</summary>
    Layout,
    /// <summary>Reading, writing, renaming or removing a format record or a format's temporary file.</summary>
    Record,
}

/// <summary>
/// A system call on the emulated controller's backing file failed (disk full, I/O error, a
/// read-only file system...). The message names the errno, what was being done, the file and
/// the offset, e.g. <c>ENOSPC (No space left on device) writing 4096 bytes at offset 8192 of '/tmp/ns.img'</c>.
/// The device turns it into the command's NVMe status (Capacity Exceeded, Write Fault,
/// Unrecovered Read Error or Internal Error) and hands the message to the host with the failed
/// command; it reaches callers directly only from opening or creating an image.
/// </summary>
public sealed class MediaIoException : IOException
{
    /// <summary>Creates the exception with a general message.</summary>
    public MediaIoException() : base("A media system call failed.") { Path = ""; }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public MediaIoException(string message) : base(message) { Path = ""; }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that caused it.</summary>
    public MediaIoException(string message, Exception? innerException) : base(message, innerException) { Path = ""; }

    internal MediaIoException(MediaOperation operation, int errno, string path, long offset, long length, string? what = null)
        : base(Describe(operation, errno, path, offset, length, what))
    {
        Operation = operation;
        Errno = errno;
        Path = path;
        Offset = offset;
        HResult = errno;
    }

    /// <summary>The positive Linux errno (e.g. 28 for ENOSPC); 0 for a transfer that stopped short without one.</summary>
    public int Errno { get; }

    /// <summary>The errno's name, e.g. <c>ENOSPC</c>.</summary>
    public string ErrnoName => Errno == 0 ? "short transfer" : PolledNvme.Uring.Errno.Name(Errno);

    /// <summary>The file the call was made on.</summary>
    public string Path { get; }

    /// <summary>Byte offset in the file (0 when the call has none).</summary>
    public long Offset { get; }

    internal MediaOperation Operation { get; }

    private static string Describe(MediaOperation operation, int errno, string path, long offset, long length, string? what)
    {
        string error = errno == 0 ? "a short transfer (is the file system full or the file truncated?)" : PolledNvme.Uring.Errno.Describe(errno);
        string action = what ?? operation switch
        {
            MediaOperation.Read => $"reading {length} bytes at offset {offset} of",
            MediaOperation.Write => $"writing {length} bytes at offset {offset} of",
            MediaOperation.Zero => $"zeroing {length} bytes at offset {offset} of",
            MediaOperation.Flush => "flushing",
            MediaOperation.Layout => "laying out",
            _ => "updating the format record of",
        };
        return $"{error} {action} '{path}'";
    }
}
