using System.Runtime.InteropServices;

namespace PolledNvme.Uring;

/// <summary>
/// Native memory with a chosen alignment (O_DIRECT needs block-aligned buffers), zeroed,
/// freed on dispose. Allocated at setup, never per I/O.
/// </summary>
public sealed unsafe class AlignedBuffer : IDisposable
{
    /// <summary>Allocates <paramref name="length"/> bytes aligned to <paramref name="alignment"/> (a power of two).</summary>
    public AlignedBuffer(nuint length, nuint alignment = 4096)
    {
        if (length == 0)
            throw new ArgumentOutOfRangeException(nameof(length), "An aligned buffer must have at least one byte.");
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "The alignment must be a power of two.");
        _memory = (byte*)NativeMemory.AlignedAlloc(length, alignment);
        Length = length;
        NativeMemory.Clear(_memory, length);
    }

    private byte* _memory;

    /// <summary>Address of the first byte (for the kernel: SQEs, registration); 0 after dispose.</summary>
    public nint Pointer => (nint)_memory;

    /// <summary>Size in bytes.</summary>
    public nuint Length { get; }

    /// <summary>The whole buffer as a span.</summary>
    public Span<byte> Span => new(_memory, checked((int)Length));

    /// <summary>A slice as a span.</summary>
    public Span<byte> Slice(int offset, int length) => Span.Slice(offset, length);

    /// <summary>The buffer as an iovec, for registration.</summary>
    public IoVec AsIoVec() => new() { Base = Pointer, Length = Length };

    /// <summary>Frees the memory; the kernel must no longer be using it.</summary>
    public void Dispose()
    {
        if (_memory != null)
        {
            NativeMemory.AlignedFree(_memory);
            _memory = null;
        }
    }
}
