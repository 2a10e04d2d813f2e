using System.Runtime.CompilerServices;
using PolledNvme.Uring;

namespace PolledNvme.Emulation.Media;

/// <summary>
/// Media in a file through io_uring: block data then metadata, exactly QEMU's nvme-ns layout,
/// with the format recorded in a sidecar (<see cref="MediaFormatRecord"/>) and checked on open.
/// Block-aligned data goes through an O_DIRECT descriptor and a registered bounce buffer
/// (READ_FIXED / WRITE_FIXED) where the filesystem supports O_DIRECT; metadata and unaligned
/// ranges through a buffered descriptor. The metadata region is also kept in memory
/// (<see cref="MetadataMirror"/>, when small enough): reads of it take no system call. Zeroing punches holes (FALLOCATE) for whole pages;
/// Flush is fdatasync. Where io_uring is unavailable the same operations run as synchronous
/// system calls (<see cref="MediaFileIo"/>). The file is locked while open: exclusively, or
/// shared when read-only. Format NVM is atomic (<see cref="MediaFormatCommit"/>). Used by one
/// thread at a time; every call waits for its operations, so the caller's spans are never
/// referenced after it returns.
/// </summary>
internal sealed unsafe class UringFileBackend : IMediaBackend
{
    private const int Page = 4096;

    private readonly AlignedBuffer _zeros; // source of zero writes for edges a hole cannot cover
    private readonly bool _preferDirect;
    private readonly Func<UringRing> _createRing;
    private MediaFileIo _io;
    private MediaFormatRecord _format;
    private MetadataMirror? _mirror;
    private Func<MediaOperation, long, int>? _faults;

    private UringFileBackend(string path, MediaFileIo io, bool readOnly, bool preferDirect, Func<UringRing> createRing)
    {
        Path = path;
        _io = io;
        ReadOnly = readOnly;
        _preferDirect = preferDirect;
        _createRing = createRing;
        _zeros = new AlignedBuffer(64 * 1024, Page);
    }

    /// <summary>
    /// Opens or creates <paramref name="path"/> for <paramref name="format"/>, locked. A new or
    /// empty file is laid out for it (<paramref name="fresh"/> = true: every block is deallocated,
    /// its metadata <paramref name="metadataFill"/> repeated). An existing file must carry the
    /// same format record, unless <paramref name="formatRequested"/>, which re-lays it (erasing
    /// it). Anything else is a <see cref="MediaFormatMismatchException"/>. A
    /// <paramref name="readOnly"/> open shares the file with other readers and never writes it.
    /// </summary>
    public static UringFileBackend Open(string path, MediaFormatRecord format, bool formatRequested, out bool fresh,
        bool preferDirect = true, bool readOnly = false, ReadOnlySpan<byte> metadataFill = default)
        => Open(path, format, formatRequested, out fresh, preferDirect, CreateRing, readOnly, metadataFill);

