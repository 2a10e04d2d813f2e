using System.Runtime.CompilerServices;
using Tmds.Linux;

namespace PolledNvme.Uring;

/// <summary>
/// One io_uring instance: the SQ and CQ rings mapped from the kernel, with shadow indices so
/// the hot path touches shared memory only at its publish points (one release store of the
/// SQ tail per submit, one acquire load of the CQ tail and one release store of the CQ head
/// per reap). Owned and used by one thread; never more operations in flight than the CQ has
/// entries, so completions cannot overflow.
/// </summary>
public sealed unsafe partial class UringRing : IDisposable
{
    // --- Shared with the kernel. Who writes each field is the rule that makes the ring safe. ---

    /// <summary>SQ head: written by the kernel as it consumes SQEs; we only read it (acquire).</summary>
    private readonly uint* _sqHead;
    /// <summary>SQ tail: written by us (release) when we publish SQEs; the kernel reads it.</summary>
    private readonly uint* _sqTail;
    /// <summary>SQ flags (NEED_WAKEUP, CQ_OVERFLOW, TASKRUN): written by the kernel.</summary>
    private readonly uint* _sqFlags;
    /// <summary>The SQE array: written by us between reserving a slot and publishing the tail.</summary>
    private readonly UringSqe* _sqes;
    /// <summary>CQ head: written by us (release) after we have read the CQEs up to it.</summary>
    private readonly uint* _cqHead;
    /// <summary>CQ tail: written by the kernel (after the CQEs it covers); we read it (acquire).</summary>
    private readonly uint* _cqTail;
    /// <summary>The CQE array: written by the kernel, read by us below the tail.</summary>
    private readonly UringCqe* _cqes;

    private readonly uint _sqMask;
    private readonly uint _cqMask;

    // --- This thread only. ---

    /// <summary>Next SQ tail: SQEs below it are prepared; published to <see cref="_sqTail"/> by Submit.</summary>
    private uint _sqTailShadow;
    /// <summary>Next CQ head: CQEs below it are consumed; published to <see cref="_cqHead"/> per reap.</summary>
    private uint _cqHeadShadow;
    /// <summary>Prepared or submitted operations whose completion has not been reaped.</summary>
    private int _inFlight;

    // --- Set once at setup; not touched on the I/O path below this line. ---

    private readonly int _ringFd;
    private readonly byte* _sqRingMap;
    private readonly nuint _sqRingMapSize;
    private readonly byte* _cqRingMap;      // == _sqRingMap with IORING_FEAT_SINGLE_MMAP
    private readonly nuint _cqRingMapSize;
    private readonly nuint _sqesMapSize;
    private bool _disposed;

    private UringRing(int ringFd, in UringParams p)
    {
        _ringFd = ringFd;
        SqEntries = p.SqEntries;
        CqEntries = p.CqEntries;
        AppliedFlags = p.Flags;
        Features = p.Features;

        _sqRingMapSize = p.SqOffsets.Array + p.SqEntries * sizeof(uint);
        _cqRingMapSize = p.CqOffsets.Cqes + p.CqEntries * (uint)sizeof(UringCqe);
        try
        {
            if ((p.Features & UringFeatures.SingleMmap) != 0)
            {
                // One mapping holds both rings (5.4+): map the larger extent once.
                _sqRingMapSize = _cqRingMapSize = Math.Max(_sqRingMapSize, _cqRingMapSize);
                _sqRingMap = _cqRingMap = Map(_sqRingMapSize, UringAbi.OffSqRing, "SQ/CQ rings");
            }
            else
            {
                _sqRingMap = Map(_sqRingMapSize, UringAbi.OffSqRing, "SQ ring");
                _cqRingMap = Map(_cqRingMapSize, UringAbi.OffCqRing, "CQ ring");
            }
            _sqesMapSize = p.SqEntries * (nuint)sizeof(UringSqe);
            _sqes = (UringSqe*)Map(_sqesMapSize, UringAbi.OffSqes, "SQE array");
        }
        catch
        {
            Unmap();
            LibC.close(_ringFd);
            throw;
        }

        _sqHead = (uint*)(_sqRingMap + p.SqOffsets.Head);
        _sqTail = (uint*)(_sqRingMap + p.SqOffsets.Tail);
        _sqFlags = (uint*)(_sqRingMap + p.SqOffsets.Flags);
        _sqMask = *(uint*)(_sqRingMap + p.SqOffsets.RingMask);
        _cqHead = (uint*)(_cqRingMap + p.CqOffsets.Head);
        _cqTail = (uint*)(_cqRingMap + p.CqOffsets.Tail);
        _cqMask = *(uint*)(_cqRingMap + p.CqOffsets.RingMask);
        _cqes = (UringCqe*)(_cqRingMap + p.CqOffsets.Cqes);

        // The SQ index array maps ring slot i to SQE i, forever; we then fill SQEs in ring order.
        uint* array = (uint*)(_sqRingMap + p.SqOffsets.Array);
        for (uint i = 0; i < p.SqEntries; i++)
            array[i] = i;
        _sqTailShadow = *_sqTail;
        _cqHeadShadow = *_cqHead;

        Probe = UringProbe.Query(this);
    }

