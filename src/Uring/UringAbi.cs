namespace PolledNvme.Uring;

// The io_uring user/kernel ABI (include/uapi/linux/io_uring.h). Tmds.LibC 0.5.0 carries the
// ~5.7-era subset; everything is restated here under the kernel header's names so one file
// holds the whole contract, including what was added later (noted with the kernel version).

/// <summary>SQE opcodes (<c>enum io_uring_op</c>). Only the ones this project prepares.</summary>
public enum UringOpcode : byte
{
    /// <summary>IORING_OP_NOP.</summary>
    Nop = 0,
    /// <summary>IORING_OP_READV.</summary>
    Readv = 1,
    /// <summary>IORING_OP_WRITEV.</summary>
    Writev = 2,
    /// <summary>IORING_OP_FSYNC.</summary>
    Fsync = 3,
    /// <summary>IORING_OP_READ_FIXED.</summary>
    ReadFixed = 4,
    /// <summary>IORING_OP_WRITE_FIXED.</summary>
    WriteFixed = 5,
    /// <summary>IORING_OP_FALLOCATE (5.6).</summary>
    Fallocate = 17,
    /// <summary>IORING_OP_READ (5.6).</summary>
    Read = 22,
    /// <summary>IORING_OP_WRITE (5.6).</summary>
    Write = 23,
}

/// <summary><c>rw_flags</c> of READ/WRITE SQEs: the <c>RWF_*</c> flags of preadv2/pwritev2 (include/uapi/linux/fs.h).</summary>
[Flags]
public enum UringRwFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>RWF_DSYNC: the write is durable (data and what is needed to read it back) when it completes, like O_DSYNC.</summary>
    DataSync = 1u << 1,
}

/// <summary><c>io_uring_params.flags</c>: IORING_SETUP_*.</summary>
[Flags]
public enum UringSetupFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>IORING_SETUP_IOPOLL.</summary>
    IoPoll = 1u << 0,
    /// <summary>IORING_SETUP_SQPOLL.</summary>
    SqPoll = 1u << 1,
    /// <summary>IORING_SETUP_SQ_AFF.</summary>
    SqAffinity = 1u << 2,
    /// <summary>IORING_SETUP_CQSIZE.</summary>
    CqSize = 1u << 3,
    /// <summary>IORING_SETUP_CLAMP.</summary>
    Clamp = 1u << 4,
    /// <summary>IORING_SETUP_SUBMIT_ALL (5.18).</summary>
    SubmitAll = 1u << 7,
    /// <summary>IORING_SETUP_COOP_TASKRUN (5.19).</summary>
    CoopTaskRun = 1u << 8,
    /// <summary>IORING_SETUP_TASKRUN_FLAG (5.19): IORING_SQ_TASKRUN tells when completions wait for task work.</summary>
    TaskRunFlag = 1u << 9,
    /// <summary>IORING_SETUP_SINGLE_ISSUER (6.0).</summary>
    SingleIssuer = 1u << 12,
    /// <summary>IORING_SETUP_DEFER_TASKRUN (6.1).</summary>
    DeferTaskRun = 1u << 13,
}

/// <summary><c>io_uring_params.features</c>: IORING_FEAT_*, filled in by the kernel.</summary>
[Flags]
public enum UringFeatures : uint
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>IORING_FEAT_SINGLE_MMAP (5.4).</summary>
    SingleMmap = 1u << 0,
    /// <summary>IORING_FEAT_NODROP (5.5).</summary>
    NoDrop = 1u << 1,
    /// <summary>IORING_FEAT_SUBMIT_STABLE (5.5).</summary>
    SubmitStable = 1u << 2,
    /// <summary>IORING_FEAT_RW_CUR_POS (5.6).</summary>
    RwCurPos = 1u << 3,
    /// <summary>IORING_FEAT_CUR_PERSONALITY (5.6).</summary>
    CurPersonality = 1u << 4,
    /// <summary>IORING_FEAT_FAST_POLL (5.7).</summary>
    FastPoll = 1u << 5,
    /// <summary>IORING_FEAT_POLL_32BITS (5.9).</summary>
    Poll32Bits = 1u << 6,
    /// <summary>IORING_FEAT_SQPOLL_NONFIXED (5.11).</summary>
    SqPollNonFixed = 1u << 7,
    /// <summary>IORING_FEAT_EXT_ARG (5.11).</summary>
    ExtArg = 1u << 8,
    /// <summary>IORING_FEAT_NATIVE_WORKERS (5.12).</summary>
    NativeWorkers = 1u << 9,
    /// <summary>IORING_FEAT_RSRC_TAGS (5.13).</summary>
    RsrcTags = 1u << 10,
    /// <summary>IORING_FEAT_CQE_SKIP (5.17).</summary>
    CqeSkip = 1u << 11,
    /// <summary>IORING_FEAT_LINKED_FILE (5.17).</summary>
    LinkedFile = 1u << 12,
}

