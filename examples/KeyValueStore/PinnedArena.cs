using PolledNvme.Driver;
using PolledNvme.Queues;

namespace PolledNvme.Examples.KeyValueStore;

/// <summary>
/// The application's own memory, handed to the driver once: a pinned array registered with the
/// controller (<see cref="DmaAllocator.Register"/>), carved into block-sized slices at offsets.
/// Operations take a slice and give it back; none is allocated per operation. Used on the event
/// loop's thread only.
/// </summary>
public sealed class PinnedArena : IDisposable
{
    private readonly byte[] _memory;
    private readonly DmaBuffer _registered;
    private readonly DmaBuffer[] _slices;
    private readonly Stack<DmaBuffer> _free;

    /// <summary>Pins <paramref name="slices"/> × <paramref name="sliceSize"/> bytes (page aligned) and registers them with <paramref name="controller"/>.</summary>
    public PinnedArena(NvmeController controller, int slices, int sliceSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slices, 1);
        int bytes = checked(slices * sliceSize);
        int pages = (bytes + 4095) / 4096;
        _memory = GC.AllocateArray<byte>((pages + 1) * 4096, pinned: true);   // one spare page: the aligned part starts inside it
        _registered = controller.Memory.Register(DmaAllocator.PageAlignedPart(_memory)[..(pages * 4096)]);
        _slices = new DmaBuffer[slices];
        _free = new Stack<DmaBuffer>(slices);
        for (int i = slices - 1; i >= 0; i--)
        {
            _slices[i] = _registered.Slice(i * sliceSize, sliceSize);
            _free.Push(_slices[i]);
        }
    }

    /// <summary>Slices free now.</summary>
    public int Available => _free.Count;

    /// <summary>Takes a free slice, or null when every slice is in use (the caller waits: back-pressure).</summary>
    public DmaBuffer? TryTake() => _free.TryPop(out DmaBuffer? slice) ? slice : null;

    /// <summary>Gives a slice back.</summary>
    public void Return(DmaBuffer slice) => _free.Push(slice);

    /// <summary>Releases the slices and the registration (the driver keeps the memory mapped until in-flight I/O on it completed).</summary>
    public void Dispose()
    {
        foreach (DmaBuffer slice in _slices)
            slice.Dispose();
        _registered.Dispose();
    }
}
