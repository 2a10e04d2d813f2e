namespace PolledNvme.Protection;

/// <summary>
/// What a context's tags and checks mean for whole tuples (see <see cref="PiTupleCodec{TGuard, TCrc}"/>),
/// worked out once per call so the per-block loop is one XOR, one AND and one compare
/// (PI.md §2, §5). Checks that cannot apply (reference tag for type 3, storage tag with STS
/// 0, zero-width fields) have all-zero masks. The guard's part is added by the engine.
/// </summary>
internal readonly struct PiTagPlan
{
    public PiTagPlan(in ProtectionContext context)
    {
        ProtectionFormat format = context.Format;
        PiChecks checks = context.Checks;
        int referenceTagBits = format.ReferenceTagBits;
        int spaceBits = referenceTagBits + format.StorageTagSize;
        ReferenceTagBits = referenceTagBits;
        ReferenceTagMask = format.ReferenceTagMask;
        InitialReferenceTag = context.InitialReferenceTag;
        IncrementReferenceTag = format.Type is PiType.Type1 or PiType.Type2; // same rule as the static ReferenceTag
        CheckGuard = (checks & PiChecks.Guard) != 0;
        ApplicationTag = context.ApplicationTag;
        StorageTag = context.StorageTag;
        ApplicationCheckMask = (checks & PiChecks.ApplicationTag) != 0 ? context.ApplicationTagMask : (ushort)0;
        ReferenceCheckMask = IncrementReferenceTag && (checks & PiChecks.ReferenceTag) != 0 ? ReferenceTagMask : 0;
        StorageCheckMask = (checks & PiChecks.StorageTag) != 0 ? context.StorageTagMask & format.StorageTagMask : 0;

        UInt128 applicationField = (UInt128)0xFFFF << spaceBits;
        TagFields = ((UInt128)ApplicationTag << spaceBits) | ((UInt128)StorageTag << referenceTagBits);
        TagCheckMask = ((UInt128)ApplicationCheckMask << spaceBits) | ((UInt128)StorageCheckMask << referenceTagBits) | ReferenceCheckMask;
        // Escapes (PI.md §5): application tag FFFFh; type 3 also a reference tag of all ones
        // (a zero-width reference tag adds nothing, so the application tag alone escapes).
        Escape = format.Type == PiType.Type3 ? applicationField | ReferenceTagMask : applicationField;
    }

    /// <summary>Compare the guard with the CRC.</summary>
    public readonly bool CheckGuard;

    /// <summary>Types 1 and 2: the reference tag is initial + block index; type 3 keeps it constant.</summary>
    public readonly bool IncrementReferenceTag;

    public readonly ushort ApplicationTag;
    public readonly ulong StorageTag;
    public readonly int ReferenceTagBits;
    public readonly ulong ReferenceTagMask;
    public readonly ulong InitialReferenceTag;

    /// <summary>Field masks of the checks; 0 when a check is off or cannot apply.</summary>
    public readonly ushort ApplicationCheckMask;
    public readonly ulong ReferenceCheckMask;
    public readonly ulong StorageCheckMask;

    /// <summary>Application and storage tag in their places in the tuple number.</summary>
    public readonly UInt128 TagFields;

    /// <summary>Tuple bits the application, reference and storage tag checks compare.</summary>
    public readonly UInt128 TagCheckMask;

    /// <summary>A tuple escapes every check when all these bits are ones.</summary>
    public readonly UInt128 Escape;

    /// <summary>Whether any check can fail; when not, a verify need not read the buffers.</summary>
    public bool ChecksAnything => CheckGuard || TagCheckMask != UInt128.Zero;

    /// <summary>The reference tag of block <paramref name="blockIndex"/>: wraps at its width (types 1/2), constant for type 3.</summary>
    public ulong ReferenceTag(int blockIndex)
        => IncrementReferenceTag ? (InitialReferenceTag + (ulong)blockIndex) & ReferenceTagMask : InitialReferenceTag;

    /// <summary>The same rule for a format and initial tag, without building a plan.</summary>
    public static ulong ReferenceTag(ProtectionFormat format, ulong initialReferenceTag, int blockIndex)
        => format.Type is PiType.Type1 or PiType.Type2
            ? (initialReferenceTag + (ulong)blockIndex) & format.ReferenceTagMask
            : initialReferenceTag;
}
