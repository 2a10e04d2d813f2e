using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;
using static PolledNvme.Conformance.ConformanceTarget;

namespace PolledNvme.Conformance;

/// <summary>One named rule a controller must follow, with the spec section it comes from.</summary>
/// <param name="Name">Short name used in logs and test names.</param>
/// <param name="Rule">What the spec requires (and where).</param>
/// <param name="AppliesTo">Which formats it applies to (null = every format).</param>
/// <param name="Check">The check; throws <see cref="ExpectationFailure"/> when the rule does not hold.</param>
/// <param name="QemuDeviation">Where QEMU 7.2 deviates from the rule, what it does instead (PI.md §9); the check then expects QEMU's behaviour on QEMU.</param>
public sealed record Expectation(string Name, string Rule, Func<ConformanceFormat, bool>? AppliesTo, Action<ConformanceTarget> Check, string? QemuDeviation = null)
{
    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// The one list of expectations both controllers are held to: the unit tests run it against our
/// emulated controller, the QEMU guest test (tests/GuestTest) against QEMU's NVMe controller
/// through VFIO.
/// </summary>
public static partial class ControllerExpectations
{
    /// <summary>Checks of the controller as a whole (run once per controller).</summary>
    public static IReadOnlyList<Expectation> Controller { get; } =
    [
        new("controller-ready", "CC.EN=1 gives CSTS.RDY=1 without CFS; VS >= 1.2; CAP.CSS includes the NVM command set (Base §3.1.4)",
            null, ControllerReady),
        new("identify-controller", "Identify Controller (CNS 01h): serial and model set, MDTS honoured, ONCS has Compare and Write Zeroes (Base §5.17.2.1)",
            null, IdentifyControllerPage),
        new("identify-namespace-formats", "Identify Namespace (CNS 00h) lists 512 and 4096-byte formats with 0, 8, 16 and 64 bytes of metadata (QEMU's fixed set)",
            null, LbaFormatsListed),
        new("io-sizes-prp", "Reads and writes of 1 block up to MDTS (PRP1, PRP2, PRP lists) return exactly what was written, data and metadata (Base §4.1.1)",
            null, IoSizes),
        new("io-beyond-mdts-rejected", "A transfer larger than MDTS is refused by the driver before it reaches the controller",
            null, BeyondMdts),
    ];

    /// <summary>Checks of one namespace format (run after Format NVM switched to it).</summary>
    public static IReadOnlyList<Expectation> PerFormat { get; } =
    [
        new("identify-namespace-format", "CNS 00h FLBAS/LBAF/DPS and CNS 05h ELBAF report the format set by Format NVM (NVM CS §4.1.5)",
            null, NamespaceFormatReported),
        new("pract-insert-raw-readback", "Write with PRACT=1 stores PI equal to the host engine's generation; read with PRACT=1 checks and strips it (NVM CS §5.3.2)",
            f => f.Type != PiType.None, PractInsertRawReadBack),
        new("host-pi-prchk-accepted", "Host-generated PI is accepted by a write with every PRCHK bit and read back unchanged (NVM CS §5.3.2)",
            f => f.Type != PiType.None, HostPiAccepted),
        new("guard-error-0x282", "A bad guard fails the write with PRCHK guard, and a read of a stored bad guard, with 2h/82h; stored data stays intact (NVM CS §5.3.3)",
            f => f.Type != PiType.None, f => CorruptionRejected(f, PiChecks.Guard)),
        new("apptag-error-0x283", "A bad application tag fails with 2h/83h on write and on read (NVM CS §5.3.3)",
            f => f.Type != PiType.None, f => CorruptionRejected(f, PiChecks.ApplicationTag)),
        new("reftag-error-0x284", "A bad reference tag fails with 2h/84h on write and on read, Type 1 and 2 (NVM CS §5.3.3)",
            f => f.Type is PiType.Type1 or PiType.Type2, f => CorruptionRejected(f, PiChecks.ReferenceTag)),
        new("type1-ilbrt-mismatch-0x181", "Type 1 with PRCHK ref: ILBRT must equal the SLBA's low bits, else Invalid Protection Information 1h/81h (NVM CS §5.3.3)",
            f => f.Type == PiType.Type1, InitialReferenceTagMismatch),
        new("type3-prchk-ref", "Type 3 with PRCHK ref: the reference tag is not compared (the command succeeds) or the command is aborted with Invalid Protection Information 1h/81h (NVM CS §5.3.2.3; PI.md §9.9)",
            f => f.Type == PiType.Type3, Type3ReferenceCheck),
        new("write-zeroes-pract1-pi", "Write Zeroes with PRACT=1 stores zero data and PI generated over it: guard = CRC of the zero block (and metadata before the PI) (NVM CS §3.2.8)",
            f => f.Type != PiType.None, WriteZeroesGeneratesPi,
            QemuDeviation: "PI.md §9.4: QEMU hard-codes the 64b guard of 4096 zero bytes (0x6482D367EB22B64E), wrong when metadata precedes the PI (PI last, MS > 16)"),
    ];

