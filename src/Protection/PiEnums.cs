namespace PolledNvme.Protection;

/// <summary>The PI guard format of a namespace; the value is the NVMe PIF field (ELBAF[8:7], PI.md §1).</summary>
public enum PiGuardFormat : byte
{
    /// <summary>8-byte tuple, CRC-16/T10-DIF guard, 32-bit storage+reference space.</summary>
    Guard16 = 0,

    /// <summary>16-byte tuple, CRC-32C guard, 80-bit storage+reference space.</summary>
    Guard32 = 1,

    /// <summary>16-byte tuple, CRC-64/NVME guard, 48-bit storage+reference space.</summary>
    Guard64 = 2,
}

/// <summary>The PI type of a namespace; the value is DPS[2:0] (PI.md §3, §5).</summary>
public enum PiType : byte
{
    /// <summary>No protection information (metadata, if any, is opaque).</summary>
    None = 0,

    /// <summary>Reference tag = initial tag + block index, initial tag tied to the SLBA by the controller.</summary>
    Type1 = 1,

    /// <summary>Reference tag = initial tag + block index, any initial tag.</summary>
    Type2 = 2,

    /// <summary>Reference tag not checked.</summary>
    Type3 = 3,
}

/// <summary>Where the PI tuple sits in each block's metadata; the value is PIL / DPS.PIP (PI.md §3).</summary>
public enum PiLocation : byte
{
    /// <summary>In the last TupleSize bytes of the metadata (the only placement NVM CS 1.0+ allows).</summary>
    Last = 0,

    /// <summary>In the first TupleSize bytes of the metadata (legacy).</summary>
    First = 1,
}

/// <summary>How metadata travels with the data.</summary>
public enum MetadataLayout : byte
{
    /// <summary>Extended LBA (DIF): each block's metadata follows its data in one buffer.</summary>
    Interleaved = 0,

    /// <summary>Separate buffer (DIX): data in one buffer, all metadata in another (MPTR).</summary>
    Separate = 1,
}

/// <summary>Which PI fields a verify compares (PRCHK bits plus STC, PI.md §4-5).</summary>
[Flags]
public enum PiChecks : byte
{
    /// <summary>Nothing is checked.</summary>
    None = 0,

    /// <summary>Guard against the CRC of the covered bytes (PRCHK bit 2).</summary>
    Guard = 1,

    /// <summary>Application tag under the application tag mask (PRCHK bit 1).</summary>
    ApplicationTag = 2,

    /// <summary>Reference tag against initial + block index; types 1 and 2 only (PRCHK bit 0).</summary>
    ReferenceTag = 4,

    /// <summary>Storage tag under the storage tag mask (STC).</summary>
    StorageTag = 8,

    /// <summary>Every check.</summary>
    All = Guard | ApplicationTag | ReferenceTag | StorageTag,
}

/// <summary>Which PI check failed.</summary>
public enum PiErrorKind : byte
{
    /// <summary>No failure.</summary>
    None = 0,

    /// <summary>End-to-end Guard Check Error (SCT 2h, SC 82h).</summary>
    Guard,

    /// <summary>End-to-end Application Tag Check Error (SCT 2h, SC 83h).</summary>
    ApplicationTag,

    /// <summary>End-to-end Reference Tag Check Error (SCT 2h, SC 84h).</summary>
    ReferenceTag,

    /// <summary>End-to-end Storage Tag Check Error (SCT 2h, SC 88h).</summary>
    StorageTag,
}
