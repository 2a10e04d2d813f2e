using PolledNvme.Queues.Uring;
using Tmds.Linux;

namespace PolledNvme.Driver.Emulated.Media;

/// <summary>
/// The I/O under <see cref="UringFileBackend"/>: one operation at a time, waited for, through
/// io_uring (fixed files, a registered bounce buffer) or, where io_uring is unavailable
/// (disabled by sysctl, blocked by seccomp), through the matching synchronous system call, so
/// the emulated controller keeps working. Two descriptors: an O_DIRECT one for block-aligned
/// data (when the filesystem supports O_DIRECT) and a buffered one for everything else.
/// </summary>
internal sealed unsafe class MediaFileIo : IDisposable
{
    /// <summary>Bytes of the bounce buffer O_DIRECT transfers are staged in.</summary>
    public const int BounceSize = 256 * 1024;

    private const int BufferedIndex = 0; // registered file indices
    private const int DirectIndex = 1;

    private readonly UringRing? _ring;
    private readonly NativeFile? _direct;
    private readonly bool _vectored;

    private MediaFileIo(NativeFile buffered, NativeFile? direct, UringRing? ring, AlignedBuffer bounce, string? fallbackReason)
    {
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
    /// Opens <paramref name="path"/> (created if missing) buffered and, if <paramref name="preferDirect"/>
    /// and the filesystem allows, with O_DIRECT; sets up a ring from <paramref name="createRing"/>,
    /// or synchronous I/O if it throws <see cref="UringUnavailableException"/>.
    /// </summary>
    public static MediaFileIo Open(string path, bool preferDirect, Func<UringRing> createRing)
    {
        NativeFile buffered = NativeFile.Open(path, writable: true, direct: false, create: true);
        NativeFile? direct = null;
        UringRing? ring = null;
        AlignedBuffer? bounce = null;
        string? fallbackReason = null;
        try
        {
            if (buffered.IsBlockDevice)
                throw new ArgumentException($"'{path}' is a block device; the emulated controller's file backend needs a regular file (use uring:{path} to benchmark the device).", nameof(path));
            if (preferDirect)
                direct = TryOpenDirect(path);
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
            return new MediaFileIo(buffered, direct, ring, bounce, fallbackReason);
        }
        catch
        {
            ring?.Dispose();
            bounce?.Dispose();
            direct?.Dispose();
            buffered.Dispose();
            throw;
        }
    }

    /// <summary>Why io_uring could not be used (the setup error, which says what to do), or null when it is used.</summary>
    public string? FallbackReason { get; }

    private static NativeFile? TryOpenDirect(string path)
    {
        try
        {
            return NativeFile.Open(path, writable: true, direct: true);
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
        if (_ring is null)
            return ExecuteWithSystemCall(opcode, buffer, length, offset);

        ref UringSqe sqe = ref _ring.GetSqe();
        IoVec vector = new() { Base = (nint)buffer, Length = (nuint)length }; // read by the kernel before we return
        switch (opcode)
        {
            case UringOpcode.ReadFixed:
                sqe.PrepareReadFixed(DirectIndex, buffer, (uint)length, (ulong)offset, 0, 0, fixedFile: true);
                break;
            case UringOpcode.WriteFixed:
                sqe.PrepareWriteFixed(DirectIndex, buffer, (uint)length, (ulong)offset, 0, 0, fixedFile: true);
                break;
            case UringOpcode.Read when _vectored:
                sqe.PrepareReadv(BufferedIndex, &vector, 1, (ulong)offset, 0, fixedFile: true);
                break;
            case UringOpcode.Write when _vectored:
                sqe.PrepareWritev(BufferedIndex, &vector, 1, (ulong)offset, 0, fixedFile: true);
                break;
            case UringOpcode.Read:
                sqe.PrepareRead(BufferedIndex, buffer, (uint)length, (ulong)offset, 0, fixedFile: true);
                break;
            case UringOpcode.Write:
                sqe.PrepareWrite(BufferedIndex, buffer, (uint)length, (ulong)offset, 0, fixedFile: true);
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
                UringOpcode.Fallocate => LibC.fallocate(Buffered.Fd, UringAbi.FallocPunchHole | UringAbi.FallocKeepSize, offset, (long)length),
                _ => throw new ArgumentOutOfRangeException(nameof(opcode), opcode, "not an operation of the media file"),
            };
        }
        while (result < 0 && LibC.errno == Errno.EINTR);
        return result < 0 ? -LibC.errno : (int)result;
    }

    /// <summary>The descriptor an operation uses, for error messages.</summary>
    public int FdOf(UringOpcode opcode) => opcode is UringOpcode.ReadFixed or UringOpcode.WriteFixed ? _direct!.Fd : Buffered.Fd;

    /// <summary>Drains the ring (nothing may still write into the buffers), then frees buffers and descriptors.</summary>
    public void Dispose()
    {
        _ring?.Dispose();
        Bounce.Dispose();
        _direct?.Dispose();
        Buffered.Dispose();
    }
}
