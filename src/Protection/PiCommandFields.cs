namespace PolledNvme.Protection;

/// <summary>
/// The PI fields of an NVMe I/O command (PI.md §2, §4): PRINFO (CDW12[29:26]) and STC
/// (CDW12[24]) to and from <see cref="PiChecks"/>, and the storage + reference tag split
/// over CDW2, CDW3 and CDW14, shared by the host driver (packing) and the emulated
/// controller (unpacking) so both follow one reading of the spec.
/// </summary>
public static class PiCommandFields
{
    /// <summary>PRINFO bit 3: PRACT, the controller inserts or strips PI.</summary>
    public const int PrinfoAction = 0x8;

    /// <summary>PRINFO bit 2: check the guard.</summary>
    public const int PrinfoGuard = 0x4;

    /// <summary>PRINFO bit 1: check the application tag.</summary>
    public const int PrinfoApplicationTag = 0x2;

    /// <summary>PRINFO bit 0: check the reference tag.</summary>
    public const int PrinfoReferenceTag = 0x1;

    /// <summary>The checks a command asks for: PRCHK = PRINFO[2:0], plus STC.</summary>
    /// <param name="prinfo">The 4-bit PRINFO field (CDW12[29:26] shifted down); PRACT is ignored here.</param>
    /// <param name="storageTagCheck">STC (CDW12[24]).</param>
    public static PiChecks ChecksFromPrinfo(int prinfo, bool storageTagCheck)
    {
        if ((uint)prinfo > 0xF)
            throw new ArgumentOutOfRangeException(nameof(prinfo), prinfo, "PRINFO is a 4-bit field (0..15).");
        PiChecks checks = PiChecks.None;
        if ((prinfo & PrinfoGuard) != 0)
            checks |= PiChecks.Guard;
        if ((prinfo & PrinfoApplicationTag) != 0)
            checks |= PiChecks.ApplicationTag;
        if ((prinfo & PrinfoReferenceTag) != 0)
            checks |= PiChecks.ReferenceTag;
        if (storageTagCheck)
            checks |= PiChecks.StorageTag;
        return checks;
    }

    /// <summary>The 4-bit PRINFO for <paramref name="checks"/>; the storage tag check goes in STC (<see cref="PiChecks.StorageTag"/>), not here.</summary>
    public static int PrinfoFromChecks(PiChecks checks, bool protectionAction)
        => (protectionAction ? PrinfoAction : 0)
            | ((checks & PiChecks.Guard) != 0 ? PrinfoGuard : 0)
            | ((checks & PiChecks.ApplicationTag) != 0 ? PrinfoApplicationTag : 0)
            | ((checks & PiChecks.ReferenceTag) != 0 ? PrinfoReferenceTag : 0);

    /// <summary>
    /// Packs LBST and ILBRT into the storage+reference space and spreads it over the command
    /// dwords (PI.md §2): 16b, all 32 bits in CDW14; 32b, bits 79:64 in CDW2[15:0], 63:32 in
    /// CDW3, 31:0 in CDW14; 64b, bits 47:32 in CDW3[15:0], 31:0 in CDW14. Unused bits are 0.
    /// </summary>
    public static void PackTags(ProtectionFormat format, ulong storageTag, ulong referenceTag, out uint cdw2, out uint cdw3, out uint cdw14)
    {
        ArgumentNullException.ThrowIfNull(format);
        if (storageTag > format.StorageTagMask)
            throw new ArgumentException($"Storage tag 0x{storageTag:X} does not fit the {format.StorageTagSize}-bit storage tag of this format (STS).", nameof(storageTag));
        if (referenceTag > format.ReferenceTagMask)
            throw new ArgumentException($"Reference tag 0x{referenceTag:X} does not fit the {format.ReferenceTagBits}-bit reference tag of this format (space bits - STS).", nameof(referenceTag));
        UInt128 space = ((UInt128)storageTag << format.ReferenceTagBits) | referenceTag;
        cdw14 = (uint)space;
        cdw3 = (uint)(space >> 32);
        cdw2 = (uint)(space >> 64);
    }

    /// <summary>
    /// Reads LBST and ILBRT back from the command dwords, ignoring the bits the spec marks
    /// ignored for the format (PI.md §2: CDW2 and CDW3 for 16b, CDW2 and CDW3[31:16] for 64b).
    /// </summary>
    public static void UnpackTags(ProtectionFormat format, uint cdw2, uint cdw3, uint cdw14, out ulong storageTag, out ulong referenceTag)
    {
        ArgumentNullException.ThrowIfNull(format);
        int spaceBits = format.ReferenceTagBits + format.StorageTagSize;
        UInt128 space = ((UInt128)(ushort)cdw2 << 64) | ((UInt128)cdw3 << 32) | cdw14;
        space &= (UInt128.One << spaceBits) - UInt128.One;
        storageTag = (ulong)(space >> format.ReferenceTagBits);
        referenceTag = (ulong)space & format.ReferenceTagMask;
    }
}
