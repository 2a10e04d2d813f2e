using System.Runtime.InteropServices;

namespace PolledNvme.Driver.Emulated.Media;

/// <summary>Media in native memory. Allocated zeroed (calloc), so untouched pages cost nothing.</summary>
internal sealed unsafe class RamBackend : IMediaBackend
{
    private byte* _memory;

    /// <summary>Allocates <paramref name="length"/> zero bytes.</summary>
    public RamBackend(long length) => Allocate(length);

    /// <inheritdoc/>
    public long Length { get; private set; }

    /// <inheritdoc/>
    public bool RetainsData => true;

    private void Allocate(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        _memory = (byte*)NativeMemory.AllocZeroed((nuint)length);
        Length = length;
    }

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> destination) => new ReadOnlySpan<byte>(At(offset, destination.Length), destination.Length).CopyTo(destination);

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> source) => source.CopyTo(new Span<byte>(At(offset, source.Length), source.Length));

    /// <inheritdoc/>
    public void Zero(long offset, long length) => NativeMemory.Clear(At(offset, length), (nuint)length);

    /// <inheritdoc/>
    public void Flush() { }

    /// <inheritdoc/>
    public void Reset(long length)
    {
        Free();
        Allocate(length);
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
