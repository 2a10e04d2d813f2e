using PolledNvme.Protection;

namespace PolledNvme.Driver;

/// <summary>
/// One LBA format a namespace supports: LBAF[n] of Identify Namespace (NVM CS 1.0 Fig 86) plus
/// ELBAF[n] of the NVM CS Identify Namespace (NVM CS 1.2 Fig 114, PI.md §3).
/// </summary>
public readonly record struct NamespaceLbaFormat(int Index, int BlockSize, int MetadataSize, PiGuardFormat GuardFormat, int StorageTagSize, int RelativePerformance)
{
    /// <summary>Size of the PI tuple for this format's guard: 8 (16b guard) or 16 (32b/64b).</summary>
    public int PiSize => GuardFormat == PiGuardFormat.Guard16 ? 8 : 16;

    /// <summary>True when the metadata is large enough to carry protection information.</summary>
    public bool CanCarryProtection => MetadataSize >= PiSize;

    /// <inheritdoc/>
    public override string ToString() => $"LBAF {Index}: {BlockSize}+{MetadataSize}, {GuardFormat}, STS {StorageTagSize}";
}
