using System.Runtime.CompilerServices;
using PolledNvme.Uring;
using Tmds.Linux;

namespace PolledNvme.Emulation.Media;

/// <summary>
/// The I/O under <see cref="UringFileBackend"/>: one operation at a time, waited for, through
/// io_uring (fixed files, a registered bounce buffer) or, where io_uring is unavailable
/// (disabled by sysctl, blocked by seccomp), through the matching synchronous system call, so
/// the emulated controller keeps working. Two descriptors: an O_DIRECT one for block-aligned
/// data (when the filesystem supports O_DIRECT) and a buffered one for everything else; a
/// third, unused for I/O, holds the file's lock (<see cref="FileLock"/>): exclusive for the one
/// writer, shared for read-only users. Every failure is a <see cref="MediaIoException"/> naming the
/// errno, the operation, the file and the offset.
/// </summary>
internal sealed unsafe class MediaFileIo : IDisposable
{
    /// <summary>Bytes of the bounce buffer O_DIRECT transfers are staged in.</summary>
    public const int BounceSize = 256 * 1024;

    private const int BufferedIndex = 0; // registered file indices
    private const int DirectIndex = 1;

    private readonly UringRing? _ring;
    private readonly NativeFile _lock;
    private readonly NativeFile? _direct;
    private readonly bool _vectored;

    private MediaFileIo(string path, NativeFile lockHolder, NativeFile buffered, NativeFile? direct, UringRing? ring, AlignedBuffer bounce, string? fallbackReason)
    {
        Path = path;
        _lock = lockHolder;
        FallbackReason = fallbackReason;
        Buffered = buffered;
        _direct = direct;
        _ring = ring;
        Bounce = bounce;
        // Kernels before 5.6 have neither READ/WRITE nor FALLOCATE: READV/WRITEV, and zero writes instead of holes.
        _vectored = ring is not null && !ring.Probe.Supports(UringOpcode.Read);
        PunchSupported = ring is null || ring.Probe.Supports(UringOpcode.Fallocate);
    }

    /// <summary>
    /// Opens <paramref name="path"/> (created if missing and <paramref name="create"/>) buffered,
    /// locks it (exclusively unless <paramref name="readOnly"/>) and, if
    /// <paramref name="preferDirect"/> and the filesystem allows, opens it again with O_DIRECT;
    /// sets up a ring from <paramref name="createRing"/>, or synchronous I/O if it throws
    /// <see cref="UringUnavailableException"/>.
    /// </summary>
    public static MediaFileIo Open(string path, bool preferDirect, Func<UringRing> createRing, bool readOnly = false, bool create = true)
    {
        // The lock lives on a descriptor of its own that no ring registers: a ring's teardown runs
        // late in the kernel (after a SIGKILL too) and would hold a registered descriptor's lock.
        NativeFile lockHolder = NativeFile.OpenLocked(path, writable: !readOnly, direct: false, create: create && !readOnly,
            readOnly ? FileLockMode.Shared : FileLockMode.Exclusive);
        NativeFile buffered;
        try
        {
            buffered = NativeFile.OpenSame(path, lockHolder, writable: !readOnly, direct: false);
        }
        catch
        {
            if (lockHolder.Created)
                MediaFiles.UnlinkQuietly(path);
            lockHolder.Dispose();
            throw;
        }
        NativeFile? direct = null;
        UringRing? ring = null;
        AlignedBuffer? bounce = null;
        string? fallbackReason = null;
        try
        {
            if (buffered.IsBlockDevice)
                throw new ArgumentException($"'{path}' is a block device; the emulated controller's file backend needs a regular file (use uring:{path} to benchmark the device).", nameof(path));
            // A drive has no readahead: a random read that misses the page cache fills only its own
            // pages (readahead of a fresh sparse image zero-filled 32 pages per 4 KiB read).
            buffered.AdviseRandomAccess();
            if (preferDirect)
                direct = TryOpenDirect(path, lockHolder, readOnly);
            bounce = new AlignedBuffer(BounceSize, 4096);
            try
            {
                ring = createRing();
            }
            catch (UringUnavailableException e)
            {
                fallbackReason = e.Message; // synchronous system calls from here on
            }
            if (ring is not null)
            {
                ring.RegisterBuffers([bounce.AsIoVec()]);
                ring.RegisterFiles(direct is null ? [buffered.Fd] : [buffered.Fd, direct.Fd]);
            }
            return new MediaFileIo(path, lockHolder, buffered, direct, ring, bounce, fallbackReason);
        }
        catch
        {
            ring?.Dispose();
            bounce?.Dispose();
            direct?.Dispose();
            buffered.Dispose();
            if (lockHolder.Created)
                MediaFiles.UnlinkQuietly(path); // a file this open created is not left behind empty
            lockHolder.Dispose();
            throw;
        }
    }

    /// <summary>This open created the file (it did not exist).</summary>
    public bool Created => _lock.Created;

