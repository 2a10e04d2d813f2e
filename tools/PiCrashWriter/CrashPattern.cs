using PolledNvme.Emulation;

namespace PolledNvme.Tools.PiCrashWriter;

/// <summary>What the crash writer writes, shared with the checker in the tests.</summary>
public static class CrashPattern
{
    /// <summary>The namespace both sides open: 4 KiB blocks, 16 B metadata, PI type 1 with a 64b guard, on the io_uring file backend.</summary>
    public static EmulatedNamespaceOptions NamespaceOptions(string path, int blocks) => new()
    {
        BlockSize = 4096,
        MetadataSize = 16,
        PiType = 1,
        GuardFormat = 2,
        CapacityBytes = blocks * 4096L,
        Backend = MediaBackendKind.File,
        FilePath = path,
    };

    /// <summary>Deterministic content of <paramref name="lba"/> at <paramref name="generation"/>, different for every pair.</summary>
    public static void Fill(Span<byte> block, long lba, int generation)
    {
        ulong x = (ulong)lba * 0x9E3779B97F4A7C15 ^ (ulong)generation * 0xC2B2AE3D27D4EB4F ^ 0x165667B19E3779F9;
        for (int i = 0; i + 8 <= block.Length; i += 8)
        {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            BitConverter.TryWriteBytes(block[i..], x * 0x2545F4914F6CDD1D);
        }
    }
}
