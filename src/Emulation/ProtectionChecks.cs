using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Emulation;

/// <summary>
/// The controller's side of end-to-end protection (PI.md §2, §4-6): turns a command's PRINFO,
/// STC, LBST/ILBRT (CDW2/CDW3/CDW14 per PIF and STS), LBAT/LBATM (CDW15) into a
/// <see cref="ProtectionContext"/>, applies the Type 1 ILBRT rule, and maps PI errors to statuses.
/// The CRCs, tuple codecs and the command-field split are the Protection library's
/// (<see cref="PiCommandFields"/>); nothing here re-implements them.
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
        var checks = PiCommandFields.ChecksFromPrinfo((int)((cdw12 >> CommandFields.PrinfoShift) & 0xF), (cdw12 & CommandFields.StorageTagCheck) != 0);
        // Type 3: the reference tag "should not" be compared (NVM CS §5.3.2); we never compare it.
        // Formats without a reference tag (STS = space) or storage tag (STS = 0) have nothing to check there.
        if (pi.Type == PiType.Type3 || pi.ReferenceTagBits == 0)
            checks &= ~PiChecks.ReferenceTag;
        if (pi.StorageTagSize == 0)
            checks &= ~PiChecks.StorageTag;

        // LBST and ILBRT from CDW2/CDW3/CDW14 per PIF and STS (PI.md §2), shared with the host's packing.
        PiCommandFields.UnpackTags(pi, c.Cdw2, c.Cdw3, c.Cdw14, out ulong storageTag, out ulong referenceTag);

        context = default;
        if (pi.Type == PiType.Type1 && pi.ReferenceTagBits > 0 && (generating || (checks & PiChecks.ReferenceTag) != 0)
            && referenceTag != (slba & pi.ReferenceTagMask))
            return NvmeStatus.InvalidProtectionInformation;

        ushort applicationTag = (ushort)c.Cdw15;
        ushort applicationTagMask = (ushort)(c.Cdw15 >> 16);
        context = new ProtectionContext(pi, checks, referenceTag, applicationTag, applicationTagMask, storageTag, storageTagMask);
        return NvmeStatus.Success;
    }

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
