using PolledNvme.Protection;

namespace PolledNvme.Driver;

/// <summary>
/// Protection information settings of one I/O command (NVM CS 1.0 §3.2.3.2.1, PI.md §4-5):
/// PRACT, which checks the controller performs (PRCHK guard/app/ref and STC), the initial
/// reference tag, the application tag and mask, and the storage tag. Passed by <c>in</c>.
/// The default value asks for nothing (PRACT = 0, no checks).
/// </summary>
public readonly struct IoProtectionOptions
{
    private readonly ushort _appTagMaskInverted;
    private readonly ulong _storageTagMaskInverted;
    private readonly bool _hasReferenceTag;
    private readonly bool _hasStorageTagMask;
    private readonly ulong _referenceTag;

    /// <summary>Protection Information Action: the controller inserts PI on write and strips it on read (when MS == PI size).</summary>
    public bool Pract { get; init; }

    /// <summary>Which checks the controller performs: Guard/ApplicationTag/ReferenceTag set PRCHK, StorageTag sets STC.</summary>
    public PiChecks Checks { get; init; }

    /// <summary>
    /// Initial logical block reference tag (ILBRT/EILBRT). When not set: for Type 1 and 2 the
    /// low reference-tag bits of the starting LBA (Type 1 requires exactly that), for Type 3 zero.
    /// </summary>
    public ulong ReferenceTag
    {
        get => _referenceTag;
        init
        {
            _referenceTag = value;
            _hasReferenceTag = true;
        }
    }

    /// <summary>True when <see cref="ReferenceTag"/> was set explicitly.</summary>
    public bool HasReferenceTag => _hasReferenceTag;

    /// <summary>Logical block application tag (LBAT, CDW15[15:0]).</summary>
    public ushort ApplicationTag { get; init; }

    /// <summary>Application tag mask (LBATM, CDW15[31:16]): 1 bits are compared. Default FFFFh.</summary>
    public ushort ApplicationTagMask
    {
        get => (ushort)~_appTagMaskInverted;
        init => _appTagMaskInverted = (ushort)~value;
    }

    /// <summary>Logical block storage tag (LBST), STS bits wide.</summary>
    public ulong StorageTag { get; init; }

    /// <summary>
    /// Storage tag mask for host-side checking. The controller uses the namespace's LBSTM (it
    /// is not a command field); when not set, host checks use the namespace's LBSTM too.
    /// </summary>
    public ulong StorageTagMask
    {
        get => ~_storageTagMaskInverted;
        init
        {
            _storageTagMaskInverted = ~value;
            _hasStorageTagMask = true;
        }
    }

    /// <summary>True when <see cref="StorageTagMask"/> was set explicitly.</summary>
    public bool HasStorageTagMask => _hasStorageTagMask;

    /// <summary>No PI action, no checks.</summary>
    public static IoProtectionOptions None => default;

    /// <summary>PRACT = 1 with the given checks: the controller generates PI on write and checks/strips on read.</summary>
    public static IoProtectionOptions ControllerInserts(PiChecks checks = PiChecks.Guard | PiChecks.ReferenceTag) => new() { Pract = true, Checks = checks };

    /// <summary>PRACT = 0 with the given checks: the host supplies PI, the controller checks it.</summary>
    public static IoProtectionOptions ControllerChecks(PiChecks checks = PiChecks.Guard | PiChecks.ReferenceTag) => new() { Checks = checks };
}
