using System.Runtime.CompilerServices;
using PolledNvme.Queues.Uring;

namespace PolledNvme.Driver.Emulated.Media;

/// <summary>
/// Media in a file, through io_uring: block data then metadata (QEMU's nvme-ns layout) and a
/// format record in a sidecar file (<see cref="MediaFormatRecord"/>). Block-aligned data goes through an O_DIRECT
/// descriptor and a registered bounce buffer (READ_FIXED / WRITE_FIXED) where the filesystem
/// supports O_DIRECT; everything else (metadata, unaligned ranges, filesystems without
/// O_DIRECT) goes through a buffered descriptor. Zeroing punches holes (FALLOCATE) for whole
/// pages; Flush is fdatasync (FSYNC with IORING_FSYNC_DATASYNC). Used by the device thread only;
/// each call submits its operations and waits for them, so the caller's spans are never
/// referenced after it returns.
/// </summary>
internal sealed unsafe class UringFileBackend : IMediaBackend, IFormatRecordingMedia
{
    private const int Page = 4096;
    private const int BounceSize = 256 * 1024;
    private const int BufferedFile = 0; // registered file indices
    private const int DirectFile = 1;

    private readonly UringRing _ring;
    private readonly NativeFile _buffered;
    private readonly NativeFile? _direct;
    private readonly AlignedBuffer _bounce;  // registered buffer 0: staging for O_DIRECT transfers
    private readonly AlignedBuffer _zeros;   // source of zero writes for edges a hole cannot cover
    private readonly bool _vectored;
    private bool _punchSupported;
    private MediaFormatRecord _format;

