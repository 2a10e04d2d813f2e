using PolledNvme.Driver.Spec;
using PolledNvme.Emulation.Media;
using PolledNvme.Queues;
using PolledNvme.Uring;

namespace PolledNvme.Emulation;

/// <summary>
/// The asynchronous data path of file namespaces: the device keeps fetching commands while
/// their media I/O is in flight in one io_uring ring (registered files, a registered buffer
/// arena, one io_uring_enter per device pass, completions reaped from the ring's memory without
/// a system call when they are there), and each command completes when its own media I/O ends,
/// in any order. Resources are bounded and preallocated: a pool of <see cref="MediaCommand"/>s
/// and a <see cref="MediaBufferArena"/>, both sized to the I/O queues' depths when queues are
/// created. A command that finds no buffer or ring room waits in the device, in order of
/// arrival, and the device stops fetching I/O until it could start; nothing fails for lack of
/// resources. Reset abandons what is in flight (after it ended: io_uring never writes host
/// memory, only the arena, and nothing is released under it), shutdown and queue deletion wait
/// for it. Device thread only (or the inline stepper).
/// </summary>
internal sealed unsafe partial class AsyncMedia : IDisposable
{
    /// <summary>Not a status: the command went to the media path, which completes it later.</summary>
    public static readonly NvmeStatus Accepted = new(0x7FFE);

    private const uint RingSqEntries = 256;
    /// <summary>
    /// O_DIRECT operations a pass hands to the kernel together, without waiting for its end. A
    /// pass that fetched a queue's worth used to submit it in one io_uring_enter: the disk got
    /// nothing until the kernel had run every write through the file system under one block plug,
    /// then got them all at once; they came back together, the host resubmitted them together,
    /// and the batch never broke up (QD32: 32 operations per enter, the disk idle between
    /// batches). One enter per operation, as fio submits, costs a system call and a queue kick
    /// each. Page-cache operations complete inside the enter and keep one enter per pass.
    /// </summary>
    internal const int DirectSubmitBatch = 4;
    private const uint RingCqEntries = 1024;
    /// <summary>Media buffer per I/O queue entry when the arena is sized: 64 KiB (a 16-block command of 4 KiB blocks and its metadata fit twice).</summary>
    private const int PagesPerQueueEntry = 16;
    /// <summary>The arena's upper bound (64 MiB): beyond it commands wait for buffers.</summary>
    private const int MaxArenaPages = 16384;
    /// <summary>The command pool's upper bound: beyond it the device stops fetching until commands end.</summary>
    private const int MaxCommands = 16384;

    private readonly ControllerCore _core;
    private readonly IoCommands _io;
    private readonly UringRing _ring;
    private readonly (int Buffered, int Direct)[] _files;   // registered file indices per namespace; -1 when none
    private readonly UringCqe[] _cqes = new UringCqe[256];
    private readonly int _maxCommandPages;
    private MediaBufferArena? _arena;
    private bool _fixedBuffers;
    private MediaCommand[] _commands = [];
    private int[] _free = [];
    private int _freeCount;
    private MediaCommand? _waitingHead, _waitingTail;   // fetched, waiting for resources (FIFO)
    private MediaCommand? _postingHead, _postingTail;   // done, waiting for completion queue room (FIFO)
    private MediaCommand? _flushes;                      // Flushes waiting for earlier writes
    private long _nextTicket;
    private MediaCommand[] _activeList = [];   // commands in the Active state, densely (MediaCommand.ActiveSlot)
    private int _active;
    private int _reservedSlots;   // ring completion entries the active commands may use
    private int _directPrepared;   // O_DIRECT operations prepared since the ring was last handed to the kernel
    private bool _discarding;
    private bool _hasNextFault;
    private bool _nextDrop;
    private TimeSpan _nextDelay;

    private AsyncMedia(ControllerCore core, IoCommands io, UringRing ring)
    {
        _core = core;
        _io = io;
        _ring = ring;
        _files = new (int, int)[core.Namespaces.Length];
        int maxTransfer = core.MaxTransferBytes;
        _maxCommandPages = MediaBufferArena.PagesFor(maxTransfer) + MediaBufferArena.PagesFor(maxTransfer / 512 * 64);
        RegisterFiles();
    }

