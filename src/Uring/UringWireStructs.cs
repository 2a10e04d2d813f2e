using System.Runtime.InteropServices;

namespace PolledNvme.Uring;

// Wire structs shared with the kernel (include/uapi/linux/io_uring.h). Sizes are pinned by
// tests; offsets follow the header's unions, of which only the members we use are named.

/// <summary>A 64-byte submission queue entry (<c>struct io_uring_sqe</c>).</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public struct UringSqe
{
    /// <summary>Bytes in an SQE (without IORING_SETUP_SQE128).</summary>
    public const int Size = 64;

    /// <summary>What the operation is (<c>opcode</c>).</summary>
    [FieldOffset(0)] public UringOpcode Opcode;
    /// <summary>IOSQE_* flags.</summary>
    [FieldOffset(1)] public byte Flags;
    /// <summary>I/O priority (<c>ioprio</c>).</summary>
    [FieldOffset(2)] public ushort IoPriority;
    /// <summary>File descriptor, or an index into the registered files with IOSQE_FIXED_FILE.</summary>
    [FieldOffset(4)] public int Fd;
    /// <summary>File offset (<c>off</c>).</summary>
    [FieldOffset(8)] public ulong Offset;
    /// <summary>Buffer or iovec array address (<c>addr</c>); the length for FALLOCATE.</summary>
    [FieldOffset(16)] public ulong Address;
    /// <summary>Buffer length or iovec count (<c>len</c>); the mode for FALLOCATE.</summary>
    [FieldOffset(24)] public uint Length;
    /// <summary>The opcode's flags union (<c>rw_flags</c>, <c>fsync_flags</c>, ...).</summary>
    [FieldOffset(28)] public uint OpFlags;
    /// <summary>Returned untouched in the completion.</summary>
    [FieldOffset(32)] public ulong UserData;
    /// <summary>Index of a registered buffer for READ_FIXED / WRITE_FIXED.</summary>
    [FieldOffset(40)] public ushort BufferIndex;
    /// <summary>Registered credentials to run the operation with (0: the submitter's).</summary>
    [FieldOffset(42)] public ushort Personality;
    /// <summary>Direct-descriptor slot for operations that install a file (<c>file_index</c>).</summary>
    [FieldOffset(44)] public int FileIndex;
    /// <summary>Third address of some opcodes (<c>addr3</c>).</summary>
    [FieldOffset(48)] public ulong Address3;
    /// <summary>Reserved (<c>__pad2</c>).</summary>
    [FieldOffset(56)] public ulong Pad;
}

/// <summary>A 16-byte completion queue entry (<c>struct io_uring_cqe</c>). Only the kernel writes it: read-only here.</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
public readonly struct UringCqe
{
    /// <summary>The submission's user data.</summary>
    public readonly ulong UserData;
    /// <summary>Bytes transferred or 0 on success; a negated errno on failure.</summary>
    public readonly int Result;
    /// <summary>IORING_CQE_F_* flags.</summary>
    public readonly uint Flags;
}

/// <summary><c>struct io_sqring_offsets</c>: where the SQ ring's fields sit in its mapping.</summary>
[StructLayout(LayoutKind.Sequential, Size = 40)]
internal struct UringSqRingOffsets
{
    public uint Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1;
    public ulong UserAddress;
}

/// <summary><c>struct io_cqring_offsets</c>: where the CQ ring's fields sit in its mapping.</summary>
[StructLayout(LayoutKind.Sequential, Size = 40)]
internal struct UringCqRingOffsets
{
    public uint Head, Tail, RingMask, RingEntries, Overflow, Cqes, Flags, Resv1;
    public ulong UserAddress;
}

/// <summary><c>struct io_uring_params</c> (120 bytes): in and out argument of io_uring_setup(2).</summary>
[StructLayout(LayoutKind.Sequential, Size = 120)]
internal struct UringParams
{
    public uint SqEntries;
    public uint CqEntries;
    public UringSetupFlags Flags;
    public uint SqThreadCpu;
    public uint SqThreadIdle;
    public UringFeatures Features;
    public uint WqFd;
    public uint Resv0, Resv1, Resv2;
    public UringSqRingOffsets SqOffsets;
    public UringCqRingOffsets CqOffsets;
}

/// <summary><c>struct io_uring_probe</c> header (16 bytes), followed by its op array.</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
internal struct UringProbeHeader
{
    public byte LastOp;
    public byte OpsLength;
    public ushort Resv;
    public uint Resv2a, Resv2b, Resv2c;
}

/// <summary><c>struct io_uring_probe_op</c> (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
internal struct UringProbeOp
{
    public byte Op;
    public byte Resv;
    public ushort Flags;
    public uint Resv2;
}

/// <summary><c>struct iovec</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
public struct IoVec
{
    /// <summary>Start of the buffer (<c>iov_base</c>).</summary>
    public nint Base;
    /// <summary>Bytes in the buffer (<c>iov_len</c>).</summary>
    public nuint Length;
}
