namespace PolledNvme.Protection;

/// <summary>
/// Moves block data between a host buffer that holds data only and a DMA buffer in either
/// layout. Shared by the PI engine's copy operations and by formats without PI.
/// </summary>
internal static class PiBlockCopy
{
    /// <summary>
    /// Copies blocks [first, first+count) of <paramref name="hostData"/> into the DMA layout and
    /// zeroes their metadata (the tuple, if any, is written afterwards).
    /// </summary>
    public static void CopyIn(ProtectionFormat format, bool interleaved, ReadOnlySpan<byte> hostData,
        Span<byte> dmaData, Span<byte> dmaMetadata, int first, int count)
    {
        int blockSize = format.BlockSize, metadataSize = format.MetadataSize;
        if (interleaved)
        {
            int extended = format.ExtendedBlockSize;
            for (int i = first; i < first + count; i++)
            {
                Span<byte> block = dmaData.Slice(i * extended, extended);
                hostData.Slice(i * blockSize, blockSize).CopyTo(block);
                block.Slice(blockSize).Clear();
            }
        }
        else
        {
            hostData.Slice(first * blockSize, count * blockSize).CopyTo(dmaData.Slice(first * blockSize));
            dmaMetadata.Slice(first * metadataSize, count * metadataSize).Clear();
        }
    }

    /// <summary>Copies the data of blocks [first, first+count) from the DMA layout to a data-only buffer.</summary>
    public static void CopyOut(ProtectionFormat format, bool interleaved, ReadOnlySpan<byte> dmaData,
        Span<byte> hostData, int first, int count)
    {
        int blockSize = format.BlockSize;
        if (interleaved)
        {
            int extended = format.ExtendedBlockSize;
            for (int i = first; i < first + count; i++)
                dmaData.Slice(i * extended, blockSize).CopyTo(hostData.Slice(i * blockSize));
        }
        else
        {
            dmaData.Slice(first * blockSize, count * blockSize).CopyTo(hostData.Slice(first * blockSize));
        }
    }
}