    /// <summary>The inode of the open file (the format record names it).</summary>
    public ulong Inode => _lock.Inode;

    /// <summary>The file, for messages (the aside image of a format is renamed to the image's path).</summary>
    public string Path { get; set; }

    /// <summary>
    /// Test seam: asked before every operation with its kind and offset; a non-zero errno fails the
    /// operation with it, as the file system would (ENOSPC, EIO...).
    /// </summary>
    public Func<MediaOperation, long, int>? InjectedFault { get; set; }

    /// <summary>Why io_uring could not be used (the setup error, which says what to do), or null when it is used.</summary>
    public string? FallbackReason { get; }

    private static NativeFile? TryOpenDirect(string path, NativeFile lockHolder, bool readOnly)
    {
        try
        {
            return NativeFile.OpenSame(path, lockHolder, writable: !readOnly, direct: true);
        }
        catch (UringException e) when (e.Errno == Errno.EINVAL)
        {
            return null; // the filesystem has no O_DIRECT (e.g. older tmpfs): buffered only
        }
    }

    /// <summary>The buffered descriptor (sizes, truncation).</summary>
    public NativeFile Buffered { get; }

    /// <summary>Page-aligned staging for O_DIRECT transfers (registered buffer 0 of the ring).</summary>
    public AlignedBuffer Bounce { get; }

    /// <summary>True when operations go through io_uring; false when io_uring was unavailable.</summary>
    public bool UsesIoUring => _ring is not null;

    /// <summary>True when block-aligned data can bypass the page cache (O_DIRECT).</summary>
    public bool IsDirect => _direct is not null;

    /// <summary>The O_DIRECT descriptor, or -1.</summary>
    public int DirectFd => _direct?.Fd ?? -1;

    /// <summary>False once the filesystem (or a pre-5.6 kernel) refused to punch holes.</summary>
    public bool PunchSupported { get; set; }

