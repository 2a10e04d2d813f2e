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
/// <see cref="Slice"/> gives views of part of a buffer (an arena carved once, I/O at offsets
/// inside it) that lease the whole buffer's memory.
/// </summary>
public sealed unsafe class DmaBuffer : IDisposable
{
    // _state: bit 31 = disposed, bits 0..30 = leases (commands using the memory). One int so
    // taking a lease can be refused atomically once disposed, and exactly one party (the
    // Dispose that saw no lease, or the release that saw "disposed, last lease") returns the slot.
    private const int DisposedBit = int.MinValue;
    private readonly DmaAllocator? _allocator;
    private readonly byte* _pointer;
    // The allocated buffer whose memory a slice views (null for an allocated buffer): leases
    // and disposal of the memory are the root's; a slice's own _state only marks the handle dead.
    private readonly DmaBuffer? _root;
    private int _state;
    private DmaMemoryManager? _memory;

    internal DmaBuffer(DmaAllocator? allocator, nint pointer, int length, int capacity, ulong iova, int sizeClass)
    {
        _allocator = allocator;
        _pointer = (byte*)pointer;
        Length = length;
        Capacity = capacity;
        Iova = iova;
        SizeClass = sizeClass;
    }

    private DmaBuffer(DmaBuffer root, byte* pointer, int length, ulong iova)
    {
        _root = root;
        _allocator = root._allocator;
        _pointer = pointer;
        Length = length;
        Capacity = length;
        Iova = iova;
        SizeClass = -1;
    }

    /// <summary>
    /// A buffer over memory that no allocator owns and whose IOVA is whatever the caller says.
    /// Tests use it to show that the driver refuses memory no controller was given.
    /// </summary>
    internal static DmaBuffer CreateUnowned(nint pointer, int length, ulong iova) => new(null, pointer, length, length, iova, -1);

    /// <summary>The allocator whose memory this is (null for <see cref="CreateUnowned"/>): the driver compares it with its controller's.</summary>
    internal DmaAllocator? Allocator => _allocator;

    /// <summary>Size class of the slot (its capacity is 2^SizeClass); -1 for a dedicated large region, -2 for registered application memory.</summary>
    internal int SizeClass { get; }

    /// <summary>Host address of the slot, for the allocator (valid after Dispose, unlike <see cref="Pointer"/>).</summary>
    internal nint SlotAddress => (nint)_pointer;

    /// <summary>Commands currently holding the memory (tests and diagnostics; a slice reports its root's).</summary>
    internal int Leases => _root?.Leases ?? Volatile.Read(ref _state) & int.MaxValue;

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
    /// The buffer's bytes as <see cref="Memory{T}"/>, for APIs that take it. Made on first use
    /// and kept, so reading it again allocates nothing. Its <c>Span</c> throws
    /// <see cref="ObjectDisposedException"/> once the buffer is disposed; <c>Pin()</c> leases the
    /// memory until the handle is disposed (as a command does).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public Memory<byte> Memory
    {
        get
        {
            ThrowIfDisposed();
            return (_memory ??= new DmaMemoryManager(this)).Memory;
        }
    }

    /// <summary>
    /// True after <see cref="Dispose"/> (or after its allocator was disposed), even while a
    /// command that was submitted before still holds its memory.
    /// </summary>
    public bool IsDisposed => Volatile.Read(ref _state) < 0 || (_root is not null && _root.IsDisposed);

    /// <summary>
    /// A view of <paramref name="length"/> bytes at <paramref name="offset"/>: a buffer like any
    /// other for commands (its own <see cref="Iova"/>, <see cref="Span"/> and
    /// <see cref="Length"/>, which bounds what a command may transfer), over this buffer's
    /// memory. Slice an arena once and reuse the slices: a slice is an object, but using it
    /// allocates nothing. A command on a slice leases the whole buffer, so disposing the buffer
    /// while that command is outstanding keeps the memory the command's. Disposing a slice kills
    /// only that handle; disposing the buffer kills every slice of it.
    /// </summary>
    /// <param name="offset">Start of the view; a multiple of 4, as a DMA address must be (PRP entries are dword aligned).</param>
    /// <param name="length">Bytes in the view, at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the buffer, or <paramref name="offset"/> is not a multiple of 4.</exception>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public DmaBuffer Slice(int offset, int length)
    {
        ThrowIfDisposed();
        if ((uint)offset >= (uint)Length || (offset & 3) != 0)
            throw new ArgumentOutOfRangeException(nameof(offset),
                $"A slice starts inside the buffer at a multiple of 4 bytes (DMA addresses are dword aligned): 0..{Length - 1}; got {offset}.");
        if (length <= 0 || length > Length - offset)
            throw new ArgumentOutOfRangeException(nameof(length),
                $"A slice at offset {offset} of this {Length}-byte buffer holds 1..{Length - offset} bytes; got {length}.");
        return new DmaBuffer(_root ?? this, _pointer + offset, length, Iova + (ulong)offset);
    }

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
    /// May be called from any thread. On a <see cref="Slice"/> it kills only that handle: the
    /// memory stays the buffer's.
    /// </summary>
    public void Dispose()
    {
        if (_root is not null)
        {
            Interlocked.Or(ref _state, DisposedBit);   // the memory is the root's
            return;
        }
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
        if (_root is not null)
            return _state >= 0 && _root.TryAcquireLease();
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
        if (_root is not null)
        {
            _root.ReleaseLease();
            return;
        }
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
        if (_state < 0 || (_root is not null && _root._state < 0))
            ThrowDisposed();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(DmaBuffer), "The DMA buffer was disposed (its memory went back to the pool, or its allocator was disposed); allocate a new one.");
}