    /// <summary>Creates a ring; throws <see cref="UringUnavailableException"/> where io_uring cannot be used.</summary>
    public static UringRing Create(UringRingOptions options)
        => Create(options, UringSetup.KernelSetup, UringAbi.DisabledSysctlPath);

    /// <summary>Creates a ring with an injected setup call and sysctl path (tests of the failure paths).</summary>
    internal static UringRing Create(UringRingOptions options, UringSetup.SetupCall setup, string disabledSysctlPath)
    {
        ArgumentNullException.ThrowIfNull(options);
        int fd = UringSetup.CreateRingFd(options, setup, disabledSysctlPath, out UringParams p);
        return new UringRing(fd, p);
    }

    /// <summary>SQ entries granted by the kernel (a power of two).</summary>
    public uint SqEntries { get; }

    /// <summary>CQ entries granted by the kernel; also the cap on operations in flight.</summary>
    public uint CqEntries { get; }

    /// <summary>The setup flags the kernel accepted (optional ones may have been dropped).</summary>
    public UringSetupFlags AppliedFlags { get; }

    /// <summary>IORING_FEAT_* reported by the kernel.</summary>
    public UringFeatures Features { get; }

    /// <summary>Which opcodes this kernel supports (IORING_REGISTER_PROBE).</summary>
    public UringProbe Probe { get; }

    /// <summary>The ring's file descriptor.</summary>
    public int Fd => _ringFd;

    /// <summary>Operations prepared or submitted whose completions have not yet been reaped.</summary>
    public int InFlight => _inFlight;

    /// <summary>Prepared SQEs not yet handed to the kernel.</summary>
    public uint Unsubmitted => _sqTailShadow - Volatile.Read(ref *_sqHead);

    /// <summary>How many more operations may be prepared now (bounded by free SQ slots and by the CQ size).</summary>
    public int Capacity
    {
        get
        {
            uint sqFree = SqEntries - (_sqTailShadow - Volatile.Read(ref *_sqHead));
            int cqFree = (int)CqEntries - _inFlight;
            return Math.Min((int)sqFree, cqFree);
        }
    }

    /// <summary>
    /// Reserves the next SQE, cleared, or returns false when the SQ is full or the CQ could
    /// not hold one more completion. The SQE belongs to the caller until <see cref="Submit"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryGetSqe(out UringSqe* sqe)
    {
        uint head = Volatile.Read(ref *_sqHead);
        if (_sqTailShadow - head >= SqEntries || _inFlight >= (int)CqEntries)
        {
            sqe = null;
            return false;
        }
        sqe = &_sqes[_sqTailShadow & _sqMask];
        *sqe = default;
        _sqTailShadow++;
        _inFlight++;
        return true;
    }

    /// <summary>Reserves the next SQE; throws when there is no room (see <see cref="TryGetSqe"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref UringSqe GetSqe()
    {
        if (!TryGetSqe(out UringSqe* sqe))
            ThrowRingFull();
        return ref *sqe;
    }

    /// <summary>
    /// Publishes prepared SQEs (one release store of the tail) and hands them to the kernel:
    /// one io_uring_enter, or none under SQPOLL while its thread is awake. Returns the number
    /// the kernel consumed.
    /// </summary>
    public int Submit() => SubmitAndWait(0);

    /// <summary>
    /// Publishes prepared SQEs and, in the same io_uring_enter, waits until at least
    /// <paramref name="minComplete"/> completions are ready in the CQ.
    /// </summary>
    public int SubmitAndWait(uint minComplete)
    {
        Volatile.Write(ref *_sqTail, _sqTailShadow);
        uint toSubmit = _sqTailShadow - Volatile.Read(ref *_sqHead);
        uint flags = minComplete > 0 ? UringAbi.EnterGetEvents : 0;

        if ((AppliedFlags & UringSetupFlags.SqPoll) != 0)
        {
            // The kernel thread consumes the SQ itself; wake it only if it went to sleep,
            // and wait in the kernel only if not enough completions are posted yet.
            if (minComplete > 0 && ReadyCompletions >= minComplete)
            {
                flags = 0;
                minComplete = 0;
            }
            Interlocked.MemoryBarrier(); // order the tail store before reading NEED_WAKEUP
            if ((Volatile.Read(ref *_sqFlags) & UringAbi.SqNeedWakeup) != 0)
                flags |= UringAbi.EnterSqWakeup;
            if (flags != 0)
                Enter(0, minComplete, flags);
            return (int)toSubmit;
        }

        if (toSubmit == 0 && ReadyCompletions >= minComplete)
            return 0; // nothing to hand over and enough already posted: no system call
        return Enter(toSubmit, minComplete, flags);
    }

