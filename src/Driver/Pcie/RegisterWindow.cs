using System.Runtime.CompilerServices;

namespace PolledNvme.Queues;

/// <summary>
/// A controller's memory-mapped register window (BAR0, or the emulated controller's register
/// page). Every access is volatile: the device reads and writes this memory behind our back.
/// </summary>
public readonly unsafe struct RegisterWindow
{
    private readonly byte* _base;

    /// <summary>Length of the window in bytes.</summary>
    public int Length { get; }

    /// <summary>Wraps <paramref name="length"/> bytes of mapped register space at <paramref name="baseAddress"/>.</summary>
    public RegisterWindow(nint baseAddress, int length)
    {
        ArgumentOutOfRangeException.ThrowIfZero(baseAddress);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 0x1000);
        _base = (byte*)baseAddress;
        Length = length;
    }

    /// <summary>Reads a 32-bit register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Read32(int offset) => Volatile.Read(ref *(uint*)(_base + offset));

    /// <summary>Writes a 32-bit register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write32(int offset, uint value) => Volatile.Write(ref *(uint*)(_base + offset), value);

    /// <summary>Reads a 64-bit register as two 32-bit reads, low dword first (NVMe Base §3.1.2 allows either width).</summary>
    public ulong Read64(int offset) => Read32(offset) | ((ulong)Read32(offset + 4) << 32);

    /// <summary>Writes a 64-bit register as two 32-bit writes, low dword first.</summary>
    public void Write64(int offset, ulong value)
    {
        Write32(offset, (uint)value);
        Write32(offset + 4, (uint)(value >> 32));
    }

    /// <summary>Address of a 32-bit register, for doorbells that the hot path writes directly.</summary>
    internal uint* Pointer32(int offset) => (uint*)(_base + offset);
}
