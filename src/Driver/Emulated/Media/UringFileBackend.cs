using System.Runtime.CompilerServices;
using PolledNvme.Queues.Uring;

namespace PolledNvme.Driver.Emulated.Media;

/// <summary>
/// Media in a file through io_uring: block data then metadata, exactly QEMU's nvme-ns layout,
/// with the format recorded in a sidecar (<see cref="MediaFormatRecord"/>) and checked on open.
/// Block-aligned data goes through an O_DIRECT descriptor and a registered bounce buffer
/// (READ_FIXED / WRITE_FIXED) where the filesystem supports O_DIRECT; metadata and unaligned
/// ranges through a buffered descriptor. Zeroing punches holes (FALLOCATE) for whole pages;
/// Flush is fdatasync. Where io_uring is unavailable the same operations run as synchronous
/// system calls (<see cref="MediaFileIo"/>). Used by one thread at a time; every call waits
/// for its operations, so the caller's spans are never referenced after it returns.
/// </summary>
internal sealed unsafe class UringFileBackend : IMediaBackend, IFormatRecordingMedia
{
    private const int Page = 4096;

    private readonly MediaFileIo _io;
    private readonly AlignedBuffer _zeros; // source of zero writes for edges a hole cannot cover
    private MediaFormatRecord _format;

    private UringFileBackend(string path, MediaFileIo io)
    {
        Path = path;
        _io = io;
        _zeros = new AlignedBuffer(64 * 1024, Page);
    }

    /// <summary>
    /// Opens or creates <paramref name="path"/> for <paramref name="format"/>. A new or empty
    /// file is laid out for it (<paramref name="fresh"/> = true: every block is unwritten). An
    /// existing file must carry the same format record, unless <paramref name="formatRequested"/>,
    /// which re-lays it (erasing it). Anything else is a <see cref="MediaFormatMismatchException"/>.
    /// </summary>
    public static UringFileBackend Open(string path, MediaFormatRecord format, bool formatRequested, out bool fresh, bool preferDirect = true)
        => Open(path, format, formatRequested, out fresh, preferDirect, CreateRing);

