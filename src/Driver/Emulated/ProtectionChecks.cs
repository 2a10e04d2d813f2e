using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Emulated;

/// <summary>
/// The controller's side of end-to-end protection (PI.md §2, §4-6): turns a command's PRINFO,
/// STC, LBST/ILBRT (CDW2/CDW3/CDW14 per PIF and STS), LBAT/LBATM (CDW15) into a
/// <see cref="ProtectionContext"/>, applies the Type 1 ILBRT rule, and maps PI errors to statuses.
/// The CRCs and tuple codecs are the Protection library's; nothing here re-implements them.
/// </summary>
internal static class ProtectionChecks
{
    /// <summary>
    /// Builds the PI context of a Read/Write/Compare/Verify/Write Zeroes command on a namespace
    /// formatted with PI. <paramref name="generating"/> is true when the controller will insert
    /// PI (PRACT=1 on a write), so the reference tag it starts from must be valid too.
    /// </summary>
    /// <returns>Success, or Invalid Protection Information (SCT 1h, SC 81h, DNR) for a Type 1 ILBRT that is not the low bits of SLBA.</returns>
    public static NvmeStatus Prepare(ProtectionFormat pi, ulong storageTagMask, ref SubmissionEntry c, ulong slba, bool generating, out ProtectionContext context)
    {
        uint cdw12 = c.Cdw12;
        var checks = PiChecks.None;
        if ((cdw12 & CommandFields.PrchkGuard) != 0)
            checks |= PiChecks.Guard;
        if ((cdw12 & CommandFields.PrchkApplicationTag) != 0)
            checks |= PiChecks.ApplicationTag;
        // Type 3: the reference tag "should not" be compared (NVM CS §5.3.2); we never compare it.
        if ((cdw12 & CommandFields.PrchkReferenceTag) != 0 && pi.Type != PiType.Type3 && pi.ReferenceTagBits > 0)
            checks |= PiChecks.ReferenceTag;
        if ((cdw12 & CommandFields.StorageTagCheck) != 0 && pi.StorageTagSize > 0)
            checks |= PiChecks.StorageTag;

        // The Storage and Reference Space as the command carries it (PI.md §2 table).
        UInt128 space = pi.GuardFormat switch
        {
            PiGuardFormat.Guard16 => c.Cdw14,
            PiGuardFormat.Guard32 => ((UInt128)(c.Cdw2 & 0xFFFF) << 64) | ((UInt128)c.Cdw3 << 32) | c.Cdw14,
            _ => ((ulong)(c.Cdw3 & 0xFFFF) << 32) | c.Cdw14,
        };
        int referenceBits = pi.ReferenceTagBits;
        ulong referenceTag = (ulong)space & pi.ReferenceTagMask;
        ulong storageTag = (ulong)(space >> referenceBits) & pi.StorageTagMask;

        context = default;
        if (pi.Type == PiType.Type1 && referenceBits > 0 && (generating || (checks & PiChecks.ReferenceTag) != 0)
            && referenceTag != (slba & pi.ReferenceTagMask))
            return NvmeStatus.InvalidProtectionInformation;

        ushort applicationTag = (ushort)c.Cdw15;
        ushort applicationTagMask = (ushort)(c.Cdw15 >> 16);
        context = new ProtectionContext(pi, checks, referenceTag, applicationTag, applicationTagMask, storageTag, storageTagMask);
        return NvmeStatus.Success;
    }

    /// <summary>Whether PRCHK or STC asked for any check (after the rules of <see cref="Prepare"/>).</summary>
    public static bool AnyCheck(ProtectionFormat pi, uint cdw12)
        => (cdw12 & (CommandFields.PrchkGuard | CommandFields.PrchkApplicationTag)) != 0
           || ((cdw12 & CommandFields.PrchkReferenceTag) != 0 && pi.Type != PiType.Type3 && pi.ReferenceTagBits > 0)
           || ((cdw12 & CommandFields.StorageTagCheck) != 0 && pi.StorageTagSize > 0);

    /// <summary>The End-to-end status for a failed check (PI.md §6); QEMU and we post them without DNR.</summary>
    public static NvmeStatus ToStatus(PiErrorKind kind) => kind switch
    {
        PiErrorKind.Guard => NvmeStatus.EndToEndGuardCheckError,
        PiErrorKind.ApplicationTag => NvmeStatus.EndToEndApplicationTagCheckError,
        PiErrorKind.ReferenceTag => NvmeStatus.EndToEndReferenceTagCheckError,
        PiErrorKind.StorageTag => NvmeStatus.EndToEndStorageTagCheckError,
        _ => NvmeStatus.InternalError,
    };
}