    /// <summary>
    /// The media path for the controller's file namespaces, or null when none of them does its
    /// I/O through io_uring (RAM and null media, or io_uring unavailable: the synchronous path).
    /// </summary>
    public static AsyncMedia? TryCreate(ControllerCore core, IoCommands io)
    {
        if (!Array.Exists(core.Namespaces, ns => ns.AsyncFile is not null))
            return null;
        UringRing ring;
        try
        {
            // Stepped by whichever thread runs the device (inline: several in turn): not SINGLE_ISSUER.
            // COOP_TASKRUN + TASKRUN_FLAG: no interrupts for task work; the flag says when to enter for it.
            ring = UringRing.Create(new UringRingOptions
            {
                SqEntries = RingSqEntries, CqEntries = RingCqEntries, SingleIssuer = false, CooperativeTaskRun = true, TaskRunFlag = true,
            });
        }
        catch (UringUnavailableException)
        {
            return null;   // the files fell back to system calls already; the synchronous path serves them
        }
        if (!ring.Probe.Supports(UringOpcode.Read))
        {
            ring.Dispose();   // before 5.6: READ_FIXED without READ would need another fallback; the synchronous path works
            return null;
        }
        try
        {
            return new AsyncMedia(core, io, ring);
        }
        catch (UringException)
        {
            ring.Dispose();
            return null;   // the files could not be registered: the synchronous path serves them
        }
        catch
        {
            ring.Dispose();
            throw;
        }
    }

    /// <summary>Whether a newly fetched I/O command can be taken now: a command is free and none is waiting.</summary>
    public bool CanAccept => _freeCount != 0 && _waitingHead is null;

    /// <summary>Media operations in the ring (prepared or submitted, not yet reaped).</summary>
    public bool HasInFlight => _ring.InFlight != 0 || HasInlineDone;

    /// <summary>Pages of the media buffer arena (0 before the first I/O queue).</summary>
    public int ArenaPages => _arena?.Pages ?? 0;

    /// <summary>Commands whose media I/O is in flight (or Flushes waiting for it).</summary>
    public int ActiveCommands => _active;

    /// <summary>The completion fault (drop or delay) the next accepted command takes (the device took it from the injector at fetch).</summary>
    public void SetNextCompletionFault(bool drop, TimeSpan delay)
    {
        _hasNextFault = true;
        _nextDrop = drop;
        _nextDelay = delay;
    }

    /// <summary>Forgets a completion fault that no accepted command took (the command completed synchronously).</summary>
    public void ClearNextCompletionFault() => _hasNextFault = false;

    /// <summary>
    /// Takes a decoded Read, Write, Compare or Verify: starts its media I/O now, or keeps it
    /// waiting (behind the ones already waiting) until a buffer and ring room are free and no
    /// command it overlaps is in flight.
    /// </summary>
    public NvmeStatus Accept(ref SubmissionEntry c, EmulatedSubmissionQueue sq, in BlockCommand b)
    {
        var m = Take(ref c, sq);
        m.Block = b;
        if (_waitingHead is not null || !TryStart(m, decoded: true))
            Wait(m);
        return Accepted;
    }

    /// <summary>Takes a Flush of files on this path: its fdatasync starts when every write issued before it has ended.</summary>
    public NvmeStatus AcceptFlush(ref SubmissionEntry c, EmulatedSubmissionQueue sq)
    {
        var m = Take(ref c, sq);
        m.Block.Opcode = NvmOpcode.Flush;
        if (_waitingHead is not null || !TryStart(m, decoded: true))
            Wait(m);
        return Accepted;
    }

    /// <summary>
    /// Takes a Write Zeroes or Dataset Management on a file of this path: it runs (synchronously)
    /// once no command on its namespace is in flight, so it never interleaves with one.
    /// </summary>
    public NvmeStatus AcceptMaintenance(ref SubmissionEntry c, EmulatedSubmissionQueue sq, EmulatedNamespace ns)
    {
        var m = Take(ref c, sq);
        m.Block.Opcode = (NvmOpcode)c.Opcode;
        m.Block.Ns = ns;
        if (_waitingHead is not null || !TryStart(m, decoded: true))
            Wait(m);
        return Accepted;
    }

    /// <summary>
    /// Starts <paramref name="m"/> if it can start now (false: it waits). A waiting Read, Write,
    /// Compare or Verify is decoded again first: a Format may have run since it was fetched, and
    /// its host buffers are resolved at the moment its data moves.
    /// </summary>
    private bool TryStart(MediaCommand m, bool decoded)
    {
        switch (m.Block.Opcode)
        {
            case NvmOpcode.Flush:
                return TryStartFlush(m);
            case NvmOpcode.WriteZeroes or NvmOpcode.DatasetManagement:
                if (HasActiveOn(m.Block.Ns))
                    return false;
                RunMaintenance(m);
                return true;
        }
        if (!decoded)
        {
            var status = _io.Decode(ref m.Entry, out m.Block);
            if (!status.IsSuccess)
            {
                Finish(m, status, _io.LastErrorLba);
                return true;
            }
        }
        return !Overlaps(m) && _io.StartMedia(m);
    }

