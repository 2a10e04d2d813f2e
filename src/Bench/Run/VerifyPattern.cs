using System.Runtime.InteropServices;

namespace PolledNvme.Bench.Run;

/// <summary>
/// The <c>--verify</c> data pattern: every block holds its LBA and the run's seed in the first
/// 16 bytes, then a stream of 64-bit words derived from both. A block read back from a wrong
/// place, a stale write or any flipped bit no longer matches.
/// </summary>
public static class VerifyPattern
{
    private const ulong Golden = 0x9E3779B97F4A7C15;

    /// <summary>Fills <paramref name="blocks"/> (whole blocks of <paramref name="blockSize"/>) with the pattern of <paramref name="firstLba"/> onwards.</summary>
    public static void Fill(Span<byte> blocks, int blockSize, long firstLba, ulong seed)
    {
        for (int offset = 0, i = 0; offset < blocks.Length; offset += blockSize, i++)
        {
            Span<ulong> words = MemoryMarshal.Cast<byte, ulong>(blocks.Slice(offset, blockSize));
            ulong lba = (ulong)(firstLba + i);
            words[0] = lba;
            words[1] = seed;
            ulong state = Mix(lba ^ seed);
            for (int w = 2; w < words.Length; w++)
            {
                state += Golden;
                words[w] = Mix(state);
            }
        }
    }

    /// <summary>
    /// Checks <paramref name="blocks"/> against the pattern; returns the index of the first block
    /// that does not match, or -1 when all match.
    /// </summary>
    public static int FindMismatch(ReadOnlySpan<byte> blocks, int blockSize, long firstLba, ulong seed)
    {
        for (int offset = 0, i = 0; offset < blocks.Length; offset += blockSize, i++)
        {
            ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(blocks.Slice(offset, blockSize));
            ulong lba = (ulong)(firstLba + i);
            if (words[0] != lba || words[1] != seed) return i;
            ulong state = Mix(lba ^ seed);
            for (int w = 2; w < words.Length; w++)
            {
                state += Golden;
                if (words[w] != Mix(state)) return i;
            }
        }
        return -1;
    }

    // A 64-bit finaliser (murmur3 fmix64 constants): every input bit reaches every output bit.
    private static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCD;
        x ^= x >> 33;
        x *= 0xC4CEB9FE1A85EC53;
        x ^= x >> 33;
        return x;
    }
}
