using System.Buffers;
using System.Runtime.InteropServices;

namespace PolledNvme.Tests.Driver.Memory;

/// <summary>
/// Application memory as a <see cref="MemoryManager{T}"/> over page-aligned native pages, which
/// counts its pins (so a test can see when the driver lets go of it). With
/// <c>pinnable: false</c> its Pin gives no address, as a manager over memory that moves would.
/// </summary>
internal sealed unsafe class NativePages(int pages, bool pinnable = true) : MemoryManager<byte>
{
    private readonly byte* _memory = (byte*)NativeMemory.AlignedAlloc((nuint)pages * 4096, 4096);
    private readonly int _length = pages * 4096;

    public int Pins { get; private set; }

    public override Span<byte> GetSpan() => new(_memory, _length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        if (!pinnable)
            return default;
        Pins++;
        return new MemoryHandle(_memory + elementIndex, default, this);
    }

    public override void Unpin() => Pins--;

    protected override void Dispose(bool disposing) => NativeMemory.AlignedFree(_memory);
}