    /// <summary>
    /// Reserves completion-queue room in the ring for <paramref name="operations"/> operations
    /// for as long as the command is active, so its operations (resumed ones too) always fit.
    /// </summary>
    private bool TryReserveSlots(MediaCommand m, int operations)
    {
        if ((int)_ring.CqEntries - _reservedSlots < operations)
            return false;
        _reservedSlots += operations;
        m.ReservedSlots = operations;
        return true;
    }

    private MediaCommand Take(ref SubmissionEntry c, EmulatedSubmissionQueue sq)
    {
        if (_freeCount == 0)
            throw new InvalidOperationException("the device took an I/O command without a free media command (CanAccept was not asked).");
        var m = _commands[_free[--_freeCount]];
        m.Entry = c;
        m.Sq = sq;
        m.HasCompletionFault = _hasNextFault;
        m.DropCompletion = _hasNextFault && _nextDrop;
        m.DelayCompletion = _hasNextFault && !_nextDrop ? _nextDelay : TimeSpan.Zero;
        _hasNextFault = false;
        return m;
    }

    private void Wait(MediaCommand m)
    {
        m.State = MediaCommandState.Waiting;
        m.Next = null;
        if (_waitingTail is null)
            _waitingHead = m;
        else
            _waitingTail.Next = m;
        _waitingTail = m;
    }

    /// <summary>
    /// One device pass's share: reaps every ready completion (no system call, unless the kernel
    /// flags task work to run), ends the commands whose media I/O ended, starts waiting commands
    /// in order while they can start, posts completions that waited for queue room. Returns how
    /// much it did.
    /// </summary>
    public int Poll()
    {
        int work = Reap();
        while (_waitingHead is { } m)
        {
            _waitingHead = m.Next;
            m.Next = null;
            if (_waitingHead is null)
                _waitingTail = null;
            if (!TryStart(m, decoded: false))
            {
                m.Next = _waitingHead;   // still cannot start: first in line again
                _waitingHead = m;
                _waitingTail ??= m;
                break;
            }
            work++;
        }
        if (_postingHead is not null)
            work += PostWaiting();
        return work;
    }

    /// <summary>
    /// Test seam: while true, the operations passes prepare stay in the ring's submission queue,
    /// as if the media were slow: the device keeps fetching and preparing, nothing completes.
    /// Reset, shutdown, queue deletion and Format still wait for them (they submit them).
    /// </summary>
    internal bool HoldSubmissions { get; set; }

    /// <summary>Test seam: media writes issued with RWF_DSYNC (Force Unit Access), metadata and data parts counted apart.</summary>
    internal long DurableWrites { get; private set; }

    /// <summary>Test seam: io_uring_enter calls that handed prepared operations to the kernel (at a pass's end, or early for O_DIRECT).</summary>
    internal long Submissions { get; private set; }

    /// <summary>Test seam: the most operations one of those calls handed over.</summary>
    internal uint LargestSubmission { get; set; }

    /// <summary>Hands what the pass prepared to the kernel in one io_uring_enter, and runs task work the kernel flagged.</summary>
    public void SubmitPrepared()
    {
        if (HoldSubmissions)
            return;
        if (_ring.Unsubmitted != 0)
            SubmitNow();
        else if (_ring.TaskWorkPending)
            _ring.RunTaskWork();
    }

    private void SubmitNow()
    {
        uint operations = _ring.Unsubmitted;
        if (operations > LargestSubmission)
            LargestSubmission = operations;
        Submissions++;
        _directPrepared = 0;
        _ring.Submit();
    }

    /// <summary>Blocks until at least one media operation has completed (inline passes with nothing else to do).</summary>
    public void WaitForCompletion()
    {
        if (!HoldSubmissions && _ring.InFlight != 0 && _ring.ReadyCompletions == 0 && !HasInlineDone)
            _ring.SubmitAndWait(1);
    }

    /// <summary>
    /// Waits until no command has media I/O in flight, completing each as usual (queue deletion,
    /// shutdown, Format NVM, a new queue's buffers). Commands still waiting for resources stay so.
    /// </summary>
    public void Quiesce()
    {
        while (_active != 0)
        {
            if (_ring.InFlight == 0 && !HasInlineDone)
                throw new InvalidOperationException($"{_active} media commands are active with no media I/O in flight.");
            if (!HasInlineDone)
                _ring.SubmitAndWait(1);
            Reap();
        }
    }

    /// <summary>
    /// Controller reset: lets the media I/O in flight end (nothing of it reaches the host: no
    /// data, no completion), then forgets every command, waiting or done.
    /// </summary>
    public void Abandon()
    {
        _discarding = true;
        try
        {
            Quiesce();
        }
        finally
        {
            _discarding = false;
        }
        while (_waitingHead is { } m)
        {
            _waitingHead = m.Next;
            Release(m);
        }
        _waitingTail = null;
        while (_postingHead is { } m)
        {
            _postingHead = m.Next;
            Release(m);
        }
        _postingTail = null;
        _hasNextFault = false;
    }