    private UringFileBackend(string path, NativeFile buffered, NativeFile? direct, UringRing ring)
    {
        Path = path;
        _buffered = buffered;
        _direct = direct;
        _ring = ring;
        _bounce = new AlignedBuffer(BounceSize, Page);
        _zeros = new AlignedBuffer(64 * 1024, Page);
        // Kernels before 5.6 have neither READ/WRITE nor FALLOCATE: READV/WRITEV and zero writes instead.
        _vectored = !ring.Probe.Supports(UringOpcode.Read);
        _punchSupported = ring.Probe.Supports(UringOpcode.Fallocate);
        try
        {
            _ring.RegisterBuffers([_bounce.AsIoVec()]);
            _ring.RegisterFiles(direct is null ? [buffered.Fd] : [buffered.Fd, direct.Fd]);
        }
        catch
        {
            _bounce.Dispose(); // the caller releases the ring and the files
            _zeros.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens or creates <paramref name="path"/> for <paramref name="format"/>. A new or empty
    /// file is laid out for it (<paramref name="fresh"/> = true: every block is unwritten). An
    /// existing file must carry the same format record, unless <paramref name="formatRequested"/>,
    /// which re-lays it (erasing it). Anything else is a <see cref="MediaFormatMismatchException"/>.
    /// </summary>
    public static UringFileBackend Open(string path, MediaFormatRecord format, bool formatRequested, out bool fresh, bool preferDirect = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        NativeFile buffered = NativeFile.Open(path, writable: true, direct: false, create: true);
        NativeFile? direct = null;
        UringRing? ring = null;
        UringFileBackend? backend = null;
        try
        {
            if (buffered.IsBlockDevice)
                throw new ArgumentException($"'{path}' is a block device; the emulated controller's file backend needs a regular file (use uring:{path} to benchmark the device).", nameof(path));
            if (preferDirect)
                direct = TryOpenDirect(path);
            // The namespace is built on the caller's thread and then driven by the device thread,
            // so the ring cannot be SINGLE_ISSUER; it is still used by one thread at a time.
            ring = UringRing.Create(new UringRingOptions { SqEntries = 8, CqEntries = 16, SingleIssuer = false });
            backend = new UringFileBackend(path, buffered, direct, ring);
            fresh = backend.Attach(format, formatRequested);
            return backend;
        }
        catch
        {
            if (backend is not null)
                backend.Dispose();
            else
            {
                ring?.Dispose();
                direct?.Dispose();
                buffered.Dispose();
            }
            throw;
        }
    }

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

    /// <summary>Checks or lays out the file; returns true if it was (re)laid out.</summary>
    private bool Attach(MediaFormatRecord wanted, bool formatRequested)
    {
        long length = _buffered.Length;
        if (length == 0 || formatRequested)
        {
            Reformat(wanted);
            return true;
        }
        string sidecar = MediaFormatSidecar.PathOf(Path);
        if (!MediaFormatSidecar.TryLoad(Path, out MediaFormatRecord found))
            throw new MediaFormatMismatchException(
                $"'{Path}' ({length} bytes) has no PolledNvme format record ('{sidecar}' is missing or empty): it may be a QEMU image, a plain file, " +
                $"or a format that a crash interrupted, and its metadata cannot be trusted as PI for {wanted}. " +
                "Add format=1 to re-lay it for these settings (erases its contents), or use another file.");
        if (found != wanted)
            throw new MediaFormatMismatchException(
                $"'{Path}' is formatted {found} (recorded in '{sidecar}'), but the namespace asks for {wanted}. Open it with the file's settings, " +
                "or add format=1 to re-lay it for the new ones (erases its contents).");
        if (length != found.MediaLength)
            throw new MediaFormatMismatchException(
                $"'{Path}' is {length} bytes but its format record ({found}) needs {found.MediaLength}: the file was truncated or extended outside PolledNvme. " +
                "Add format=1 to re-lay it (erases its contents).");
        _format = found;
        Length = found.MediaLength;
        return false;
    }

    /// <summary>The backing file.</summary>
    public string Path { get; }

    /// <summary>True when block-aligned data bypasses the page cache (O_DIRECT).</summary>
    public bool IsDirect => _direct is not null;

    /// <summary>The format the file is laid out for.</summary>
    public MediaFormatRecord Format => _format;

    /// <inheritdoc/>
    public long Length { get; private set; }

    /// <inheritdoc/>
    public bool RetainsData => true;

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> destination)
    {
        Check(offset, destination.Length);
        if (CanGoDirect(offset, destination.Length))
        {
            for (int done = 0; done < destination.Length; done += BounceSize)
            {
                int n = Math.Min(BounceSize, destination.Length - done);
                TransferDirect(UringOpcode.ReadFixed, offset + done, n);
                _bounce.Slice(0, n).CopyTo(destination[done..]);
            }
            return;
        }
        TransferBuffered(UringOpcode.Read, offset, destination);
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        Check(offset, source.Length);
        if (CanGoDirect(offset, source.Length))
        {
            for (int done = 0; done < source.Length; done += BounceSize)
            {
                int n = Math.Min(BounceSize, source.Length - done);
                source.Slice(done, n).CopyTo(_bounce.Span);
                TransferDirect(UringOpcode.WriteFixed, offset + done, n);
            }
            return;
        }
        TransferBuffered(UringOpcode.Write, offset, source);
    }

    /// <inheritdoc/>
    /// <remarks>Whole pages become holes (FALLOCATE punch hole, keep size); the partial pages at the edges are written with zeros.</remarks>
    public void Zero(long offset, long length)
    {
        Check(offset, length);
        long end = offset + length;
        long holeStart = (offset + Page - 1) / Page * Page;
        long holeEnd = end / Page * Page;
        if (_punchSupported && holeEnd > holeStart && TryPunchHole(holeStart, holeEnd - holeStart))
        {
            WriteZeros(offset, holeStart - offset);
            WriteZeros(holeEnd, end - holeEnd);
            return;
        }
        WriteZeros(offset, length);
    }

    /// <inheritdoc/>
    public void Flush()
    {
        _ring.GetSqe().PrepareFsync(BufferedFile, dataOnly: true, userData: 0, fixedFile: true);
        Complete(UringOpcode.Fsync, 0, 0, direct: false);
    }

    /// <inheritdoc/>
    public void Reset(long length)
    {
        int stride = _format.BlockSize + _format.MetadataSize;
        if (length <= 0 || length % stride != 0)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"the media length must be a positive multiple of the block plus metadata size ({stride}).");
        Reformat(_format with { BlockCount = length / stride });
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Crash-safe order: the old record goes first (the sidecar is removed durably), the image is
    /// emptied and resized, and the new record is written last (atomically), so an interrupted
    /// format leaves an image without a record, never one whose record describes data laid out
    /// for another format.
    /// </remarks>
    public void Reformat(MediaFormatRecord format)
    {
        if (format.BlockCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(format), format.BlockCount, "a format needs at least one block.");
        MediaFormatSidecar.Delete(Path);
        _buffered.SetLength(0);
        _buffered.SetLength(format.MediaLength);
        Flush();
        MediaFormatSidecar.Save(Path, format);
        _format = format;
        Length = format.MediaLength;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool CanGoDirect(long offset, int length) => _direct is not null && (offset | (long)length) % Page == 0;

    /// <summary>One O_DIRECT transfer of <paramref name="length"/> bytes between the bounce buffer and the file.</summary>
    private void TransferDirect(UringOpcode opcode, long offset, int length)
    {
        ref UringSqe sqe = ref _ring.GetSqe();
        if (opcode == UringOpcode.ReadFixed)
            sqe.PrepareReadFixed(DirectFile, _bounce.Pointer, (uint)length, (ulong)offset, 0, 0, fixedFile: true);
        else
            sqe.PrepareWriteFixed(DirectFile, _bounce.Pointer, (uint)length, (ulong)offset, 0, 0, fixedFile: true);
        int done = Complete(opcode, offset, length, direct: true);
        if (done != length)
            ThrowShort(opcode, offset, done, length);
    }

    /// <summary>Buffered transfer straight from or into the caller's memory, resuming after short transfers.</summary>
    private void TransferBuffered(UringOpcode opcode, long offset, ReadOnlySpan<byte> span)
    {
        fixed (byte* start = span)
        {
            int done = 0;
            while (done < span.Length)
            {
                ref UringSqe sqe = ref _ring.GetSqe();
                uint length = (uint)(span.Length - done);
                IoVec vector = new() { Base = (nint)(start + done), Length = length }; // read by the kernel before Complete returns
                if (_vectored)
                {
                    if (opcode == UringOpcode.Read)
                        sqe.PrepareReadv(BufferedFile, &vector, 1, (ulong)(offset + done), 0, fixedFile: true);
                    else
                        sqe.PrepareWritev(BufferedFile, &vector, 1, (ulong)(offset + done), 0, fixedFile: true);
                }
                else if (opcode == UringOpcode.Read)
                    sqe.PrepareRead(BufferedFile, start + done, length, (ulong)(offset + done), 0, fixedFile: true);
                else
                    sqe.PrepareWrite(BufferedFile, start + done, length, (ulong)(offset + done), 0, fixedFile: true);
                int n = Complete(opcode, offset + done, length, direct: false);
                if (n == 0)
                {
                    if (opcode == UringOpcode.Write)
                        ThrowShort(opcode, offset, done, span.Length);
                    new Span<byte>(start + done, span.Length - done).Clear(); // past the end: reads as zeros
                    return;
                }
                done += n;
            }
        }
    }

    private bool TryPunchHole(long offset, long length)
    {
        _ring.GetSqe().PreparePunchHole(BufferedFile, (ulong)offset, (ulong)length, 0, fixedFile: true);
        _ring.Submit();
        UringCqe cqe = _ring.WaitCompletion();
        if (cqe.Result == -Errno.EOPNOTSUPP)
        {
            _punchSupported = false; // e.g. a filesystem without hole support: zero writes from now on
            return false;
        }
        if (cqe.Result < 0)
            throw UringErrors.ForCompletion(UringOpcode.Fallocate, cqe.Result, _buffered.Fd, (ulong)offset, (ulong)length);
        return true;
    }

    private void WriteZeros(long offset, long length)
    {
        while (length > 0)
        {
            int n = (int)Math.Min(length, (long)_zeros.Length);
            TransferBuffered(UringOpcode.Write, offset, _zeros.Slice(0, n));
            offset += n;
            length -= n;
        }
    }

    /// <summary>Submits the one prepared SQE, waits for it, and returns its result or throws with the errno.</summary>
    private int Complete(UringOpcode opcode, long offset, long length, bool direct)
    {
        _ring.Submit();
        UringCqe cqe = _ring.WaitCompletion();
        if (cqe.Result < 0)
            throw UringErrors.ForCompletion(opcode, cqe.Result, direct ? _direct!.Fd : _buffered.Fd, (ulong)offset, (ulong)length, direct);
        return cqe.Result;
    }

    private void Check(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
            ThrowOutside(offset, length);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowOutside(long offset, long length)
        => throw new ArgumentOutOfRangeException(nameof(offset), $"media access 0x{offset:X}+0x{length:X} is outside the {Length}-byte media of '{Path}'.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowShort(UringOpcode opcode, long offset, int done, int length)
        => throw new IOException($"{UringAbi.OpcodeName(opcode)} at offset {offset} of '{Path}' transferred {done} of {length} bytes (is the file system full or the file truncated?).");

    /// <inheritdoc/>
    public void Dispose()
    {
        _ring.Dispose();   // drains anything in flight before the buffers go away
        _bounce.Dispose();
        _zeros.Dispose();
        _direct?.Dispose();
        _buffered.Dispose();
    }
}
