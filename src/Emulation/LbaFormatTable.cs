using System.Numerics;

using PolledNvme.Driver.Spec;

namespace PolledNvme.Emulation;

/// <summary>One supported LBA format: LBAF (block and metadata size) plus its ELBAF (PIF, STS).</summary>
internal readonly record struct EmulatedLbaFormat(int BlockSize, int MetadataSize, int GuardFormat, int StorageTagSize)
{
    /// <summary>log2 of the block size (LBADS).</summary>
    public int DataSizeShift => BitOperations.Log2((uint)BlockSize);

    /// <summary>
    /// An "extended" format (NVMe Base 2.0 Host Behavior Support, LBAFEE): 32b/64b guard, or 16b
    /// guard with a storage tag. Such formats need CTRATT.ELBAS and LBAFEE=1 (PI.md §1, §3).
    /// </summary>
    public bool IsExtended => GuardFormat != 0 || StorageTagSize != 0;

    /// <summary>PI tuple size for this format's guard: 8 for 16b, 16 for 32b/64b (PI.md §1).</summary>
    public int TupleSize => GuardFormat == 0 ? 8 : 16;

    /// <summary>The Identify Namespace LBAF entry.</summary>
    public LbaFormat ToLbaFormat() => LbaFormat.Create(MetadataSize, DataSizeShift, BlockSize == 4096 ? 0 : 2);

    /// <summary>The NVM CS Identify Namespace ELBAF entry.</summary>
    public ExtendedLbaFormat ToExtendedLbaFormat() => ExtendedLbaFormat.Create(StorageTagSize, GuardFormat);
}

/// <summary>
/// The LBA formats a namespace supports: 512 and 4096-byte blocks with 0, 8, 16 and 64 bytes of
/// metadata (16b guard, no storage tag), the 32b and 64b guard formats for 4096-byte blocks with
/// 16 and 64 bytes of metadata, and the configured format when none of these matches it.
/// </summary>
internal static class LbaFormatTable
{
    /// <summary>Builds the table for a namespace and returns it with the index of the configured format.</summary>
    public static EmulatedLbaFormat[] Build(EmulatedNamespaceOptions options, out int configuredIndex)
    {
        var formats = new List<EmulatedLbaFormat>(16);
        foreach (int blockSize in (ReadOnlySpan<int>)[512, 4096])
            foreach (int ms in (ReadOnlySpan<int>)[0, 8, 16, 64])
                formats.Add(new EmulatedLbaFormat(blockSize, ms, 0, 0));
        // 32b guard: STS 16 is the smallest allowed (PI.md §1 table); 64b guard: no storage tag.
        foreach (int ms in (ReadOnlySpan<int>)[16, 64])
            formats.Add(new EmulatedLbaFormat(4096, ms, 1, 16));
        foreach (int ms in (ReadOnlySpan<int>)[16, 64])
            formats.Add(new EmulatedLbaFormat(4096, ms, 2, 0));

        var configured = new EmulatedLbaFormat(options.BlockSize, options.MetadataSize, options.GuardFormat, options.StorageTagSize);
        configuredIndex = formats.IndexOf(configured);
        if (configuredIndex < 0)
        {
            configuredIndex = formats.Count;
            formats.Add(configured);
        }
        return formats.ToArray();
    }

    /// <summary>Throws when <paramref name="sts"/> is outside the range PIF <paramref name="pif"/> allows (PI.md §1).</summary>
    public static void ValidateStorageTagSize(int pif, int sts)
    {
        (int min, int max) = pif switch { 0 => (0, 32), 1 => (16, 64), _ => (0, 48) };
        if (sts < min || sts > max)
            throw new ArgumentException($"sts: storage tag size {sts} is not valid for pif={pif}; accepted: {min}-{max} bits.", "StorageTagSize");
    }
}
