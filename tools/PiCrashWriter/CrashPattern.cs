using PolledNvme.Emulation;

namespace PolledNvme.Tools.PiCrashWriter;

/// <summary>
/// A namespace layout the crash test runs on: the device string the writer opens and the same
/// settings as options, for the checker that reads the image back below the controller.
/// </summary>
/// <param name="Name">What the test names it by.</param>
/// <param name="MetadataSize">Metadata bytes per block (PI tuple included).</param>
/// <param name="GuardFormat">PIF: 1 = 32b guard (needs a storage tag size), 2 = 64b guard; both so long that a torn block cannot pass by chance.</param>
/// <param name="StorageTagSize">STS bits.</param>
/// <param name="PiFirst">The tuple leads the metadata (PIL=1).</param>
/// <param name="ExtendedLba">The host buffer interleaves each block's metadata (MSET=1).</param>
/// <param name="Direct">Block data through O_DIRECT (direct=1) or the page cache.</param>
public sealed record CrashFormat(string Name, int MetadataSize, int GuardFormat, int StorageTagSize, bool PiFirst, bool ExtendedLba, bool Direct)
{
    /// <summary>Block data bytes.</summary>
    public const int BlockSize = 4096;

    /// <summary>64b guard, PI last, separate metadata the size of the tuple (the host sends data only), O_DIRECT data.</summary>
    public static CrashFormat Guard64 { get; } = new("guard64-separate-direct", 16, 2, 0, PiFirst: false, ExtendedLba: false, Direct: true);

    /// <summary>32b guard, PI first, 64 bytes of metadata interleaved in the host buffer (the host sends metadata, the controller inserts PI), page cache.</summary>
    public static CrashFormat Guard32ExtendedFirst { get; } = new("guard32-extended-first-cached", 64, 1, 16, PiFirst: true, ExtendedLba: true, Direct: false);

    /// <summary>64b guard, PI first, 64 bytes of separate metadata (the host sends the 48 bytes beside the tuple in its own buffer), page cache.</summary>
    public static CrashFormat Guard64SeparateFirst { get; } = new("guard64-separate-first-cached", 64, 2, 0, PiFirst: true, ExtendedLba: false, Direct: false);

    /// <summary>64b guard, PI last, 64 bytes of metadata interleaved (the guard covers the 48 bytes before the tuple), O_DIRECT data.</summary>
    public static CrashFormat Guard64ExtendedLast { get; } = new("guard64-extended-last-direct", 64, 2, 0, PiFirst: false, ExtendedLba: true, Direct: true);

    /// <summary>Every format: both metadata layouts, with PI first and last.</summary>
    public static IReadOnlyList<CrashFormat> All { get; } = [Guard64, Guard32ExtendedFirst, Guard64SeparateFirst, Guard64ExtendedLast];

    /// <summary>The formats by name.</summary>
    public static CrashFormat Named(string name)
        => All.FirstOrDefault(f => f.Name == name)
            ?? throw new ArgumentException($"unknown crash format '{name}'; known: {string.Join(", ", All.Select(f => f.Name))}.", nameof(name));

    /// <summary>Bytes of the PI tuple (8 for the 16b guard, 16 otherwise).</summary>
    public int TupleSize => GuardFormat == 0 ? 8 : 16;

    /// <summary>Where the tuple sits in a block's metadata.</summary>
    public int TupleOffset => PiFirst ? 0 : MetadataSize - TupleSize;

    /// <summary>Whether the host sends metadata of its own (bytes beside the tuple, which PRACT=1 keeps).</summary>
    public bool HostMetadata => MetadataSize > TupleSize;

    /// <summary>The emulated controller's device string for <paramref name="path"/> with <paramref name="blocks"/> blocks.</summary>
    public string DeviceString(string path, int blocks)
        => $"emu:{path},lbads={BlockSize},ms={MetadataSize},pi=1,pif={GuardFormat},sts={StorageTagSize},pil={(PiFirst ? 1 : 0)}," +
           $"mset={(ExtendedLba ? 1 : 0)},direct={(Direct ? 1 : 0)},size={(long)blocks * BlockSize}";

    /// <summary>The same namespace as options, for opening the image directly (the checker).</summary>
    public EmulatedNamespaceOptions NamespaceOptions(string path, int blocks) => new()
    {
        BlockSize = BlockSize,
        MetadataSize = MetadataSize,
        PiType = 1,
        GuardFormat = GuardFormat,
        StorageTagSize = StorageTagSize,
        PiFirst = PiFirst,
        ExtendedLba = ExtendedLba,
        DirectIo = Direct,
        CapacityBytes = (long)blocks * BlockSize,
        Backend = MediaBackendKind.File,
        FilePath = path,
    };
}

/// <summary>What the crash writer writes, shared with the checker in the tests.</summary>
public static class CrashPattern
{
    /// <summary>
    /// The application tag of blocks zeroed by Write Zeroes with PRACT=1 (zero data, PI
    /// generated): no generation uses it, so the checker knows them.
    /// </summary>
    public const ushort ZeroesTag = 0xFFFE;

    /// <summary>How the writer clears a range at the start of a generation.</summary>
    public enum ClearKind
    {
        /// <summary>Dataset Management, attribute Deallocate.</summary>
        Deallocate,

        /// <summary>Write Zeroes with DEAC=1 (deallocates).</summary>
        WriteZeroesDeallocate,

        /// <summary>Write Zeroes with PRACT=1: zero data under a generated tuple tagged <see cref="ZeroesTag"/>.</summary>
        WriteZeroesWithPi,
    }

    /// <summary>How range <paramref name="index"/> of a generation is cleared (the three kinds in turn).</summary>
    public static ClearKind ClearOf(int index) => (ClearKind)(index % 3);

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

    /// <summary>
    /// The ranges cleared at the start of <paramref name="generation"/> (<see cref="ClearOf"/>):
    /// about a quarter of the image, in runs of up to 256 blocks, so the writes that follow land
    /// on blocks whose stored tuple is the all-FFh "deallocated" one, which switches every check
    /// off, or on zeroed blocks.
    /// </summary>
    public static List<(int Start, int Count)> DeallocatedRanges(int blocks, int generation)
    {
        var random = new Random(generation * 7919 + 1);
        var ranges = new List<(int, int)>();
        for (int done = 0; done < blocks / 4;)
        {
            int count = Math.Min(random.Next(1, 257), blocks / 4 - done);
            ranges.Add((random.Next(0, blocks - count + 1), count));
            done += count;
        }
        return ranges;
    }

    /// <summary>The writes of <paramref name="generation"/>: every block once, in shuffled runs of 1 to <paramref name="maxRun"/> blocks.</summary>
    public static List<(int Start, int Count)> WriteRuns(int blocks, int generation, int maxRun)
    {
        var random = new Random(generation);
        var runs = new List<(int, int)>();
        for (int start = 0; start < blocks;)
        {
            int count = Math.Min(random.Next(1, maxRun + 1), blocks - start);
            runs.Add((start, count));
            start += count;
        }
        var array = runs.ToArray();
        random.Shuffle(array);
        return [.. array];
    }
}
