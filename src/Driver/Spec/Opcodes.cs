namespace PolledNvme.Driver.Spec;

/// <summary>Admin command opcodes (NVMe Base 2.0 §5, Fig 139).</summary>
public enum AdminOpcode : byte
{
    /// <summary>Delete I/O Submission Queue.</summary>
    DeleteIoSubmissionQueue = 0x00,
    /// <summary>Create I/O Submission Queue.</summary>
    CreateIoSubmissionQueue = 0x01,
    /// <summary>Get Log Page.</summary>
    GetLogPage = 0x02,
    /// <summary>Delete I/O Completion Queue.</summary>
    DeleteIoCompletionQueue = 0x04,
    /// <summary>Create I/O Completion Queue.</summary>
    CreateIoCompletionQueue = 0x05,
    /// <summary>Identify.</summary>
    Identify = 0x06,
    /// <summary>Abort.</summary>
    Abort = 0x08,
    /// <summary>Set Features.</summary>
    SetFeatures = 0x09,
    /// <summary>Get Features.</summary>
    GetFeatures = 0x0A,
    /// <summary>Asynchronous Event Request.</summary>
    AsynchronousEventRequest = 0x0C,
    /// <summary>Doorbell Buffer Config (§5.9): shadow doorbell and EventIdx buffers; offered when OACS bit 8 is set.</summary>
    DoorbellBufferConfig = 0x7C,
    /// <summary>Format NVM (NVM CS).</summary>
    FormatNvm = 0x80,
}

/// <summary>NVM command set I/O opcodes (NVM CS 1.0 §3, Fig 18).</summary>
public enum NvmOpcode : byte
{
    /// <summary>Flush.</summary>
    Flush = 0x00,
    /// <summary>Write.</summary>
    Write = 0x01,
    /// <summary>Read.</summary>
    Read = 0x02,
    /// <summary>Compare.</summary>
    Compare = 0x05,
    /// <summary>Write Zeroes.</summary>
    WriteZeroes = 0x08,
    /// <summary>Dataset Management.</summary>
    DatasetManagement = 0x09,
    /// <summary>Verify.</summary>
    Verify = 0x0C,
}

/// <summary>Identify CNS values (NVMe Base 2.0 §5.17.2, Fig 273).</summary>
public enum IdentifyCns : byte
{
    /// <summary>Identify Namespace data structure for the NSID.</summary>
    Namespace = 0x00,
    /// <summary>Identify Controller data structure.</summary>
    Controller = 0x01,
    /// <summary>Active namespace ID list (NSIDs greater than CDW1.NSID).</summary>
    ActiveNamespaceList = 0x02,
    /// <summary>Namespace identification descriptor list.</summary>
    NamespaceDescriptors = 0x03,
    /// <summary>I/O command set specific Identify Namespace (with CSI; NVM CS: Fig 114).</summary>
    CommandSetNamespace = 0x05,
    /// <summary>I/O command set specific Identify Controller (with CSI).</summary>
    CommandSetController = 0x06,
}

/// <summary>Feature identifiers (NVMe Base 2.0 §5.27.1, Fig 317).</summary>
public enum FeatureId : byte
{
    /// <summary>Arbitration.</summary>
    Arbitration = 0x01,
    /// <summary>Power Management.</summary>
    PowerManagement = 0x02,
    /// <summary>Temperature Threshold: CDW11 TMPTH [15:0] (K), TMPSEL [19:16], THSEL [21:20].</summary>
    TemperatureThreshold = 0x04,
    /// <summary>Error Recovery: CDW11 TLER [15:0] (100 ms units), DULBE [16].</summary>
    ErrorRecovery = 0x05,
    /// <summary>Volatile Write Cache.</summary>
    VolatileWriteCache = 0x06,
    /// <summary>Number of Queues: CDW11/DW0 NSQR [15:0], NCQR [31:16], both 0's based.</summary>
    NumberOfQueues = 0x07,
    /// <summary>Interrupt Coalescing.</summary>
    InterruptCoalescing = 0x08,
    /// <summary>Write Atomicity Normal: CDW11 DN [0].</summary>
    WriteAtomicityNormal = 0x0A,
    /// <summary>Asynchronous Event Configuration.</summary>
    AsyncEventConfiguration = 0x0B,
    /// <summary>Host Behavior Support: 512-byte data buffer; byte 2 is LBAFEE.</summary>
    HostBehaviorSupport = 0x16,
}

/// <summary>Log page identifiers (NVMe Base 2.0 §5.16.1, Fig 202).</summary>
public enum LogPageId : byte
{
    /// <summary>Error Information: 64-byte entries.</summary>
    ErrorInformation = 0x01,
    /// <summary>SMART / Health Information: 512 bytes.</summary>
    SmartHealth = 0x02,
    /// <summary>Firmware Slot Information.</summary>
    FirmwareSlot = 0x03,
    /// <summary>Discovery (NVMe Base 2.0 §5.16.1.23): a 1024-byte header, then 1024-byte entries; discovery controllers only.</summary>
    Discovery = 0x70,
}

/// <summary>Command dword layouts shared by host and controller.</summary>
public static class CommandFields
{
    /// <summary>CDW12[15:0]: number of logical blocks, 0's based.</summary>
    public const uint NlbMask = 0xFFFF;
    /// <summary>CDW12[24]: storage tag check.</summary>
    public const uint StorageTagCheck = 1u << 24;
    /// <summary>CDW12[25]: deallocate (Write Zeroes).</summary>
    public const uint Deallocate = 1u << 25;
    /// <summary>CDW12[29:26] shift: PRINFO (PRACT bit 3, guard bit 2, app bit 1, ref bit 0).</summary>
    public const int PrinfoShift = 26;
    /// <summary>PRINFO bit: protection information action.</summary>
    public const uint Pract = 1u << 29;
    /// <summary>PRINFO bit: check the guard.</summary>
    public const uint PrchkGuard = 1u << 28;
    /// <summary>PRINFO bit: check the application tag.</summary>
    public const uint PrchkApplicationTag = 1u << 27;
    /// <summary>PRINFO bit: check the reference tag.</summary>
    public const uint PrchkReferenceTag = 1u << 26;
    /// <summary>CDW12[30]: force unit access.</summary>
    public const uint ForceUnitAccess = 1u << 30;
    /// <summary>CDW12[31]: limited retry.</summary>
    public const uint LimitedRetry = 1u << 31;
    /// <summary>Dataset Management CDW11 bit 2: attribute deallocate.</summary>
    public const uint DsmAttributeDeallocate = 1u << 2;

    /// <summary>Format NVM CDW10: LBAFL [3:0], MSET [4], PI [7:5], PIL [8], SES [11:9], LBAFU [13:12] (NVM CS 1.0 Fig 86).</summary>
    public static uint FormatNvmCdw10(int lbaFormatIndex, bool extendedMetadata, int piType, bool piFirst, int secureErase)
        => (uint)(lbaFormatIndex & 0xF) | (extendedMetadata ? 1u << 4 : 0) | ((uint)(piType & 7) << 5)
           | (piFirst ? 1u << 8 : 0) | ((uint)(secureErase & 7) << 9) | ((uint)((lbaFormatIndex >> 4) & 3) << 12);
}