    /// <summary>
    /// True when completions may be waiting for this thread to run the kernel's task work (an
    /// O_DIRECT read that ended in an interrupt, under COOP_TASKRUN or DEFER_TASKRUN): always
    /// while operations are in flight, unless the ring has IORING_SETUP_TASKRUN_FLAG, which
    /// says exactly (IORING_SQ_TASKRUN). <see cref="RunTaskWork"/> then posts them.
    /// </summary>
    public bool TaskWorkPending
        => (AppliedFlags & UringSetupFlags.TaskRunFlag) != 0
            ? (Volatile.Read(ref *_sqFlags) & UringAbi.SqTaskRun) != 0
            : _inFlight > 0 && (AppliedFlags & (UringSetupFlags.CoopTaskRun | UringSetupFlags.DeferTaskRun)) != 0;

    /// <summary>One io_uring_enter that submits what is prepared and runs pending task work, without waiting.</summary>
    public void RunTaskWork()
    {
        Volatile.Write(ref *_sqTail, _sqTailShadow);
        Enter(_sqTailShadow - Volatile.Read(ref *_sqHead), 0, UringAbi.EnterGetEvents);
    }

    /// <summary>Completions the kernel has posted and we have not yet consumed (no syscall).</summary>
    public uint ReadyCompletions => Volatile.Read(ref *_cqTail) - _cqHeadShadow;

    /// <summary>Takes the next ready completion without a system call; false if none is ready.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReap(out UringCqe cqe)
    {
        if (Volatile.Read(ref *_cqTail) == _cqHeadShadow)
        {
            cqe = default;
            return false;
        }
        cqe = _cqes[_cqHeadShadow & _cqMask];
        _cqHeadShadow++;
        _inFlight--;
        Volatile.Write(ref *_cqHead, _cqHeadShadow);
        return true;
    }

    /// <summary>
    /// Copies every ready completion (up to <paramref name="into"/>'s length) without a system
    /// call and releases their CQ slots with one store. Returns how many were copied.
    /// </summary>
    public int ReapBatch(Span<UringCqe> into)
    {
        uint tail = Volatile.Read(ref *_cqTail);
        int count = (int)Math.Min(tail - _cqHeadShadow, (uint)into.Length);
        for (int i = 0; i < count; i++)
            into[i] = _cqes[(_cqHeadShadow + (uint)i) & _cqMask];
        _cqHeadShadow += (uint)count;
        _inFlight -= count;
        Volatile.Write(ref *_cqHead, _cqHeadShadow);
        return count;
    }

    /// <summary>
    /// Returns the next completion: from the CQ if one is ready, otherwise after one
    /// io_uring_enter that also submits whatever is prepared and waits for a completion.
    /// </summary>
    public UringCqe WaitCompletion()
    {
        if (_inFlight == 0)
            ThrowNothingInFlight();
        UringCqe cqe;
        while (!TryReap(out cqe))
            SubmitAndWait(1);
        return cqe;
    }

    /// <summary>io_uring_enter calls made so far (for syscalls-per-I/O figures).</summary>
    public long EnterCalls { get; private set; }

    private int Enter(uint toSubmit, uint minComplete, uint flags)
    {
        while (true)
        {
            EnterCalls++;
            int result = LibC.io_uring_enter(_ringFd, toSubmit, minComplete, flags, null);
            if (result >= 0)
                return result;
            int errno = LibC.errno;
            if (errno == Errno.EINTR)
                continue;
            ThrowEnterFailed(errno, toSubmit, minComplete);
        }
    }

    private static byte* Map(nuint size, long offset, string what, int ringFd)
    {
        void* address = LibC.mmap(null, (size_t)(ulong)size, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED | LibC.MAP_POPULATE, ringFd, offset);
        if (address == LibC.MAP_FAILED)
        {
            int errno = LibC.errno;
            throw new UringException("mmap", errno, $"mapping the io_uring {what} ({size} bytes) failed with {Errno.Describe(errno)}.");
        }
        return (byte*)address;
    }

    private byte* Map(nuint size, long offset, string what) => Map(size, offset, what, _ringFd);

    private void Unmap()
    {
        if (_sqes != null) LibC.munmap(_sqes, (size_t)(ulong)_sqesMapSize);
        if (_cqRingMap != null && _cqRingMap != _sqRingMap) LibC.munmap(_cqRingMap, (size_t)(ulong)_cqRingMapSize);
        if (_sqRingMap != null) LibC.munmap(_sqRingMap, (size_t)(ulong)_sqRingMapSize);
    }

    /// <summary>
    /// Waits for every operation in flight (the kernel may still be writing into caller
    /// buffers), then unmaps the rings and closes the ring fd.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        try
        {
            while (_inFlight > 0)
                WaitCompletion();
        }
        finally
        {
            Unmap();
            LibC.close(_ringFd);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowRingFull() => throw new InvalidOperationException(
        $"The io_uring has no room for another operation: {Unsubmitted} prepared, {_inFlight} in flight of at most " +
        $"{CqEntries} (CQ size) with {SqEntries} SQ entries. Submit and reap completions first.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNothingInFlight() => throw new InvalidOperationException(
        "Waiting for a completion with no operation in flight would block forever.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowEnterFailed(int errno, uint toSubmit, uint minComplete) => throw new UringException("io_uring_enter", errno,
        $"io_uring_enter (submit {toSubmit}, wait for {minComplete}) failed with {Errno.Describe(errno)}.");
}
