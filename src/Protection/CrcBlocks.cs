namespace PolledNvme.Protection;

/// <summary>Argument checks shared by the multi-block CRC entry points.</summary>
internal static class CrcBlocks
{
    public static void Validate(int sourceLength, int blockLength, int stride, int count)
    {
        if (blockLength < 0)
            throw new ArgumentOutOfRangeException(nameof(blockLength), blockLength, "Block length must not be negative.");
        if (stride < blockLength)
            throw new ArgumentOutOfRangeException(nameof(stride), stride, $"Stride must be at least the block length ({blockLength}).");
        if (count == 0)
            return;
        long needed = (long)(count - 1) * stride + blockLength;
        if (needed > sourceLength)
            throw new ArgumentException($"{count} blocks of {blockLength} bytes at stride {stride} need {needed} bytes; the source has {sourceLength}.", "source");
    }
}
