using System.Runtime.CompilerServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// Fills the PI fields of an I/O command (PI.md §2 and §4; NVM CS 1.2 §5.3.1.4): PRINFO and
/// STC in CDW12, the storage + reference tag split over CDW2/CDW3/CDW14 (packed by the
/// Protection stage's <see cref="PiCommandFields"/>, the same code the emulated controller
/// unpacks with), and LBAT/LBATM in CDW15.
/// </summary>
public static class ProtectionCommandFields
{
    /// <summary>
    /// Fills PRINFO/STC (CDW12), CDW2/3/14 and CDW15 of <paramref name="command"/> for
    /// namespace <paramref name="ns"/>. Only PRINFO/STC are set when the namespace has no PI.
    /// Throws when a tag does not fit its bits (STS and the reference tag width).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Apply(Namespace ns, in IoProtectionOptions pi, ulong slba, ref SubmissionEntry command)
        => Apply(ns, in pi, slba, 0, ref command);

    /// <summary>
    /// <see cref="Apply(Namespace, in IoProtectionOptions, ulong, ref SubmissionEntry)"/> for the
    /// part of a split command that starts <paramref name="blockOffset"/> blocks into the command
    /// at <paramref name="slba"/>: the same tags, with the initial reference tag continued by
    /// <paramref name="blockOffset"/> blocks (types 1 and 2, wrapping at the reference tag width;
    /// type 3 keeps it), so each part carries what the whole command would have for its blocks.
    /// </summary>
    internal static void Apply(Namespace ns, in IoProtectionOptions pi, ulong slba, int blockOffset, ref SubmissionEntry command)
    {
        PiChecks checks = pi.Checks;
        uint cdw12 = (uint)PiCommandFields.PrinfoFromChecks(checks, pi.Pract) << CommandFields.PrinfoShift;
        if ((checks & PiChecks.StorageTag) != 0)
            cdw12 |= CommandFields.StorageTagCheck;
        command.Cdw12 |= cdw12;
        if (ns.PiType == PiType.None)
            return;
        ProtectionFormat format = ns.ProtectionFormat ?? ThrowNoFormat(ns);
        ulong referenceTag = InitialReferenceTag(ns, in pi, slba);
        if (blockOffset != 0)
            referenceTag = format.ReferenceTagOfBlock(referenceTag, blockOffset);
        PiCommandFields.PackTags(format, pi.StorageTag, referenceTag, out command.Cdw2, out command.Cdw3, out command.Cdw14);
        command.Cdw15 = pi.ApplicationTag | ((uint)pi.ApplicationTagMask << 16);
    }

    /// <summary>The reference tag the command carries: explicit, or the low reference-tag bits of SLBA for Type 1/2 (Type 1 requires exactly that), or 0 for Type 3.</summary>
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
    private static ProtectionFormat ThrowNoFormat(Namespace ns) => throw new InvalidOperationException(
        $"Namespace {ns.Id} has PI type {ns.PiType} but a format the driver cannot describe: {ns.ProtectionFormatError}");
}
