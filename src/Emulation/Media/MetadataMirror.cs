using System.Runtime.InteropServices;

namespace PolledNvme.Emulation.Media;

/// <summary>
/// A copy in memory of an image's metadata region (all blocks' metadata, after all data), so a
/// read takes its metadata — the PI tuples it checks — without a media operation of its own:
/// a 4 KiB read of a PI namespace costs one file read, not two. The file stays the truth: every
/// change is written to the file first and copied here only for the bytes the file took, so the
/// two never differ (a failed write leaves both as they were; the crash-safety order of the
/// writes is the file's). Possible because an image has one writer, this device (the image
/// lock), and worth it while the region is small: up to <see cref="MaxBytes"/>, loaded once
/// when the image is opened or laid out. Used by the device thread only.
/// </summary>
internal sealed unsafe class MetadataMirror : IDisposable
{
    /// <summary>The largest metadata region mirrored (64 MiB: a 32 GiB image of 4 KiB + 8 B blocks); larger ones are read from the file.</summary>
    public const long MaxBytes = 64L << 20;

    private byte* _memory;

    private MetadataMirror(long offset, long length)
    {
        Offset = offset;
        Length = length;
        _memory = (byte*)NativeMemory.Alloc((nuint)length);
    }

    /// <summary>Where the metadata region starts in the file.</summary>
    public long Offset { get; }

    /// <summary>Bytes of the metadata region.</summary>
    public long Length { get; }

    /// <summary>A mirror for <paramref name="format"/>'s metadata region, or null when it has none or it is too large to mirror.</summary>
    public static MetadataMirror? For(MediaFormatRecord format)
    {
        long length = format.BlockCount * format.MetadataSize;
        if (length == 0 || length > MaxBytes)
            return null;
        try
        {
            return new MetadataMirror(format.MetadataOffset, length);
        }
        catch (OutOfMemoryException)
        {
            return null;   // an optimisation, not a need: the metadata is read from the file
        }
    }

    /// <summary>Whether [<paramref name="offset"/>, +<paramref name="length"/>) of the file lies in the metadata region.</summary>
    public bool Covers(long offset, long length) => offset >= Offset && length >= 0 && offset - Offset <= Length - length;

    /// <summary>The mirrored bytes of [<paramref name="offset"/>, +<paramref name="length"/>) of the file (inside the region).</summary>
    public Span<byte> At(long offset, int length) => new(_memory + (offset - Offset), length);

    /// <summary>Fills the whole mirror with <paramref name="pattern"/> repeated (a freshly laid out image).</summary>
    public void Fill(ReadOnlySpan<byte> pattern)
    {
        for (long done = 0; done < Length;)
        {
            int n = (int)Math.Min(Length - done, (1L << 30) / Math.Max(pattern.Length, 1) * Math.Max(pattern.Length, 1));
            var chunk = new Span<byte>(_memory + done, n);
            if (pattern.IsEmpty || !pattern.ContainsAnyExcept((byte)0))
                chunk.Clear();
            else
                MediaLayout.Repeat(pattern, chunk);
            done += n;
        }
    }

    /// <summary>Loads the region from the file (<paramref name="read"/> reads file bytes at an offset), in slices of 1 MiB.</summary>
    public void Load(Action<long, Span<byte>> read)
    {
        for (long done = 0; done < Length;)
        {
            int n = (int)Math.Min(Length - done, 1 << 20);
            read(Offset + done, new Span<byte>(_memory + done, n));
            done += n;
        }
    }

    /// <summary>Frees the memory.</summary>
    public void Dispose()
    {
        if (_memory != null)
        {
            NativeMemory.Free(_memory);
            _memory = null;
        }
    }
}
