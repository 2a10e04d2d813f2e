namespace PolledNvme.Protection;

/// <summary>
/// What a context's tags and checks mean for each tuple, worked out once per call so the
/// per-block loop only does XOR and AND on the application tag and the storage+reference
/// space (PI.md §2, §5). Checks that cannot apply (reference tag for type 3, storage tag
/// with STS 0, anything for a zero-width field) have an all-zero mask.
/// </summary>
internal readonly struct PiTagPlan
{
    public PiTagPlan(in ProtectionContext context)
    {
        ProtectionFormat format = context.Format;
        PiChecks checks = context.Checks;
        ReferenceTagBits = format.ReferenceTagBits;
        ReferenceTagMask = format.ReferenceTagMask;
        InitialReferenceTag = context.InitialReferenceTag;
        IncrementReferenceTag = format.Type is PiType.Type1 or PiType.Type2;
        Type3 = format.Type == PiType.Type3;
        CheckGuard = (checks & PiChecks.Guard) != 0;
        ApplicationTag = context.ApplicationTag;
        ApplicationCheckMask = (checks & PiChecks.ApplicationTag) != 0 ? context.ApplicationTagMask : (ushort)0;
        StorageTag = context.StorageTag;
        StorageField = (UInt128)context.StorageTag << ReferenceTagBits;
        ReferenceField = ReferenceTagMask;
        ReferenceCheckMask = IncrementReferenceTag && (checks & PiChecks.ReferenceTag) != 0 ? ReferenceTagMask : UInt128.Zero;
        StorageCheckMask = (checks & PiChecks.StorageTag) != 0
            ? (UInt128)(context.StorageTagMask & format.StorageTagMask) << ReferenceTagBits
            : UInt128.Zero;
    }

    /// <summary>Compare the guard with the CRC.</summary>
    public readonly bool CheckGuard;

    /// <summary>Type 3: the reference tag is constant and the escape needs it all ones too.</summary>
    public readonly bool Type3;

    /// <summary>Types 1 and 2: the reference tag is initial + block index.</summary>
    public readonly bool IncrementReferenceTag;

    public readonly ushort ApplicationTag;

    /// <summary>The context's application tag mask, or 0 when the application tag is not checked.</summary>
    public readonly ushort ApplicationCheckMask;

    public readonly int ReferenceTagBits;
    public readonly ulong ReferenceTagMask;
    public readonly ulong InitialReferenceTag;
    public readonly ulong StorageTag;

    /// <summary>The storage tag in its place in the space.</summary>
    public readonly UInt128 StorageField;

    /// <summary>The reference tag bits of the space (all ones = the type 3 reference escape).</summary>
    public readonly UInt128 ReferenceField;

    /// <summary>Space bits compared as the reference tag.</summary>
    public readonly UInt128 ReferenceCheckMask;

    /// <summary>Space bits compared as the storage tag (the storage tag mask, shifted into place).</summary>
    public readonly UInt128 StorageCheckMask;

    /// <summary>Whether any check can fail; when not, a verify need not read the buffers.</summary>
    public bool ChecksAnything
        => CheckGuard || ApplicationCheckMask != 0 || ReferenceCheckMask != UInt128.Zero || StorageCheckMask != UInt128.Zero;

    /// <summary>The reference tag of block <paramref name="blockIndex"/>: wraps at its width (types 1/2), constant for type 3.</summary>
    public ulong ReferenceTag(int blockIndex)
        => IncrementReferenceTag ? (InitialReferenceTag + (ulong)blockIndex) & ReferenceTagMask : InitialReferenceTag;

    /// <summary>The whole space a generated tuple of block <paramref name="blockIndex"/> carries.</summary>
    public UInt128 Space(int blockIndex) => StorageField | ReferenceTag(blockIndex);
}
