using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace PolledNvme.Queues;

/// <summary>
/// A block of locked host memory that a controller can reach at <see cref="Iova"/>. The bytes
/// are IOVA-contiguous (they never straddle two separately mapped chunks). Each
/// <see cref="DmaAllocator.Allocate(int)"/> returns a new handle over a pooled slot of memory; once
/// disposed, a handle stays dead for good, even after its slot was handed out again, so a
/// stale reference can never reach the slot's next owner. A command holds a lease on the
/// buffers it uses: <see cref="Dispose"/> while a command is outstanding only marks the buffer
/// disposed, and its memory goes back to the pool when the last such command completes.
/// </summary>
public sealed unsafe class DmaBuffer : IDisposable
{
    // _state: bit 31 = disposed, bits 0..30 = leases (commands using the memory). One int so
    // taking a lease can be refused atomically once disposed, and exactly one party (the
    // Dispose that saw no lease, or the release that saw "disposed, last lease") returns the slot.
    private const int DisposedBit = int.MinValue;
    private readonly DmaAllocator? _allocator;
    private readonly byte* _pointer;
    private int _state;

    internal DmaBuffer(DmaAllocator? allocator, nint pointer, int length, int capacity, ulong iova, int sizeClass)
    {
        _allocator = allocator;
        _pointer = (byte*)pointer;
        Length = length;
        Capacity = capacity;
        Iova = iova;
        SizeClass = sizeClass;
    }

    /// <summary>
    /// A buffer over memory that no allocator owns and whose IOVA is whatever the caller says.
    /// Tests use it to show that the driver refuses memory no controller was given.
    /// </summary>
    internal static DmaBuffer CreateUnowned(nint pointer, int length, ulong iova) => new(null, pointer, length, length, iova, -1);

    /// <summary>The allocator whose memory this is (null for <see cref="CreateUnowned"/>): the driver compares it with its controller's.</summary>
    internal DmaAllocator? Allocator => _allocator;

    /// <summary>Size class of the slot (its capacity is 2^SizeClass); -1 for a dedicated large region.</summary>
    internal int SizeClass { get; }

    /// <summary>Host address of the slot, for the allocator (valid after Dispose, unlike <see cref="Pointer"/>).</summary>
    internal nint SlotAddress => (nint)_pointer;

    /// <summary>Commands currently holding the memory (tests and diagnostics).</summary>
    internal int Leases => Volatile.Read(ref _state) & int.MaxValue;

    /// <summary>Usable bytes (what was asked for).</summary>
    public int Length { get; }

    /// <summary>Bytes reserved for the buffer, at least <see cref="Length"/>.</summary>
    public int Capacity { get; }

    /// <summary>The I/O virtual address of the first byte, as the device sees it.</summary>
    public ulong Iova { get; }

    /// <summary>Host address of the first byte.</summary>
    /// <exception cref="ObjectDisposedException">The buffer was disposed (or its allocator was).</exception>
    public nint Pointer
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get { ThrowIfDisposed(); return (nint)_pointer; }
    }

    /// <summary>The buffer's bytes.</summary>
    /// <exception cref="ObjectDisposedException">The buffer was disposed (or its allocator was).</exception>
    public Span<byte> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get { ThrowIfDisposed(); return new Span<byte>(_pointer, Length); }
    }

    /// <summary>
    /// True after <see cref="Dispose"/> (or after its allocator was disposed), even while a
    /// command that was submitted before still holds its memory.
    /// </summary>
    public bool IsDisposed => Volatile.Read(ref _state) < 0;

    /// <summary>IOVA of the byte at <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong IovaAt(int offset) => Iova + (ulong)offset;

    /// <summary>Zeroes the buffer.</summary>
    public void Clear() => Span.Clear();

    /// <summary>
    /// Gives the buffer up: this handle is dead from now on. The memory goes back to the
    /// allocator's pool now, or, when commands submitted with this buffer are still
    /// outstanding, when the last of them completes (or is failed by a reset or the queue
    /// pair's disposal); until then it stays theirs. Never throws; a second call does nothing.
    /// May be called from any thread.
    /// </summary>
    public void Dispose()
    {
        int before = Interlocked.Or(ref _state, DisposedBit);
        if (before == 0)
            _allocator?.Return(this);
    }

    /// <summary>
    /// Takes a lease for one command: false when the buffer is disposed (no lease is taken
    /// then). One compare-and-swap when uncontended; safe against <see cref="Dispose"/> and
    /// other leases on any thread.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryAcquireLease()
    {
        int state = _state;
        return (state >= 0 && Interlocked.CompareExchange(ref _state, state + 1, state) == state) || TryAcquireLeaseSlow();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryAcquireLeaseSlow()
    {
        while (true)
        {
            int state = Volatile.Read(ref _state);
            if (state < 0)
                return false;
            if (Interlocked.CompareExchange(ref _state, state + 1, state) == state)
                return true;
        }
    }

    /// <summary>
    /// Ends a lease taken by <see cref="TryAcquireLease"/> once the device is done with the
    /// memory; the release that leaves a disposed buffer without leases returns its slot.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void ReleaseLease()
    {
        int after = Interlocked.Decrement(ref _state);
        Debug.Assert((after & int.MaxValue) != int.MaxValue, "lease released that was never taken");
        if (after == DisposedBit)
            _allocator?.Return(this);
    }

    /// <summary>Called by the allocator when its memory goes away: every later access throws; nothing is returned.</summary>
    internal void Kill() => Interlocked.Or(ref _state, DisposedBit);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfDisposed()
    {
        if (_state < 0)
            ThrowDisposed();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(DmaBuffer), "The DMA buffer was disposed (its memory went back to the pool, or its allocator was disposed); allocate a new one.");
}
