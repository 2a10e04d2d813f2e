namespace PolledNvme.Driver.Spec;

/// <summary>Status Code Type (NVMe Base 2.0 §4.2.3.1, Fig 94).</summary>
public enum StatusCodeType : byte
{
    /// <summary>Generic command status.</summary>
    Generic = 0,
    /// <summary>Command specific status.</summary>
    CommandSpecific = 1,
    /// <summary>Media and data integrity errors.</summary>
    MediaAndDataIntegrity = 2,
    /// <summary>Path related status.</summary>
    PathRelated = 3,
    /// <summary>Vendor specific.</summary>
    VendorSpecific = 7,
}

/// <summary>
/// The 15-bit status field of a completion (CQE DW3[31:17]), packed as Linux does:
/// SC [7:0], SCT [10:8], CRD [12:11], M [13], DNR [14]. <see cref="ToString"/> gives the
/// readable form used in every error message, e.g. <c>EndToEndGuardCheckError (SCT 2h, SC 82h)</c>.
/// </summary>
public readonly record struct NvmeStatus(ushort Value)
{
    /// <summary>Do Not Retry bit in <see cref="Value"/>.</summary>
    public const ushort DnrBit = 0x4000;
    /// <summary>More bit in <see cref="Value"/>.</summary>
    public const ushort MoreBit = 0x2000;

    /// <summary>Success.</summary>
    public static readonly NvmeStatus Success = default;

    /// <summary>Builds a status from its parts.</summary>
    public static NvmeStatus Create(StatusCodeType type, byte code, bool doNotRetry = false)
        => new((ushort)(code | ((int)type << 8) | (doNotRetry ? DnrBit : 0)));

    /// <summary>Status Code.</summary>
    public byte Code => (byte)Value;
    /// <summary>Status Code Type.</summary>
    public StatusCodeType Type => (StatusCodeType)((Value >> 8) & 7);
    /// <summary>Command Retry Delay index.</summary>
    public int RetryDelay => (Value >> 11) & 3;
    /// <summary>More status information is available in the Error Information log.</summary>
    public bool More => (Value & MoreBit) != 0;
    /// <summary>Do Not Retry: the same command would fail again.</summary>
    public bool DoNotRetry => (Value & DnrBit) != 0;
    /// <summary>True when SCT and SC are both zero.</summary>
    public bool IsSuccess => (Value & 0x7FF) == 0;
    /// <summary>SCT and SC alone (the Linux 0x282-style constant, without CRD/M/DNR).</summary>
    public ushort TypeAndCode => (ushort)(Value & 0x7FF);

    /// <summary>The status name, e.g. <c>EndToEndGuardCheckError</c>, or <c>Unknown</c>.</summary>
    public string Name => NameOf(Type, Code);

    /// <summary>E.g. <c>EndToEndGuardCheckError (SCT 2h, SC 82h)</c>, with <c>, DNR</c> when set.</summary>
    public override string ToString()
        => $"{Name} (SCT {(int)Type:X}h, SC {Code:X2}h{(DoNotRetry ? ", DNR" : "")})";

    // Generic (SCT 0h).
    /// <summary>Invalid Command Opcode (0h/01h).</summary>
    public static NvmeStatus InvalidCommandOpcode => Create(StatusCodeType.Generic, 0x01, true);
    /// <summary>Invalid Field in Command (0h/02h).</summary>
    public static NvmeStatus InvalidField => Create(StatusCodeType.Generic, 0x02, true);
    /// <summary>Command ID Conflict (0h/03h).</summary>
    public static NvmeStatus CommandIdConflict => Create(StatusCodeType.Generic, 0x03, true);
    /// <summary>Data Transfer Error (0h/04h).</summary>
    public static NvmeStatus DataTransferError => Create(StatusCodeType.Generic, 0x04);
    /// <summary>Internal Error (0h/06h).</summary>
    public static NvmeStatus InternalError => Create(StatusCodeType.Generic, 0x06);
    /// <summary>Command Abort Requested (0h/07h).</summary>
    public static NvmeStatus AbortedByRequest => Create(StatusCodeType.Generic, 0x07);
    /// <summary>Command Aborted due to SQ Deletion (0h/08h).</summary>
    public static NvmeStatus AbortedSqDeletion => Create(StatusCodeType.Generic, 0x08);
    /// <summary>Transient Transport Error (0h/22h): a transport error the command may survive if retried (NVMe/TCP: a data digest mismatch).</summary>
    public static NvmeStatus TransientTransportError => Create(StatusCodeType.Generic, 0x22);
    /// <summary>Invalid Namespace or Format (0h/0Bh).</summary>
    public static NvmeStatus InvalidNamespaceOrFormat => Create(StatusCodeType.Generic, 0x0B, true);
    /// <summary>Command Sequence Error (0h/0Ch).</summary>
    public static NvmeStatus CommandSequenceError => Create(StatusCodeType.Generic, 0x0C, true);
    /// <summary>PRP Offset Invalid (0h/13h).</summary>
    public static NvmeStatus PrpOffsetInvalid => Create(StatusCodeType.Generic, 0x13, true);
    /// <summary>Namespace is Write Protected (0h/20h): the command would modify a write protected namespace.</summary>
    public static NvmeStatus NamespaceWriteProtected => Create(StatusCodeType.Generic, 0x20, true);
    /// <summary>LBA Out of Range (0h/80h).</summary>
    public static NvmeStatus LbaOutOfRange => Create(StatusCodeType.Generic, 0x80, true);
    /// <summary>Capacity Exceeded (0h/81h).</summary>
    public static NvmeStatus CapacityExceeded => Create(StatusCodeType.Generic, 0x81, true);

    // Command specific (SCT 1h).
    /// <summary>Completion Queue Invalid (1h/00h).</summary>
    public static NvmeStatus CompletionQueueInvalid => Create(StatusCodeType.CommandSpecific, 0x00, true);
    /// <summary>Invalid Queue Identifier (1h/01h).</summary>
    public static NvmeStatus InvalidQueueIdentifier => Create(StatusCodeType.CommandSpecific, 0x01, true);
    /// <summary>Invalid Queue Size (1h/02h).</summary>
    public static NvmeStatus InvalidQueueSize => Create(StatusCodeType.CommandSpecific, 0x02, true);
    /// <summary>Abort Command Limit Exceeded (1h/03h).</summary>
    public static NvmeStatus AbortCommandLimitExceeded => Create(StatusCodeType.CommandSpecific, 0x03, true);
    /// <summary>Invalid Interrupt Vector (1h/08h): Create I/O CQ with IEN and an IV the controller does not have.</summary>
    public static NvmeStatus InvalidInterruptVector => Create(StatusCodeType.CommandSpecific, 0x08, true);
    /// <summary>Invalid Log Page (1h/09h).</summary>
    public static NvmeStatus InvalidLogPage => Create(StatusCodeType.CommandSpecific, 0x09, true);
    /// <summary>Invalid Format (1h/0Ah).</summary>
    public static NvmeStatus InvalidFormat => Create(StatusCodeType.CommandSpecific, 0x0A, true);
    /// <summary>Invalid Queue Deletion (1h/0Ch).</summary>
    public static NvmeStatus InvalidQueueDeletion => Create(StatusCodeType.CommandSpecific, 0x0C, true);
    /// <summary>Feature Identifier Not Saveable (1h/0Dh).</summary>
    public static NvmeStatus FeatureNotSaveable => Create(StatusCodeType.CommandSpecific, 0x0D, true);
    /// <summary>Invalid Protection Information (1h/81h).</summary>
    public static NvmeStatus InvalidProtectionInformation => Create(StatusCodeType.CommandSpecific, 0x81, true);

    // Media and data integrity (SCT 2h). QEMU returns the E2E errors without DNR (PI.md §6).
    /// <summary>Write Fault (2h/80h): the write data could not be committed to the media.</summary>
    public static NvmeStatus WriteFault => Create(StatusCodeType.MediaAndDataIntegrity, 0x80);
    /// <summary>Unrecovered Read Error (2h/81h).</summary>
    public static NvmeStatus UnrecoveredReadError => Create(StatusCodeType.MediaAndDataIntegrity, 0x81);
    /// <summary>End-to-end Guard Check Error (2h/82h).</summary>
    public static NvmeStatus EndToEndGuardCheckError => Create(StatusCodeType.MediaAndDataIntegrity, 0x82);
    /// <summary>End-to-end Application Tag Check Error (2h/83h).</summary>
    public static NvmeStatus EndToEndApplicationTagCheckError => Create(StatusCodeType.MediaAndDataIntegrity, 0x83);
    /// <summary>End-to-end Reference Tag Check Error (2h/84h).</summary>
    public static NvmeStatus EndToEndReferenceTagCheckError => Create(StatusCodeType.MediaAndDataIntegrity, 0x84);
    /// <summary>Compare Failure (2h/85h).</summary>
    public static NvmeStatus CompareFailure => Create(StatusCodeType.MediaAndDataIntegrity, 0x85, true);
    /// <summary>Deallocated or Unwritten Logical Block (2h/87h).</summary>
    public static NvmeStatus DeallocatedOrUnwrittenBlock => Create(StatusCodeType.MediaAndDataIntegrity, 0x87);
    /// <summary>End-to-end Storage Tag Check Error (2h/88h).</summary>
    public static NvmeStatus EndToEndStorageTagCheckError => Create(StatusCodeType.MediaAndDataIntegrity, 0x88);

    /// <summary>Host Pathing Error (3h/70h): the host lost its path to the controller (NVMe/TCP: the connection failed); the command's outcome is unknown.</summary>
    public static NvmeStatus HostPathingError => Create(StatusCodeType.PathRelated, 0x70);

    /// <summary>The spec name of a status (NVMe Base 2.0 Figs 95-97, NVM CS 1.0 Figs 30-32).</summary>
    public static string NameOf(StatusCodeType type, byte code) => (type, code) switch
    {
        (StatusCodeType.Generic, 0x00) => "Success",
        (StatusCodeType.Generic, 0x01) => "InvalidCommandOpcode",
        (StatusCodeType.Generic, 0x02) => "InvalidFieldInCommand",
        (StatusCodeType.Generic, 0x03) => "CommandIdConflict",
        (StatusCodeType.Generic, 0x04) => "DataTransferError",
        (StatusCodeType.Generic, 0x05) => "AbortedPowerLoss",
        (StatusCodeType.Generic, 0x06) => "InternalError",
        (StatusCodeType.Generic, 0x07) => "CommandAbortRequested",
        (StatusCodeType.Generic, 0x08) => "AbortedSqDeletion",
        (StatusCodeType.Generic, 0x09) => "AbortedFailedFusedCommand",
        (StatusCodeType.Generic, 0x0A) => "AbortedMissingFusedCommand",
        (StatusCodeType.Generic, 0x0B) => "InvalidNamespaceOrFormat",
        (StatusCodeType.Generic, 0x0C) => "CommandSequenceError",
        (StatusCodeType.Generic, 0x0D) => "InvalidSglSegmentDescriptor",
        (StatusCodeType.Generic, 0x0E) => "InvalidNumberOfSglDescriptors",
        (StatusCodeType.Generic, 0x0F) => "DataSglLengthInvalid",
        (StatusCodeType.Generic, 0x10) => "MetadataSglLengthInvalid",
        (StatusCodeType.Generic, 0x11) => "SglDescriptorTypeInvalid",
        (StatusCodeType.Generic, 0x12) => "InvalidUseOfControllerMemoryBuffer",
        (StatusCodeType.Generic, 0x13) => "PrpOffsetInvalid",
        (StatusCodeType.Generic, 0x14) => "AtomicWriteUnitExceeded",
        (StatusCodeType.Generic, 0x15) => "OperationDenied",
        (StatusCodeType.Generic, 0x16) => "SglOffsetInvalid",
        (StatusCodeType.Generic, 0x1D) => "SanitizeInProgress",
        (StatusCodeType.Generic, 0x20) => "NamespaceIsWriteProtected",
        (StatusCodeType.Generic, 0x21) => "CommandInterrupted",
        (StatusCodeType.Generic, 0x22) => "TransientTransportError",
        (StatusCodeType.Generic, 0x80) => "LbaOutOfRange",
        (StatusCodeType.Generic, 0x81) => "CapacityExceeded",
        (StatusCodeType.Generic, 0x82) => "NamespaceNotReady",
        (StatusCodeType.Generic, 0x83) => "ReservationConflict",
        (StatusCodeType.Generic, 0x84) => "FormatInProgress",
        (StatusCodeType.CommandSpecific, 0x00) => "CompletionQueueInvalid",
        (StatusCodeType.CommandSpecific, 0x01) => "InvalidQueueIdentifier",
        (StatusCodeType.CommandSpecific, 0x02) => "InvalidQueueSize",
        (StatusCodeType.CommandSpecific, 0x03) => "AbortCommandLimitExceeded",
        (StatusCodeType.CommandSpecific, 0x05) => "AsynchronousEventRequestLimitExceeded",
        (StatusCodeType.CommandSpecific, 0x06) => "InvalidFirmwareSlot",
        (StatusCodeType.CommandSpecific, 0x07) => "InvalidFirmwareImage",
        (StatusCodeType.CommandSpecific, 0x08) => "InvalidInterruptVector",
        (StatusCodeType.CommandSpecific, 0x09) => "InvalidLogPage",
        (StatusCodeType.CommandSpecific, 0x0A) => "InvalidFormat",
        (StatusCodeType.CommandSpecific, 0x0C) => "InvalidQueueDeletion",
        (StatusCodeType.CommandSpecific, 0x0D) => "FeatureIdentifierNotSaveable",
        (StatusCodeType.CommandSpecific, 0x0E) => "FeatureNotChangeable",
        (StatusCodeType.CommandSpecific, 0x0F) => "FeatureNotNamespaceSpecific",
        (StatusCodeType.CommandSpecific, 0x80) => "ConflictingAttributes",
        (StatusCodeType.CommandSpecific, 0x81) => "InvalidProtectionInformation",
        (StatusCodeType.CommandSpecific, 0x82) => "AttemptedWriteToReadOnlyRange",
        (StatusCodeType.CommandSpecific, 0x83) => "CommandSizeLimitExceeded",
        (StatusCodeType.MediaAndDataIntegrity, 0x80) => "WriteFault",
        (StatusCodeType.MediaAndDataIntegrity, 0x81) => "UnrecoveredReadError",
        (StatusCodeType.MediaAndDataIntegrity, 0x82) => "EndToEndGuardCheckError",
        (StatusCodeType.MediaAndDataIntegrity, 0x83) => "EndToEndApplicationTagCheckError",
        (StatusCodeType.MediaAndDataIntegrity, 0x84) => "EndToEndReferenceTagCheckError",
        (StatusCodeType.MediaAndDataIntegrity, 0x85) => "CompareFailure",
        (StatusCodeType.MediaAndDataIntegrity, 0x86) => "AccessDenied",
        (StatusCodeType.MediaAndDataIntegrity, 0x87) => "DeallocatedOrUnwrittenLogicalBlock",
        (StatusCodeType.MediaAndDataIntegrity, 0x88) => "EndToEndStorageTagCheckError",
        (StatusCodeType.PathRelated, 0x00) => "InternalPathError",
        (StatusCodeType.PathRelated, 0x01) => "AsymmetricAccessPersistentLoss",
        (StatusCodeType.PathRelated, 0x02) => "AsymmetricAccessInaccessible",
        (StatusCodeType.PathRelated, 0x03) => "AsymmetricAccessTransition",
        (StatusCodeType.PathRelated, 0x60) => "ControllerPathingError",
        (StatusCodeType.PathRelated, 0x70) => "HostPathingError",
        (StatusCodeType.PathRelated, 0x71) => "CommandAbortedByHost",
        (StatusCodeType.VendorSpecific, _) => "VendorSpecific",
        _ => "Unknown",
    };
}
