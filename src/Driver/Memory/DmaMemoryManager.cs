using System.Buffers;

namespace PolledNvme.Queues;

/// <summary>
/// <see cref="Memory{T}"/> over a <see cref="DmaBuffer"/>, for APIs that take
/// <c>Memory&lt;byte&gt;</c> (streams, sockets, pipelines). Reading <c>Span</c> of a disposed
/// buffer's memory throws as the buffer does. <see cref="Pin"/> takes a lease like a command,
/// so memory pinned by a caller (a pointer handed to native code) stays theirs until the
/// handle is disposed, even if the buffer is disposed meanwhile.
/// </summary>
internal sealed unsafe class DmaMemoryManager : MemoryManager<byte>
{
    private readonly DmaBuffer _buffer;

    public DmaMemoryManager(DmaBuffer buffer) => _buffer = buffer;

    public override Span<byte> GetSpan() => _buffer.Span;

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        if ((uint)elementIndex > (uint)_buffer.Length)
            throw new ArgumentOutOfRangeException(nameof(elementIndex), $"0..{_buffer.Length} in this {_buffer.Length}-byte DMA buffer; got {elementIndex}.");
        if (!_buffer.TryAcquireLease())
            throw new ObjectDisposedException(nameof(DmaBuffer), "The DMA buffer was disposed; its memory cannot be pinned.");
        return new MemoryHandle((byte*)_buffer.SlotAddress + elementIndex, default, this);
    }

    public override void Unpin() => _buffer.ReleaseLease();

    // The DmaBuffer owns the memory; nothing to free here.
    protected override void Dispose(bool disposing)
    {
    }
}
