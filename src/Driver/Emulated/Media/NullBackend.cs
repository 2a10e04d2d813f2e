namespace PolledNvme.Driver.Emulated.Media;

/// <summary>Stores nothing: writes vanish, reads return zeros. For measuring the stack's own overhead.</summary>
internal sealed class NullBackend(long length) : IMediaBackend
{
    /// <inheritdoc/>
    public long Length { get; private set; } = length;

    /// <inheritdoc/>
    public bool RetainsData => false;

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> destination) => destination.Clear();

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> source) { }

    /// <inheritdoc/>
    public void Zero(long offset, long length) { }

    /// <inheritdoc/>
    public void Flush() { }

    /// <inheritdoc/>
    public void Reformat(MediaFormatRecord format, ReadOnlySpan<byte> metadataFill) => Length = format.MediaLength;

    /// <inheritdoc/>
    public void Dispose() { }
}
