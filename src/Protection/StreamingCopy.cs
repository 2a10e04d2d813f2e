using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PolledNvme.Protection;

/// <summary>
/// Memory copy with non-temporal (streaming) stores, for copies much larger than the cache:
/// the destination lines are written straight to memory, without first being read into the
/// cache (no read-for-ownership) and without evicting data that is still in use. This is how
/// a large memcpy moves data, and what lets the PI copy operations keep up with one.
/// </summary>
/// <remarks>
/// Only whole, aligned 64-byte destination lines are streamed; the partial lines at either end
/// are copied normally, so lines shared with neighbouring metadata are never half streamed.
/// Streaming stores are weakly ordered: call <see cref="Fence"/> before the destination is
/// handed to anyone else (a device, another thread).
/// </remarks>
internal static unsafe class StreamingCopy
{
    private const int LineSize = 64;

    /// <summary>Copies <paramref name="source"/> to the start of <paramref name="destination"/> (which is at least as long).</summary>
    public static void Copy(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        int length = source.Length;
        if (destination.Length < length)
            throw new ArgumentException($"The destination ({destination.Length} bytes) is shorter than the source ({length} bytes).", nameof(destination));
        if (length == 0)
            return;
        fixed (byte* from = source)
        fixed (byte* to = destination)
        {
            int head = (int)((LineSize - ((nuint)to % LineSize)) % LineSize);
            if (head >= length)
            {
                Buffer.MemoryCopy(from, to, length, length);
                return;
            }
            Buffer.MemoryCopy(from, to, head, head);
            int offset = head;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; offset + LineSize <= length; offset += LineSize)
                    Vector512.StoreAlignedNonTemporal(Vector512.Load(from + offset), to + offset);
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                for (; offset + LineSize <= length; offset += LineSize)
                {
                    Vector256.StoreAlignedNonTemporal(Vector256.Load(from + offset), to + offset);
                    Vector256.StoreAlignedNonTemporal(Vector256.Load(from + offset + 32), to + offset + 32);
                }
            }
            else
            {
                for (; offset + 16 <= length; offset += 16)
                    Vector128.StoreAlignedNonTemporal(Vector128.Load(from + offset), to + offset);
            }
            Buffer.MemoryCopy(from + offset, to + offset, length - offset, length - offset);
        }
    }

    /// <summary>Orders the streaming stores before every later store (SFENCE); a no-op where stores are not streamed.</summary>
    public static void Fence()
    {
        if (Sse.IsSupported)
            Sse.StoreFence();
    }
}