    /// <summary>
    /// Delete I/O SQ (after <see cref="Quiesce"/>): commands of <paramref name="sq"/> still waiting
    /// for resources complete as Aborted due to SQ Deletion (when their queue has room); finished
    /// completions that wait for room in its queue are dropped with it.
    /// </summary>
    public void DropQueue(EmulatedSubmissionQueue sq)
    {
        MediaCommand? kept = null, keptTail = null;
        while (_waitingHead is { } m)
        {
            _waitingHead = m.Next;
            m.Next = null;
            if (m.Sq != sq)
            {
                if (keptTail is null) kept = m; else keptTail.Next = m;
                keptTail = m;
                continue;
            }
            if (!sq.CompletionQueue.IsFull)
                sq.CompletionQueue.Post(0, (ushort)sq.Head, sq.Id, m.Entry.CommandId, NvmeStatus.AbortedSqDeletion);
            Release(m);
        }
        (_waitingHead, _waitingTail) = (kept, keptTail);
        kept = keptTail = null;
        while (_postingHead is { } m)
        {
            _postingHead = m.Next;
            m.Next = null;
            if (m.Sq == sq)
            {
                Release(m);
                continue;
            }
            if (keptTail is null) kept = m; else keptTail.Next = m;
            keptTail = m;
        }
        (_postingHead, _postingTail) = (kept, keptTail);
    }

    /// <summary>
    /// A new I/O queue exists: the command pool grows to the queues' total depth and the arena to
    /// <see cref="PagesPerQueueEntry"/> pages per entry (within its bounds), after the media I/O
    /// in flight ended (the arena is registered with the ring as one buffer).
    /// </summary>
    public void SizeFor(int queueEntries)
    {
        int commands = Math.Min(queueEntries, MaxCommands);
        if (commands > _commands.Length)
        {
            var grown = new MediaCommand[commands];
            _commands.CopyTo(grown, 0);
            var free = new int[commands];
            _free.AsSpan(0, _freeCount).CopyTo(free);
            for (int i = _commands.Length; i < commands; i++)
            {
                grown[i] = new MediaCommand(i);
                free[_freeCount++] = i;
            }
            _commands = grown;
            _free = free;
            var active = new MediaCommand[commands];
            _activeList.AsSpan(0, _active).CopyTo(active);
            _activeList = active;
        }
        int pages = Math.Max(2 * _maxCommandPages, Math.Min((int)Math.Min((long)queueEntries * PagesPerQueueEntry, int.MaxValue), MaxArenaPages));
        if (_arena is not null && _arena.Pages >= pages)
            return;
        Quiesce();
        MediaBufferArena arena;
        try
        {
            arena = new MediaBufferArena(pages);
        }
        catch (OutOfMemoryException) when (_arena is not null)
        {
            return;   // the old arena serves; commands wait for its buffers
        }
        if (_fixedBuffers)
            _ring.UnregisterBuffers();
        _arena?.Dispose();
        _arena = arena;
        try
        {
            _ring.RegisterBuffers([arena.AsIoVec()]);
            _fixedBuffers = true;
        }
        catch (UringException)
        {
            _fixedBuffers = false;   // pinned memory over RLIMIT_MEMLOCK: plain READ/WRITE pin per I/O instead
        }
    }

    /// <summary>A namespace's file changed (Format NVM re-laid it): registers the files again; media I/O must have ended.</summary>
    public void RefreshFiles()
    {
        Quiesce();
        _ring.UnregisterFiles();
        RegisterFiles();
    }

    private void RegisterFiles()
    {
        var fds = new List<int>();
        var namespaces = _core.Namespaces;
        for (int i = 0; i < namespaces.Length; i++)
        {
            _files[i] = (-1, -1);
            if (namespaces[i].AsyncFile is not { } file)
                continue;
            _files[i].Buffered = fds.Count;
            fds.Add(file.BufferedFd);
            if (file.DirectFd >= 0)
            {
                _files[i].Direct = fds.Count;
                fds.Add(file.DirectFd);
            }
        }
        _ring.RegisterFiles(fds.ToArray());
    }

    /// <summary>Returns a command to the pool (its buffer too).</summary>
    private void Release(MediaCommand m)
    {
        ReleaseBuffer(m);
        m.Reset();
        _free[_freeCount++] = m.Index;
    }

    private void ReleaseBuffer(MediaCommand m)
    {
        if (m.Pages != 0)
        {
            _arena!.Free(m.FirstPage, m.Pages);
            m.Pages = 0;
        }
    }

    /// <summary>Drains the ring (the kernel may still write into the arena), then frees the arena.</summary>
    public void Dispose()
    {
        _ring.Dispose();
        _arena?.Dispose();
    }
}