    /// <summary>The expectations of <see cref="PerFormat"/> that apply to <paramref name="format"/>.</summary>
    public static IEnumerable<Expectation> For(ConformanceFormat format)
    {
        foreach (Expectation e in PerFormat)
            if (e.AppliesTo is null || e.AppliesTo(format)) yield return e;
    }

    private static void ControllerReady(ConformanceTarget t)
    {
        Require(t.Controller.IsOperational, "the controller is not ready (CSTS.RDY=0 or CFS=1) after initialization");
        uint vs = t.Controller.Identify.Ver;
        Require(vs >> 16 > 1 || (vs >> 16 == 1 && ((vs >> 8) & 0xFF) >= 2), $"Identify VER 0x{vs:X8} is below NVMe 1.2");
        Require((t.Controller.Capabilities.Css & 1) != 0, $"CAP.CSS 0x{t.Controller.Capabilities.Css:X2} lacks the NVM command set");
    }

    private static void IdentifyControllerPage(ConformanceTarget t)
    {
        ref readonly IdentifyController id = ref t.Controller.Identify;
        Require(id.SerialNumber.Trim().Length > 0 && id.ModelNumber.Trim().Length > 0, "serial or model number is blank");
        Require(id.Nn >= 1, $"NN = {id.Nn}: no namespace");
        Require((id.Oncs & IdentifyController.OncsCompare) != 0 && (id.Oncs & IdentifyController.OncsWriteZeroes) != 0,
            $"ONCS 0x{id.Oncs:X4} lacks Compare or Write Zeroes");
        if (id.Mdts != 0)
        {
            long mdts = (1L << id.Mdts) * (4096L << t.Controller.Capabilities.Mpsmin);
            Require(t.Controller.MaxTransferBytes == mdts, $"MDTS {id.Mdts} means {mdts} bytes; the driver uses {t.Controller.MaxTransferBytes}");
        }
    }

    private static void LbaFormatsListed(ConformanceTarget t)
    {
        foreach (int bs in new[] { 512, 4096 })
            foreach (int ms in new[] { 0, 8, 16, 64 })
            {
                bool found = false;
                foreach (NamespaceLbaFormat f in t.Ns.LbaFormats)
                    found |= f.BlockSize == bs && f.MetadataSize == ms;
                Require(found, $"no LBA format {bs}+{ms} among {string.Join(", ", t.Ns.LbaFormats)}");
            }
    }

    private static void NamespaceFormatReported(ConformanceTarget t)
    {
        ConformanceFormat f = t.Format ?? throw new InvalidOperationException("identify-namespace-format needs the expected format");
        Namespace ns = t.Ns;
        var actual = new ConformanceFormat(ns.BlockSize, ns.MetadataSize, ns.IsExtended, ns.PiType,
            ns.PiType == PiType.None ? f.Location : ns.PiLocation, ns.PiType == PiType.None ? f.Guard : ns.GuardFormat);
        Require(actual == f, $"the namespace reports {actual.Name} ({ns}), expected {f.Name}");
        Require(ns.StorageTagSize == 0, $"STS {ns.StorageTagSize}, expected 0");
        Require(f.Type == PiType.None || ns.ProtectionFormat is not null, $"the host cannot handle the PI format: {ns.ProtectionFormatError}");
    }
}