    /// <summary>As <see cref="Open(string, MediaFormatRecord, bool, out bool, bool, bool, ReadOnlySpan{byte})"/>, with the ring's creation injectable (tests of the fallback).</summary>
    internal static UringFileBackend Open(string path, MediaFormatRecord format, bool formatRequested, out bool fresh, bool preferDirect,
        Func<UringRing> createRing, bool readOnly = false, ReadOnlySpan<byte> metadataFill = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (readOnly && formatRequested)
            throw new ArgumentException($"'{path}': a read-only open (ro=1) cannot re-lay the image (format=1); drop one of them.", nameof(formatRequested));
        if (readOnly && !File.Exists(path))
            throw new FileNotFoundException($"'{path}' does not exist; a read-only open (ro=1) needs an existing image.", path);
        MediaFileIo io = MediaFileIo.Open(path, preferDirect, createRing, readOnly);
        UringFileBackend? backend = null;
        try
        {
            backend = new UringFileBackend(path, io, readOnly, preferDirect, createRing);
            fresh = backend.Attach(format, formatRequested, metadataFill);
            return backend;
        }
        catch
        {
            // A file this open created and could not lay out is not left behind (removed under the lock).
            if (io.Created && (backend is null || backend._io == io))
                MediaFiles.UnlinkQuietly(path);
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

    /// <summary>Checks or lays out the file (under its lock); returns true if it was (re)laid out.</summary>
    private bool Attach(MediaFormatRecord wanted, bool formatRequested, ReadOnlySpan<byte> metadataFill)
    {
        long length = _io.Buffered.Length;
        bool relay = length == 0 || formatRequested;
        bool recorded;
        MediaFormatRecord found;
        try
        {
            // Finish or undo a format that a crash interrupted, before anything reads the record.
            recorded = MediaFormatSidecar.Resolve(Path, _io.Inode, length, repair: !ReadOnly, out found);
        }
        catch (MediaFormatRecordDamagedException) when (relay && !ReadOnly)
        {
            recorded = false; // re-laying replaces the damaged record: format=1 is the way out it names
            found = default;
        }
        if (relay)
        {
            if (ReadOnly)
                throw new MediaFormatMismatchException($"'{Path}' is empty: a read-only open (ro=1) cannot lay it out. Open it once without ro=1 to create the image.");
            Reformat(wanted, metadataFill);
            return true;
        }
        string sidecar = MediaFormatSidecar.PathOf(Path);
        if (!recorded)
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
        LoadMirror();
        return false;
    }

    /// <summary>The metadata region in memory (<see cref="MetadataMirror"/>), or null (none, or too large).</summary>
    public MetadataMirror? Mirror => _mirror;

    /// <summary>Mirrors the metadata region of the file as it is now (an existing image being opened).</summary>
    private void LoadMirror()
    {
        _mirror?.Dispose();
        _mirror = MetadataMirror.For(_format);
        try
        {
            _mirror?.Load((offset, span) => _io.TransferBuffered(UringOpcode.Read, offset, span, MediaOperation.Read));
        }
        catch
        {
            DropMirror();
            throw;
        }
    }

    /// <summary>After a failed change of the metadata region: the mirror takes the file's bytes again, or goes (reads then use the file).</summary>
    private void ResyncMirror(long offset, long length)
    {
        if (_mirror is not { } mirror || !mirror.Covers(offset, length))
            return;
        try
        {
            for (long done = 0; done < length;)
            {
                int n = (int)Math.Min(length - done, 1 << 20);
                _io.TransferBuffered(UringOpcode.Read, offset + done, mirror.At(offset + done, n), MediaOperation.Read);
                done += n;
            }
        }
        catch (IOException)
        {
            DropMirror();
        }
    }

    private void DropMirror()
    {
        _mirror?.Dispose();
        _mirror = null;
    }

    /// <summary>The backing file.</summary>
    public string Path { get; }

    /// <summary>Opened read-only (ro=1): shared with other readers, never written.</summary>
    public bool ReadOnly { get; }

    /// <summary>True when block-aligned data bypasses the page cache (O_DIRECT).</summary>
    public bool IsDirect => _io.IsDirect;

    /// <summary>True when I/O goes through io_uring; false when it fell back to system calls.</summary>
    public bool UsesIoUring => _io.UsesIoUring;

    /// <summary>Why io_uring is not used (its setup error), or null.</summary>
    public string? FallbackReason => _io.FallbackReason;

    /// <summary>The buffered descriptor (metadata, unaligned data), for the media ring's registered files.</summary>
    public int BufferedFd => _io.Buffered.Fd;

    /// <summary>A page-cache write now, on the calling thread (<see cref="MediaFileIo.WriteBufferedNow"/>): the bytes written or a negated errno.</summary>
    public int WriteBufferedNow(byte* buffer, int length, long offset) => _io.WriteBufferedNow(buffer, length, offset);

    /// <summary>The O_DIRECT descriptor, or -1 when the file system has no O_DIRECT or direct=0.</summary>
    public int DirectFd => _io.DirectFd;

    /// <summary>The format the file is laid out for.</summary>
    public MediaFormatRecord Format => _format;

    /// <summary>Test seam: fails chosen file operations with an errno (see <see cref="MediaFileIo.InjectedFault"/>), formats included.</summary>
    internal Func<MediaOperation, long, int>? InjectedFault
    {
        get => _faults;
        set
        {
            _faults = value;
            _io.InjectedFault = value;
        }
    }

    /// <summary>Test seam: called before each step of a format; an exception fails that step.</summary>
    internal Action<FormatStep>? FormatStepHook { get; set; }

    /// <inheritdoc/>
    public long Length { get; private set; }

    /// <inheritdoc/>
    public bool RetainsData => true;

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> destination)
    {
        Check(offset, destination.Length);
        if (_mirror is { } mirror && mirror.Covers(offset, destination.Length))
        {
            mirror.At(offset, destination.Length).CopyTo(destination);
            return;
        }
        if (CanGoDirect(offset, destination.Length))
        {
            for (int done = 0; done < destination.Length; done += MediaFileIo.BounceSize)
            {
                int n = Math.Min(MediaFileIo.BounceSize, destination.Length - done);
                _io.TransferDirect(UringOpcode.ReadFixed, offset + done, n);
                _io.Bounce.Slice(0, n).CopyTo(destination[done..]);
            }
            return;
        }
        _io.TransferBuffered(UringOpcode.Read, offset, destination, MediaOperation.Read);
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        Check(offset, source.Length);
        CheckWritable();
        if (CanGoDirect(offset, source.Length))
        {
            for (int done = 0; done < source.Length; done += MediaFileIo.BounceSize)
            {
                int n = Math.Min(MediaFileIo.BounceSize, source.Length - done);
                source.Slice(done, n).CopyTo(_io.Bounce.Span);
                _io.TransferDirect(UringOpcode.WriteFixed, offset + done, n);
            }
            return;
        }
        try
        {
            _io.TransferBuffered(UringOpcode.Write, offset, source, MediaOperation.Write);
        }
        catch (IOException)
        {
            ResyncMirror(offset, source.Length);   // part of it may have reached the file
            throw;
        }
        if (_mirror is { } mirror && mirror.Covers(offset, source.Length))
            source.CopyTo(mirror.At(offset, source.Length));
    }

    /// <inheritdoc/>
    /// <remarks>Whole pages become holes (punch hole, keep size); the partial pages at the edges are written with zeros.</remarks>
    public void Zero(long offset, long length)
    {
        Check(offset, length);
        CheckWritable();
        try
        {
            ZeroFile(offset, length);
        }
        catch (IOException)
        {
            ResyncMirror(offset, length);
            throw;
        }
        if (_mirror is { } mirror && mirror.Covers(offset, length))
            for (long done = 0; done < length;)
            {
                int n = (int)Math.Min(length - done, int.MaxValue);
                mirror.At(offset + done, n).Clear();
                done += n;
            }
    }

    private void ZeroFile(long offset, long length)
    {
        long end = offset + length;
        long holeStart = (offset + Page - 1) / Page * Page;
        long holeEnd = end / Page * Page;
        if (_io.PunchSupported && holeEnd > holeStart && _io.TryPunchHole(holeStart, holeEnd - holeStart))
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
        if (!ReadOnly)
            _io.Sync();
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The new layout is built aside and committed by renames (<see cref="MediaFormatCommit"/>):
    /// until the commit the old image, its record and this backend's descriptors are untouched,
    /// so a failure leaves the old format and its data readable. The new image is locked before
    /// its name appears.
    /// </remarks>
    public void Reformat(MediaFormatRecord format, ReadOnlySpan<byte> metadataFill)
    {
        if (format.BlockCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(format), format.BlockCount, "a format needs at least one block.");
        CheckWritable();
        MediaFileIo laidOut = MediaFormatCommit.Run(Path, format, metadataFill, _preferDirect, _createRing, _faults, FormatStepHook);
        MediaFileIo old = _io;
        _io = laidOut;
        _format = format;
        Length = format.MediaLength;
        old.Dispose(); // the replaced image's inode and its lock go with it
        // Every block is deallocated: the mirror is the fill pattern, no read needed.
        _mirror?.Dispose();
        _mirror = MetadataMirror.For(format);
        _mirror?.Fill(metadataFill);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool CanGoDirect(long offset, int length) => _io.IsDirect && (offset | (long)length) % Page == 0;

    private void WriteZeros(long offset, long length)
    {
        while (length > 0)
        {
            int n = (int)Math.Min(length, (long)_zeros.Length);
            _io.TransferBuffered(UringOpcode.Write, offset, _zeros.Slice(0, n), MediaOperation.Zero);
            offset += n;
            length -= n;
        }
    }

    private void Check(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
            ThrowOutside(offset, length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckWritable()
    {
        if (ReadOnly)
            ThrowReadOnly();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowReadOnly()
        => throw new InvalidOperationException($"'{Path}' is open read-only (ro=1); the namespace refuses writes before they reach the media.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowOutside(long offset, long length)
        => throw new ArgumentOutOfRangeException(nameof(offset), $"media access 0x{offset:X}+0x{length:X} is outside the {Length}-byte media of '{Path}'.");

    /// <inheritdoc/>
    public void Dispose()
    {
        _io.Dispose(); // drains the ring before the buffers go away
        _zeros.Dispose();
        DropMirror();
    }
}
