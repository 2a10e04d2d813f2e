using System.Runtime.InteropServices;

namespace PolledNvme.Tests.Protection;

/// <summary>Native memory aligned to 64 bytes, so tests can place data at every cache-line offset.</summary>
public sealed unsafe class AlignedBuffer : IDisposable
{
    private byte* _pointer;
    private readonly int _length;

    public AlignedBuffer(int length)
    {
        _length = length;
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)length, 64);
    }

    public Span<byte> Span => new(_pointer, _length);

    public void Dispose()
    {
        NativeMemory.AlignedFree(_pointer);
        _pointer = null;
    }
}
