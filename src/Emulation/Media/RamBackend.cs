using System.Runtime.InteropServices;

namespace PolledNvme.Emulation.Media;

/// <summary>Media in native memory. Allocated zeroed (calloc), so untouched pages cost nothing.</summary>
internal sealed unsafe class RamBackend : IMediaBackend
{
    private byte* _memory;

    /// <summary>Allocates the media for <paramref name="format"/>, every block deallocated (<paramref name="metadataFill"/> repeated).</summary>
    public RamBackend(MediaFormatRecord format, ReadOnlySpan<byte> metadataFill) => Reformat(format, metadataFill);

    /// <inheritdoc/>
    public long Length { get; private set; }

    /// <inheritdoc/>
    public bool RetainsData => true;


    /// <summary>The media bytes at <paramref name="offset"/> in place (the data path reads and writes RAM media without a copy).</summary>
    public Span<byte> Span(long offset, int length) => new(At(offset, length), length);

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> destination) => new ReadOnlySpan<byte>(At(offset, destination.Length), destination.Length).CopyTo(destination);

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> source) => source.CopyTo(new Span<byte>(At(offset, source.Length), source.Length));

    /// <inheritdoc/>
    public void Zero(long offset, long length) => NativeMemory.Clear(At(offset, length), (nuint)length);

    /// <inheritdoc/>
    public void Flush() { }

    /// <inheritdoc/>
    /// <remarks>The new memory is allocated and filled before the old is freed, so a failed allocation changes nothing.</remarks>
    public void Reformat(MediaFormatRecord format, ReadOnlySpan<byte> metadataFill)
    {
        long length = format.MediaLength;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        byte* memory;
        try
        {
            memory = (byte*)NativeMemory.AllocZeroed((nuint)length);
        }
        catch (OutOfMemoryException)
        {
            // A media failure like any other: the command fails, the device and the old media live on.
            throw new MediaIoException(MediaOperation.Layout, PolledNvme.Uring.Errno.ENOMEM, "RAM", 0, length, $"allocating {length} bytes of");
        }
        long metadataBytes = format.BlockCount * format.MetadataSize;
        if (metadataBytes != 0 && metadataFill.ContainsAnyExcept((byte)0))
        {
            // In slices of at most 1 GiB: a span holds at most 2^31-1 bytes.
            for (long done = 0; done < metadataBytes;)
            {
                int n = (int)Math.Min(metadataBytes - done, (1L << 30) / metadataFill.Length * metadataFill.Length);
                MediaLayout.Repeat(metadataFill, new Span<byte>(memory + format.MetadataOffset + done, n));
                done += n;
            }
        }
        Free();
        _memory = memory;
        Length = length;
    }

    private byte* At(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"media access 0x{offset:X}+0x{length:X} is outside the {Length}-byte RAM backend.");
        return _memory + offset;
    }

    private void Free()
    {
        if (_memory != null)
        {
            NativeMemory.Free(_memory);
            _memory = null;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => Free();
}