/// <summary>Constants of the ABI that are not enums.</summary>
internal static class UringAbi
{
    // io_uring_enter(2) flags.
    public const uint EnterGetEvents = 1u << 0; // IORING_ENTER_GETEVENTS
    public const uint EnterSqWakeup = 1u << 1;  // IORING_ENTER_SQ_WAKEUP
    public const uint EnterSqWait = 1u << 2;    // IORING_ENTER_SQ_WAIT (5.10)

    // The SQ ring's flags word (written by the kernel).
    public const uint SqNeedWakeup = 1u << 0; // IORING_SQ_NEED_WAKEUP
    public const uint SqCqOverflow = 1u << 1; // IORING_SQ_CQ_OVERFLOW (5.8)
    public const uint SqTaskRun = 1u << 2;    // IORING_SQ_TASKRUN (5.19)

    // io_uring_sqe.flags.
    public const byte SqeFixedFile = 1 << 0; // IOSQE_FIXED_FILE
    public const byte SqeIoLink = 1 << 2;    // IOSQE_IO_LINK

    // io_uring_sqe.fsync_flags.
    public const uint FsyncDataSync = 1u << 0; // IORING_FSYNC_DATASYNC

    // mmap(2) offsets of the three regions.
    public const long OffSqRing = 0;            // IORING_OFF_SQ_RING
    public const long OffCqRing = 0x8000000;    // IORING_OFF_CQ_RING
    public const long OffSqes = 0x10000000;     // IORING_OFF_SQES

    // io_uring_register(2) opcodes.
    public const uint RegisterBuffers = 0;   // IORING_REGISTER_BUFFERS
    public const uint UnregisterBuffers = 1; // IORING_UNREGISTER_BUFFERS
    public const uint RegisterFiles = 2;     // IORING_REGISTER_FILES
    public const uint UnregisterFiles = 3;   // IORING_UNREGISTER_FILES
    public const uint RegisterProbe = 8;     // IORING_REGISTER_PROBE (5.6)

    // io_uring_probe_op.flags.
    public const ushort ProbeOpSupported = 1 << 0; // IO_URING_OP_SUPPORTED

    // fallocate(2) modes (include/uapi/linux/falloc.h).

    /// <summary>The kernel's limit on SQ entries (IORING_MAX_ENTRIES).</summary>
    public const uint MaxSqEntries = 32768;

    /// <summary>The kernel's limit on CQ entries (IORING_MAX_CQ_ENTRIES = 2 * IORING_MAX_ENTRIES).</summary>
    public const uint MaxCqEntries = 2 * MaxSqEntries;

    /// <summary>Largest opcode number a probe can report (the probe's op array is sized by us).</summary>
    public const int ProbeOpSlots = 256;

    /// <summary>The sysctl that disables io_uring (6.6+): 0 enabled, 1 restricted to a group, 2 disabled.</summary>
    public const string DisabledSysctlPath = "/proc/sys/kernel/io_uring_disabled";

    /// <summary>Name of an opcode as the kernel header spells it, for error messages.</summary>
    public static string OpcodeName(UringOpcode opcode) => opcode switch
    {
        UringOpcode.Nop => "NOP",
        UringOpcode.Readv => "READV",
        UringOpcode.Writev => "WRITEV",
        UringOpcode.Fsync => "FSYNC",
        UringOpcode.ReadFixed => "READ_FIXED",
        UringOpcode.WriteFixed => "WRITE_FIXED",
        UringOpcode.Fallocate => "FALLOCATE",
        UringOpcode.Read => "READ",
        UringOpcode.Write => "WRITE",
        _ => $"opcode {(byte)opcode}",
    };
}
