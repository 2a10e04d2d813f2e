using System.Runtime.CompilerServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// Places PI fields in an I/O command (PI.md §2 and §4; NVM CS 1.2 §5.3.1.4, Figs 156-165):
/// the storage tag occupies the STS most-significant bits of the 32/80/48-bit storage+reference
/// space and the reference tag the rest; the space is spread over CDW14 (bits 31:0), CDW3
/// (bits 63:32, only bits 47:32 in CDW3[15:0] for 64b) and CDW2[15:0] (bits 79:64, 32b only).
/// Unused bits are left zero (QEMU ORs CDW3 into the reference tag for every PIF).
/// </summary>
public static class ProtectionCommandFields
{
    /// <summary>
    /// Computes CDW2, CDW3 and CDW14 for <paramref name="referenceTag"/> and
    /// <paramref name="storageTag"/> with guard format <paramref name="format"/> and
    /// <paramref name="storageTagSize"/> (STS) bits of storage tag. Throws when a tag does not
    /// fit its bits.
    /// </summary>
    public static void Encode(PiGuardFormat format, int storageTagSize, ulong referenceTag, ulong storageTag, out uint cdw2, out uint cdw3, out uint cdw14)
    {
        int space = Namespace.SpaceBits(format);
        if ((uint)storageTagSize > (uint)space || (format == PiGuardFormat.Guard32 && storageTagSize < 16))
            ThrowSts(format, storageTagSize);
        int refBits = space - storageTagSize;
        if (refBits < 64 && (referenceTag >> refBits) != 0)
            ThrowTag("reference tag", referenceTag, refBits, format, storageTagSize);
        if (storageTagSize < 64 && (storageTag >> storageTagSize) != 0)
            ThrowTag("storage tag", storageTag, storageTagSize, format, storageTagSize);

        UInt128 value = (refBits >= 128 ? 0 : (UInt128)storageTag << refBits) | referenceTag;
        cdw14 = (uint)value;
        switch (format)
        {
            case PiGuardFormat.Guard16:
                cdw2 = 0;
                cdw3 = 0;
                break;
            case PiGuardFormat.Guard32:
                cdw3 = (uint)(value >> 32);
                cdw2 = (uint)(value >> 64) & 0xFFFF;
                break;
            default:
                cdw3 = (uint)(value >> 32) & 0xFFFF;
                cdw2 = 0;
                break;
        }
    }

    /// <summary>
    /// Fills PRINFO/STC (CDW12), CDW2/3/14 and CDW15 (LBAT/LBATM) of <paramref name="command"/>
    /// for namespace <paramref name="ns"/>. Does nothing when the namespace has no PI and no
    /// option is set.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Apply(Namespace ns, in IoProtectionOptions pi, ulong slba, ref SubmissionEntry command)
    {
        uint cdw12 = 0;
        if (pi.Pract)
            cdw12 |= CommandFields.Pract;
        PiChecks checks = pi.Checks;
        if ((checks & PiChecks.Guard) != 0)
            cdw12 |= CommandFields.PrchkGuard;
        if ((checks & PiChecks.ApplicationTag) != 0)
            cdw12 |= CommandFields.PrchkApplicationTag;
        if ((checks & PiChecks.ReferenceTag) != 0)
            cdw12 |= CommandFields.PrchkReferenceTag;
        if ((checks & PiChecks.StorageTag) != 0)
            cdw12 |= CommandFields.StorageTagCheck;
        command.Cdw12 |= cdw12;
        if (ns.PiType == PiType.None)
            return;
        ulong referenceTag = InitialReferenceTag(ns, in pi, slba);
        Encode(ns.GuardFormat, ns.StorageTagSize, referenceTag, pi.StorageTag, out command.Cdw2, out command.Cdw3, out command.Cdw14);
        command.Cdw15 = pi.ApplicationTag | ((uint)pi.ApplicationTagMask << 16);
    }

    /// <summary>The reference tag the command carries: explicit, or the low reference-tag bits of SLBA for Type 1/2, or 0 for Type 3.</summary>
    public static ulong InitialReferenceTag(Namespace ns, in IoProtectionOptions pi, ulong slba)
    {
        if (pi.HasReferenceTag)
            return pi.ReferenceTag;
        if (ns.PiType == PiType.Type3)
            return 0;
        int bits = ns.ReferenceTagBits;
        return bits >= 64 ? slba : slba & ((1UL << bits) - 1);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowSts(PiGuardFormat format, int sts) => throw new ArgumentOutOfRangeException(
        nameof(sts), $"STS {sts} is not valid for {format} (PI.md §1: 16b 0-32, 32b 16-64, 64b 0-48).");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowTag(string what, ulong value, int bits, PiGuardFormat format, int sts) => throw new ArgumentOutOfRangeException(
        what == "reference tag" ? "referenceTag" : "storageTag",
        $"The {what} 0x{value:X} does not fit in {bits} bits ({format}, STS {sts}).");
}
