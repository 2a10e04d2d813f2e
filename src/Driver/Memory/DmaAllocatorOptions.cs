namespace PolledNvme.Queues;

/// <summary>How a <see cref="DmaAllocator"/> gets its memory.</summary>
public sealed record DmaAllocatorOptions
{
    /// <summary>
    /// When no 2 MiB hugepages are reserved, fall back to ordinary 4 KiB pages locked with
    /// mlock. Fine for the emulated controller and an IOMMU (IOVA-contiguous is all that
    /// matters there); a real device without an IOMMU needs hugepages. Default: false.
    /// </summary>
    public bool AllowNonHugepageFallback { get; init; }
}
