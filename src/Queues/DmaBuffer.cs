using System.Runtime.CompilerServices;

namespace PolledNvme.Queues;

/// <summary>
/// A block of locked host memory that a controller can reach at <see cref="Iova"/>. The bytes
/// are IOVA-contiguous (they never straddle two separately mapped chunks). Comes from a
/// <see cref="DmaAllocator"/> and goes back to its pool on <see cref="Dispose"/>.
/// </summary>
public sealed unsafe class DmaBuffer : IDisposable
{
    private DmaAllocator? _owner;
    private readonly byte* _pointer;

    /// <summary>Size class this buffer belongs to (its capacity); -1 for a dedicated large region.</summary>
    internal int SizeClass { get; }

    /// <summary>Usable bytes (what was asked for).</summary>
    public int Length { get; internal set; }

    /// <summary>Bytes reserved for the buffer, at least <see cref="Length"/>.</summary>
    public int Capacity { get; }

    /// <summary>The I/O virtual address of the first byte, as the device sees it.</summary>
    public ulong Iova { get; }

    internal DmaBuffer(DmaAllocator? owner, nint pointer, int capacity, ulong iova, int sizeClass)
    {
        _owner = owner;
        _pointer = (byte*)pointer;
        Capacity = capacity;
        Length = capacity;
        Iova = iova;
        SizeClass = sizeClass;
    }

    /// <summary>
    /// A buffer over memory that no allocator owns and whose IOVA is whatever the caller says.
    /// Tests use it to hand the controller an address it has not been given.
    /// </summary>
    internal static DmaBuffer CreateUnowned(nint pointer, int length, ulong iova) => new(null, pointer, length, iova, -1) { _unowned = true };

    private bool _unowned;

    /// <summary>Host address of the first byte.</summary>
    public nint Pointer
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get { ThrowIfDisposed(); return (nint)_pointer; }
    }

    /// <summary>The buffer's bytes.</summary>
    public Span<byte> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get { ThrowIfDisposed(); return new Span<byte>(_pointer, Length); }
    }

    /// <summary>True after <see cref="Dispose"/> (or after its allocator was disposed).</summary>
    public bool IsDisposed => _owner is null && !_unowned;

    /// <summary>IOVA of the byte at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong IovaAt(int offset) => Iova + (ulong)offset;

    /// <summary>Zeroes the buffer.</summary>
    public void Clear() => Span.Clear();

    /// <summary>Returns the buffer to its allocator's pool. Do not touch it afterwards.</summary>
    public void Dispose()
    {
        DmaAllocator? owner = _owner;
        if (owner is null)
            return;
        _owner = null;
        owner.Return(this);
    }

    /// <summary>Called by the allocator when it hands the pooled buffer out again.</summary>
    internal void Revive(DmaAllocator owner, int length)
    {
        _owner = owner;
        Length = length;
    }

    /// <summary>Called by the allocator when its memory goes away: every later access throws.</summary>
    internal void Kill() => _owner = null;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfDisposed()
    {
        if (_owner is null && !_unowned)
            ThrowDisposed();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(DmaBuffer), "The DMA buffer was returned to its pool (or its allocator was disposed).");
}