    /// <summary>As <see cref="Open(string, MediaFormatRecord, bool, out bool, bool)"/>, with the ring's creation injectable (tests of the fallback).</summary>
    internal static UringFileBackend Open(string path, MediaFormatRecord format, bool formatRequested, out bool fresh, bool preferDirect, Func<UringRing> createRing)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        MediaFileIo io = MediaFileIo.Open(path, preferDirect, createRing);
        UringFileBackend? backend = null;
        try
        {
            backend = new UringFileBackend(path, io);
            fresh = backend.Attach(format, formatRequested);
            return backend;
        }
        catch
        {
            if (backend is not null)
                backend.Dispose();
            else
                io.Dispose();
            throw;
        }
    }

    // The namespace is built on the caller's thread and then driven by the device thread, so the
    // ring cannot be SINGLE_ISSUER; it is still used by one thread at a time.
    private static UringRing CreateRing() => UringRing.Create(new UringRingOptions { SqEntries = 8, CqEntries = 16, SingleIssuer = false });

    /// <summary>Checks or lays out the file; returns true if it was (re)laid out.</summary>
    private bool Attach(MediaFormatRecord wanted, bool formatRequested)
    {
        long length = _io.Buffered.Length;
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
    public bool IsDirect => _io.IsDirect;

    /// <summary>True when I/O goes through io_uring; false when it fell back to system calls.</summary>
    public bool UsesIoUring => _io.UsesIoUring;

    /// <summary>Why io_uring is not used (its setup error), or null.</summary>
    public string? FallbackReason => _io.FallbackReason;

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
            for (int done = 0; done < destination.Length; done += MediaFileIo.BounceSize)
            {
                int n = Math.Min(MediaFileIo.BounceSize, destination.Length - done);
                TransferDirect(UringOpcode.ReadFixed, offset + done, n);
                _io.Bounce.Slice(0, n).CopyTo(destination[done..]);
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
            for (int done = 0; done < source.Length; done += MediaFileIo.BounceSize)
            {
                int n = Math.Min(MediaFileIo.BounceSize, source.Length - done);
                source.Slice(done, n).CopyTo(_io.Bounce.Span);
                TransferDirect(UringOpcode.WriteFixed, offset + done, n);
            }
            return;
        }
        TransferBuffered(UringOpcode.Write, offset, source);
    }

    /// <inheritdoc/>
    /// <remarks>Whole pages become holes (punch hole, keep size); the partial pages at the edges are written with zeros.</remarks>
    public void Zero(long offset, long length)
    {
        Check(offset, length);
        long end = offset + length;
        long holeStart = (offset + Page - 1) / Page * Page;
        long holeEnd = end / Page * Page;
        if (_io.PunchSupported && holeEnd > holeStart && TryPunchHole(holeStart, holeEnd - holeStart))
        {
            WriteZeros(offset, holeStart - offset);
            WriteZeros(holeEnd, end - holeEnd);
            return;
        }
        WriteZeros(offset, length);
    }

    /// <inheritdoc/>
    public void Flush() => Check(UringOpcode.Fsync, _io.Execute(UringOpcode.Fsync, null, 0, 0), 0, 0);

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
        _io.Buffered.SetLength(0);
        _io.Buffered.SetLength(format.MediaLength);
        Flush();
        MediaFormatSidecar.Save(Path, format);
        _format = format;
        Length = format.MediaLength;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool CanGoDirect(long offset, int length) => _io.IsDirect && (offset | (long)length) % Page == 0;

    /// <summary>One O_DIRECT transfer of <paramref name="length"/> bytes between the bounce buffer and the file.</summary>
    private void TransferDirect(UringOpcode opcode, long offset, int length)
    {
        int done = _io.Execute(opcode, _io.Bounce.Pointer, (ulong)length, offset);
        Check(opcode, done, offset, length);
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
                int length = span.Length - done;
                int n = _io.Execute(opcode, start + done, (ulong)length, offset + done);
                Check(opcode, n, offset + done, length);
                if (n == 0)
                {
                    if (opcode == UringOpcode.Write)
                        ThrowShort(opcode, offset, done, span.Length);
                    new Span<byte>(start + done, length).Clear(); // past the end: reads as zeros
                    return;
                }
                done += n;
            }
        }
    }

    private bool TryPunchHole(long offset, long length)
    {
        int result = _io.Execute(UringOpcode.Fallocate, null, (ulong)length, offset);
        if (result == -Errno.EOPNOTSUPP)
        {
            _io.PunchSupported = false; // a filesystem without holes: zero writes from now on
            return false;
        }
        Check(UringOpcode.Fallocate, result, offset, length);
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

    /// <summary>Throws, naming the operation, offset and errno, if <paramref name="result"/> is a negated errno.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Check(UringOpcode opcode, int result, long offset, long length)
    {
        if (result < 0)
            ThrowFailed(opcode, result, offset, length);
    }

    private void Check(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
            ThrowOutside(offset, length);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowFailed(UringOpcode opcode, int result, long offset, long length)
        => throw UringErrors.ForCompletion(opcode, result, _io.FdOf(opcode), (ulong)offset, (ulong)length,
            direct: opcode is UringOpcode.ReadFixed or UringOpcode.WriteFixed);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowOutside(long offset, long length)
        => throw new ArgumentOutOfRangeException(nameof(offset), $"media access 0x{offset:X}+0x{length:X} is outside the {Length}-byte media of '{Path}'.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowShort(UringOpcode opcode, long offset, int done, int length)
        => throw new IOException($"{UringAbi.OpcodeName(opcode)} at offset {offset} of '{Path}' transferred {done} of {length} bytes (is the file system full or the file truncated?).");

    /// <inheritdoc/>
    public void Dispose()
    {
        _io.Dispose(); // drains the ring before the buffers go away
        _zeros.Dispose();
    }
}
