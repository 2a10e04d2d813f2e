namespace PolledNvme.Uring;

/// <summary>
/// SQE preparation, one method per opcode (the field use of each is in io_uring/*.c's
/// <c>*_prep</c> functions). The SQE comes zeroed from <see cref="UringRing.GetSqe"/>.
/// A negative <c>fd</c> here is never valid; with <c>fixedFile</c> it is an index
/// into the ring's registered files.
/// </summary>
public static class UringSqeExtensions
{
    /// <summary>NOP: completes at once with result 0 (a ring's round trip, nothing else).</summary>
    public static void PrepareNop(this ref UringSqe sqe, ulong userData)
    {
        sqe.Opcode = UringOpcode.Nop;
        sqe.Fd = -1;
        sqe.UserData = userData;
    }

    /// <summary>READ: <paramref name="length"/> bytes at <paramref name="offset"/> into <paramref name="buffer"/>.</summary>
    public static void PrepareRead(this ref UringSqe sqe, int fd, nint buffer, uint length, ulong offset, ulong userData, bool fixedFile = false)
        => sqe.PrepareRw(UringOpcode.Read, fd, (ulong)buffer, length, offset, userData, fixedFile);

    /// <summary>WRITE: <paramref name="length"/> bytes from <paramref name="buffer"/> at <paramref name="offset"/>.</summary>
    public static void PrepareWrite(this ref UringSqe sqe, int fd, nint buffer, uint length, ulong offset, ulong userData, bool fixedFile = false)
        => sqe.PrepareRw(UringOpcode.Write, fd, (ulong)buffer, length, offset, userData, fixedFile);

    /// <summary>READV: scatter into <paramref name="count"/> iovecs (which must stay valid until the SQE is submitted).</summary>
    public static void PrepareReadv(this ref UringSqe sqe, int fd, nint iovecs, uint count, ulong offset, ulong userData, bool fixedFile = false)
        => sqe.PrepareRw(UringOpcode.Readv, fd, (ulong)iovecs, count, offset, userData, fixedFile);

    /// <summary>WRITEV: gather from <paramref name="count"/> iovecs.</summary>
    public static void PrepareWritev(this ref UringSqe sqe, int fd, nint iovecs, uint count, ulong offset, ulong userData, bool fixedFile = false)
        => sqe.PrepareRw(UringOpcode.Writev, fd, (ulong)iovecs, count, offset, userData, fixedFile);

    /// <summary>READ_FIXED: <paramref name="buffer"/> must lie inside registered buffer <paramref name="bufferIndex"/>.</summary>
    public static void PrepareReadFixed(this ref UringSqe sqe, int fd, nint buffer, uint length, ulong offset, ushort bufferIndex, ulong userData, bool fixedFile = false)
    {
        sqe.PrepareRw(UringOpcode.ReadFixed, fd, (ulong)buffer, length, offset, userData, fixedFile);
        sqe.BufferIndex = bufferIndex;
    }

    /// <summary>WRITE_FIXED: <paramref name="buffer"/> must lie inside registered buffer <paramref name="bufferIndex"/>.</summary>
    public static void PrepareWriteFixed(this ref UringSqe sqe, int fd, nint buffer, uint length, ulong offset, ushort bufferIndex, ulong userData, bool fixedFile = false)
    {
        sqe.PrepareRw(UringOpcode.WriteFixed, fd, (ulong)buffer, length, offset, userData, fixedFile);
        sqe.BufferIndex = bufferIndex;
    }

    /// <summary>FSYNC of the whole file; <paramref name="dataOnly"/> makes it fdatasync (IORING_FSYNC_DATASYNC).</summary>
    public static void PrepareFsync(this ref UringSqe sqe, int fd, bool dataOnly, ulong userData, bool fixedFile = false)
    {
        sqe.PrepareRw(UringOpcode.Fsync, fd, 0, 0, 0, userData, fixedFile);
        sqe.OpFlags = dataOnly ? UringAbi.FsyncDataSync : 0;
    }

    /// <summary>FALLOCATE: the kernel reads the offset from <c>off</c>, the length from <c>addr</c> and the mode from <c>len</c>.</summary>
    public static void PrepareFallocate(this ref UringSqe sqe, int fd, int mode, ulong offset, ulong length, ulong userData, bool fixedFile = false)
        => sqe.PrepareRw(UringOpcode.Fallocate, fd, length, (uint)mode, offset, userData, fixedFile);

    /// <summary>FALLOCATE with FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE: frees the range, which then reads as zeros.</summary>
    public static void PreparePunchHole(this ref UringSqe sqe, int fd, ulong offset, ulong length, ulong userData, bool fixedFile = false)
        => sqe.PrepareFallocate(fd, FallocateMode.PunchHole | FallocateMode.KeepSize, offset, length, userData, fixedFile);

    /// <summary>
    /// IOSQE_IO_LINK: the next SQE of the same submission starts only after this one completed
    /// in full; if this one fails or transfers less, the next completes with -ECANCELED.
    /// </summary>
    public static void LinkNext(this ref UringSqe sqe) => sqe.Flags |= UringAbi.SqeIoLink;

    /// <summary>Sets the <c>rw_flags</c> of a READ/WRITE (fixed or not) SQE, e.g. RWF_DSYNC for a durable write.</summary>
    public static void SetRwFlags(this ref UringSqe sqe, UringRwFlags flags) => sqe.OpFlags = (uint)flags;

    private static void PrepareRw(this ref UringSqe sqe, UringOpcode opcode, int fd, ulong address, uint length, ulong offset, ulong userData, bool fixedFile)
    {
        sqe.Opcode = opcode;
        sqe.Flags = fixedFile ? UringAbi.SqeFixedFile : (byte)0;
        sqe.Fd = fd;
        sqe.Address = address;
        sqe.Length = length;
        sqe.Offset = offset;
        sqe.UserData = userData;
    }
}