    /// <summary>
    /// Runs one operation and waits for it. <paramref name="opcode"/> is READ/WRITE (buffered
    /// descriptor, any buffer), READ_FIXED/WRITE_FIXED (O_DIRECT descriptor, the bounce buffer),
    /// FSYNC (fdatasync) or FALLOCATE (punch hole, keep size). Returns the byte count or 0 on
    /// success, a negated errno on failure.
    /// </summary>
    public int Execute(UringOpcode opcode, byte* buffer, ulong length, long offset)
    {
        if (InjectedFault is { } inject && inject(OperationOf(opcode), offset) is var errno and not 0)
            return -errno;
        if (_ring is null)
            return ExecuteWithSystemCall(opcode, buffer, length, offset);

        ref UringSqe sqe = ref _ring.GetSqe();
        IoVec vector = new() { Base = (nint)buffer, Length = (nuint)length }; // read by the kernel before we return
        switch (opcode)
        {
            case UringOpcode.ReadFixed:
                sqe.PrepareReadFixed(DirectIndex, (nint)buffer, (uint)length, (ulong)offset, 0, 0, fixedFile: true);
                break;
            case UringOpcode.WriteFixed:
                sqe.PrepareWriteFixed(DirectIndex, (nint)buffer, (uint)length, (ulong)offset, 0, 0, fixedFile: true);
                break;
            case UringOpcode.Read when _vectored:
                sqe.PrepareReadv(BufferedIndex, (nint)(&vector), 1, (ulong)offset, 0, fixedFile: true);
                break;
            case UringOpcode.Write when _vectored:
                sqe.PrepareWritev(BufferedIndex, (nint)(&vector), 1, (ulong)offset, 0, fixedFile: true);
                break;
            case UringOpcode.Read:
                sqe.PrepareRead(BufferedIndex, (nint)buffer, (uint)length, (ulong)offset, 0, fixedFile: true);
                break;
            case UringOpcode.Write:
                sqe.PrepareWrite(BufferedIndex, (nint)buffer, (uint)length, (ulong)offset, 0, fixedFile: true);
                break;
            case UringOpcode.Fsync:
                sqe.PrepareFsync(BufferedIndex, dataOnly: true, 0, fixedFile: true);
                break;
            case UringOpcode.Fallocate:
                sqe.PreparePunchHole(BufferedIndex, (ulong)offset, length, 0, fixedFile: true);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(opcode), opcode, "not an operation of the media file");
        }
        _ring.Submit();
        return _ring.WaitCompletion().Result;
    }

    /// <summary>A pwrite on the buffered descriptor now, in the calling thread (again after a signal): the bytes written or a negated errno.</summary>
    public int WriteBufferedNow(byte* buffer, int length, long offset) => ExecuteWithSystemCall(UringOpcode.Write, buffer, (ulong)length, offset);

    private int ExecuteWithSystemCall(UringOpcode opcode, byte* buffer, ulong length, long offset)
    {
        long result;
        do
        {
            result = opcode switch
            {
                UringOpcode.ReadFixed => LibC.pread(_direct!.Fd, buffer, (size_t)length, offset),
                UringOpcode.WriteFixed => LibC.pwrite(_direct!.Fd, buffer, (size_t)length, offset),
                UringOpcode.Read => LibC.pread(Buffered.Fd, buffer, (size_t)length, offset),
                UringOpcode.Write => LibC.pwrite(Buffered.Fd, buffer, (size_t)length, offset),
                UringOpcode.Fsync => LibC.fdatasync(Buffered.Fd),
                UringOpcode.Fallocate => LibC.fallocate(Buffered.Fd, FallocateMode.PunchHole | FallocateMode.KeepSize, offset, (long)length),
                _ => throw new ArgumentOutOfRangeException(nameof(opcode), opcode, "not an operation of the media file"),
            };
        }
        while (result < 0 && LibC.errno == Errno.EINTR);
        return result < 0 ? -LibC.errno : (int)result;
    }

    private static MediaOperation OperationOf(UringOpcode opcode) => opcode switch
    {
        UringOpcode.Read or UringOpcode.ReadFixed => MediaOperation.Read,
        UringOpcode.Fallocate => MediaOperation.Zero,
        UringOpcode.Fsync => MediaOperation.Flush,
        _ => MediaOperation.Write,
    };

    /// <summary>
    /// An O_DIRECT transfer of <paramref name="length"/> bytes between the bounce buffer and the
    /// file (READ_FIXED or WRITE_FIXED), resuming after a short transfer: a file system that runs
    /// out of space writes what fits and reports ENOSPC only for the rest.
    /// </summary>
    public void TransferDirect(UringOpcode opcode, long offset, int length)
    {
        int done = 0;
        while (done < length)
        {
            int n = Execute(opcode, (byte*)Bounce.Pointer + done, (ulong)(length - done), offset + done);
            if (n < 0)
                throw Failed(OperationOf(opcode), -n, offset + done, length - done);
            if (n == 0)
            {
                if (opcode == UringOpcode.WriteFixed)
                    throw Failed(MediaOperation.Write, 0, offset + done, length - done);
                Bounce.Slice(done, length - done).Clear(); // past the end: reads as zeros
                return;
            }
            done += n;
        }
    }

    /// <summary>
    /// Buffered transfer (READ or WRITE) straight from or into the caller's memory, resuming
    /// after short transfers; a read past the end of the file gives zeros.
    /// </summary>
    public void TransferBuffered(UringOpcode opcode, long offset, ReadOnlySpan<byte> span, MediaOperation operation)
    {
        fixed (byte* start = span)
        {
            int done = 0;
            while (done < span.Length)
            {
                int length = span.Length - done;
                int n = Execute(opcode, start + done, (ulong)length, offset + done);
                if (n < 0)
                    throw Failed(operation, -n, offset + done, length);
                if (n == 0)
                {
                    if (opcode == UringOpcode.Write)
                        throw Failed(operation, 0, offset + done, length);
                    new Span<byte>(start + done, length).Clear(); // past the end: reads as zeros
                    return;
                }
                done += n;
            }
        }
    }

    /// <summary>Punches a hole (keep size); false when the file system cannot (EOPNOTSUPP), which is remembered.</summary>
    public bool TryPunchHole(long offset, long length)
    {
        int result = Execute(UringOpcode.Fallocate, null, (ulong)length, offset);
        if (result == -Errno.EOPNOTSUPP)
        {
            PunchSupported = false; // a filesystem without holes: zero writes from now on
            return false;
        }
        if (result < 0)
            throw Failed(MediaOperation.Zero, -result, offset, length);
        return true;
    }

    /// <summary>fdatasync: written data (and the file size) are durable.</summary>
    public void Sync()
    {
        int result = Execute(UringOpcode.Fsync, null, 0, 0);
        if (result < 0)
            throw Failed(MediaOperation.Flush, -result, 0, 0);
    }

    /// <summary>Sets the file's length (ftruncate): shrinking discards, growing adds a hole.</summary>
    public void Resize(long length)
    {
        int errno = InjectedFault?.Invoke(MediaOperation.Layout, length) ?? 0;
        if (errno == 0 && LibC.ftruncate(Buffered.Fd, length) < 0)
            errno = LibC.errno;
        if (errno != 0)
            throw new MediaIoException(MediaOperation.Layout, errno, Path, length, 0, $"setting the length to {length} bytes of");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private MediaIoException Failed(MediaOperation operation, int errno, long offset, long length)
        => new(operation, errno, Path, offset, length);

    /// <summary>Drains the ring (nothing may still write into the buffers), then frees buffers and descriptors.</summary>
    public void Dispose()
    {
        _ring?.Dispose();
        Bounce.Dispose();
        _direct?.Dispose();
        Buffered.Dispose();
        _lock.Dispose(); // last: the file is unlocked once nothing of ours uses it
    }
}
