namespace PolledNvme.Protection;

/// <summary>
/// Moves block data between a host buffer that holds data only and a DMA buffer in either
/// layout. Shared by the PI engine's copy operations and by formats without PI. Calls that
/// move at least <see cref="StreamingThresholdBytes"/> stream their stores
/// (<see cref="StreamingCopy"/>) and must end with <see cref="StreamingCopy.Fence"/>.
/// </summary>
internal static class PiBlockCopy
{
    /// <summary>
    /// From this many bytes per call on, the copy streams: the destination would not stay in
    /// a core's L2 (1 MiB on the target machine) anyway, and streaming saves the
    /// read-for-ownership of every destination line, as a large memcpy does. Smaller copies
    /// leave the destination in cache for whoever reads it next (the controller, the host).
    /// </summary>
    public const int StreamingThresholdBytes = 1 << 20;

    private static readonly byte[] s_zeros = new byte[4096];

    /// <summary>Zero bytes, e.g. to continue a CRC over zeroed metadata in pieces.</summary>
    public static ReadOnlySpan<byte> Zeros => s_zeros;

    /// <summary>Whether a call moving <paramref name="blockCount"/> blocks of <paramref name="format"/> streams its stores.</summary>
    public static bool Streams(ProtectionFormat format, int blockCount)
        => (long)blockCount * format.BlockSize >= StreamingThresholdBytes;

    /// <summary>Copies every block in (see <see cref="CopyIn"/>), streaming when large, fenced.</summary>
    public static void CopyAllIn(ProtectionFormat format, bool interleaved, ReadOnlySpan<byte> hostData,
        Span<byte> dmaData, Span<byte> dmaMetadata, int blockCount)
    {
        bool streaming = Streams(format, blockCount);
        CopyIn(format, interleaved, hostData, dmaData, dmaMetadata, 0, blockCount, streaming);
        if (streaming)
            StreamingCopy.Fence();
    }

    /// <summary>Copies every block out (see <see cref="CopyOut"/>), streaming when large, fenced.</summary>
    public static void CopyAllOut(ProtectionFormat format, bool interleaved, ReadOnlySpan<byte> dmaData, Span<byte> hostData, int blockCount)
    {
        bool streaming = Streams(format, blockCount);
        CopyOut(format, interleaved, dmaData, hostData, 0, blockCount, streaming);
        if (streaming)
            StreamingCopy.Fence();
    }

    /// <summary>
    /// Copies blocks [first, first+count) of <paramref name="hostData"/> into the DMA layout and
    /// zeroes their metadata (the tuple, if any, is written afterwards).
    /// </summary>
    public static void CopyIn(ProtectionFormat format, bool interleaved, ReadOnlySpan<byte> hostData,
        Span<byte> dmaData, Span<byte> dmaMetadata, int first, int count, bool streaming)
    {
        int blockSize = format.BlockSize, metadataSize = format.MetadataSize;
        if (interleaved)
        {
            int extended = format.ExtendedBlockSize;
            for (int i = first; i < first + count; i++)
            {
                Span<byte> block = dmaData.Slice(i * extended, extended);
                Copy(hostData.Slice(i * blockSize, blockSize), block, streaming);
                block.Slice(blockSize).Clear();
            }
        }
        else
        {
            Copy(hostData.Slice(first * blockSize, count * blockSize), dmaData.Slice(first * blockSize), streaming);
            dmaMetadata.Slice(first * metadataSize, count * metadataSize).Clear();
        }
    }

    /// <summary>Copies the data of blocks [first, first+count) from the DMA layout to a data-only buffer.</summary>
    public static void CopyOut(ProtectionFormat format, bool interleaved, ReadOnlySpan<byte> dmaData,
        Span<byte> hostData, int first, int count, bool streaming)
    {
        int blockSize = format.BlockSize;
        if (interleaved)
        {
            int extended = format.ExtendedBlockSize;
            for (int i = first; i < first + count; i++)
                Copy(dmaData.Slice(i * extended, blockSize), hostData.Slice(i * blockSize), streaming);
        }
        else
        {
            Copy(dmaData.Slice(first * blockSize, count * blockSize), hostData.Slice(first * blockSize), streaming);
        }
    }

    private static void Copy(ReadOnlySpan<byte> source, Span<byte> destination, bool streaming)
    {
        if (streaming)
            StreamingCopy.Copy(source, destination);
        else
            source.CopyTo(destination);
    }
}
