using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Emulation;

/// <summary>Enable, reset and shutdown (NVMe Base 2.0 §3.5), and the I/O queue lifecycle (§5.4-5.7).</summary>
internal sealed unsafe partial class ControllerCore
{
    /// <summary>Why the last CC.EN 0 → 1 failed (and CSTS.CFS was set), for diagnostics; null after a good enable.</summary>
    public string? LastEnableError { get; private set; }

    private void OnConfigurationChange(ConfigurationEvent change)
    {
        switch (change)
        {
            case ConfigurationEvent.Enable:
                Enable();
                break;
            case ConfigurationEvent.Disable:
                Reset();
                break;
            case ConfigurationEvent.Shutdown:
                // SHST 01b now, 10b on the next pass: a host may see "occurring" (§3.6.2).
                _shutdown = true;
                _shutdownCompletePending = true;
                Registers.UpdateStatus(1u << ControllerStatus.ShstShift, ControllerStatus.ShstMask << ControllerStatus.ShstShift);
                break;
            case ConfigurationEvent.ShutdownCleared:
                Registers.UpdateStatus(0, ControllerStatus.ShstMask << ControllerStatus.ShstShift);
                break;
        }
        Registers.RestoreReadOnly();
    }

    private void CompleteShutdown()
    {
        _shutdownCompletePending = false;
        _media?.Quiesce();   // the commands in flight complete first; then their writes are flushed
        foreach (var ns in Namespaces)
        {
            try
            {
                ns.Flush();
            }
            catch (IOException e)
            {
                // No command to fail: the Error Information log keeps it (SQID/CID FFFFh), shutdown completes.
                Logs.RecordError(ControllerLogs.NoCommand, ControllerLogs.NoCommand, MediaErrorStatus.Of(e, admin: false), ns.Id, 0, e.Message);
            }
        }
        Registers.UpdateStatus(2u << ControllerStatus.ShstShift, ControllerStatus.ShstMask << ControllerStatus.ShstShift);
    }

    private void Enable()
    {
        if (_fatal)
            return;
        string? problem = CheckEnableConfiguration(out int sqEntries, out int cqEntries, out nint sqRing, out nint cqRing);
        LastEnableError = problem;
        if (problem is not null)
        {
            EnterFatalState($"the emulated controller refused CC.EN = 1: {problem}");
            return;
        }
        var acq = new EmulatedCompletionQueue(0, cqEntries, (CompletionEntry*)cqRing, Registers.CqHeadDoorbell(0));
        var asq = new EmulatedSubmissionQueue(0, sqEntries, (SubmissionEntry*)sqRing, Registers.SqTailDoorbell(0), acq);
        acq.AttachedSubmissionQueues = 1;
        _completionQueues[0] = acq;
        _submissionQueues[0] = asq;
        _ready = true;
        Registers.UpdateStatus(ControllerStatus.Ready, 0);
    }

    private string? CheckEnableConfiguration(out int sqEntries, out int cqEntries, out nint sqRing, out nint cqRing)
    {
        sqEntries = cqEntries = 0;
        sqRing = cqRing = 0;
        uint cc = Registers.Configuration;
        var cap = Registers.Capabilities;
        int css = (int)((cc >> ControllerConfiguration.CssShift) & 7);
        int mps = (int)((cc >> ControllerConfiguration.MpsShift) & 0xF);
        int ams = (int)((cc >> ControllerConfiguration.AmsShift) & 7);
        int iosqes = (int)((cc >> ControllerConfiguration.IosqesShift) & 0xF);
        int iocqes = (int)((cc >> ControllerConfiguration.IocqesShift) & 0xF);
        if (css != 0)
            return $"CC.CSS {css} is not supported (only 000b, NVM command set)";
        if (mps < cap.Mpsmin || mps > cap.Mpsmax)
            return $"CC.MPS {mps} is outside CAP.MPSMIN..MPSMAX ({cap.Mpsmin}..{cap.Mpsmax})";
        if (ams != 0)
            return $"CC.AMS {ams} is not supported (only round robin)";
        if (iosqes != 6 || iocqes != 4)
            return $"CC.IOSQES/IOCQES {iosqes}/{iocqes} must be 6/4 (64-byte SQ and 16-byte CQ entries)";
        uint aqa = Registers.Read32(ControllerRegisters.Aqa);
        sqEntries = (int)(aqa & 0xFFF) + 1;
        cqEntries = (int)((aqa >> 16) & 0xFFF) + 1;
        if (sqEntries < 2 || cqEntries < 2)
            return $"AQA ASQS/ACQS {sqEntries - 1}/{cqEntries - 1} is below the minimum of 1 (two entries)";
        ulong asq = Registers.Read64(ControllerRegisters.Asq);
        ulong acq = Registers.Read64(ControllerRegisters.Acq);
        ulong pageMask = (ulong)Registers.PageSize - 1;
        if ((asq & pageMask) != 0 || (acq & pageMask) != 0)
            return $"ASQ 0x{asq:X} / ACQ 0x{acq:X} must be aligned to the memory page size {Registers.PageSize}";
        sqRing = Dma.Translate(asq, (ulong)sqEntries * SubmissionEntry.Size);
        cqRing = Dma.Translate(acq, (ulong)cqEntries * CompletionEntry.Size);
        if (sqRing == 0 || cqRing == 0)
            return $"the admin queues (ASQ 0x{asq:X}, ACQ 0x{acq:X}) are not inside DMA mappings";
        return null;
    }

    /// <summary>Controller reset (CC.EN 1 → 0, §3.7.2): every queue is gone, features revert, CSTS.RDY clears.</summary>
    private void Reset()
    {
        _media?.Abandon();   // media I/O in flight ends before the queues and host memory are forgotten
        _ready = false;
        _fatal = false;
        _fatalReason = null;
        _shutdown = false;
        _shutdownCompletePending = false;
        Array.Clear(_submissionQueues);
        Array.Clear(_completionQueues);
        _ioQueues = [];
        _interruptQueues = [];
        _deferred.Clear();
        _aborts.Clear();
        _admin.Reset();
        Features.Reset();
        ForgetShadowDoorbells();
        Registers.ClearDoorbells();
        // SHST stays visible while CC.SHN is still set (the host may reset after a shutdown).
        bool shnSet = ((Registers.Configuration >> ControllerConfiguration.ShnShift) & 3) != 0;
        Registers.SetStatus(shnSet ? Registers.Status & (ControllerStatus.ShstMask << ControllerStatus.ShstShift) : 0);
    }

    /// <summary>
    /// The checks both queue creations share, after the queue ids: size within CAP.MQES, a page
    /// aligned base, physically contiguous (CAP.CQR = 1), and the whole ring inside DMA mappings.
    /// </summary>
    private NvmeStatus MapRing(int entries, ulong baseIova, bool physicallyContiguous, int entrySize, out nint ring)
    {
        ring = 0;
        if (entries < 2 || entries > Registers.Capabilities.Mqes + 1)
            return NvmeStatus.InvalidQueueSize;
        if ((baseIova & ((ulong)Registers.PageSize - 1)) != 0)
            return NvmeStatus.PrpOffsetInvalid;
        if (!physicallyContiguous)
            return NvmeStatus.InvalidField;
        ring = Dma.Translate(baseIova, (ulong)entries * (ulong)entrySize);
        return ring == 0 ? NvmeStatus.DataTransferError : NvmeStatus.Success;
    }

    /// <summary>Create I/O Completion Queue (§5.4): checks in QEMU's order (QID, size, base, PC).</summary>
    public NvmeStatus CreateCompletionQueue(ushort qid, int entries, ulong baseIova, bool physicallyContiguous, bool interruptsEnabled = false, ushort interruptVector = 0)
    {
        if (qid == 0 || qid > Features.CompletionQueuesAllocated || _completionQueues[qid] is not null)
            return NvmeStatus.InvalidQueueIdentifier;
        var status = MapRing(entries, baseIova, physicallyContiguous, CompletionEntry.Size, out nint ring);
        if (!status.IsSuccess)
            return status;
        // §5.4: IV beyond the interrupt vectors the controller has (checked when IEN, as QEMU does).
        if (interruptsEnabled && interruptVector >= InterruptVectorCount)
            return NvmeStatus.InvalidInterruptVector;
        // The doorbell may hold a stale value from an earlier queue with this id.
        *Registers.CqHeadDoorbell(qid) = 0;
        var cq = new EmulatedCompletionQueue(qid, entries, (CompletionEntry*)ring, Registers.CqHeadDoorbell(qid));
        if (!AttachShadow(cq))
            return NvmeStatus.DataTransferError;   // its shadow doorbell slots lie outside the DMA mappings
        _completionQueues[qid] = cq;
        if (interruptsEnabled)
        {
            cq.InterruptsEnabled = true;
            cq.InterruptVector = interruptVector;
            _interruptQueues = [.. _interruptQueues, cq];
        }
        return NvmeStatus.Success;
    }

    /// <summary>Create I/O Submission Queue (§5.5): checks in QEMU's order (CQID, QID, size, base, PC).</summary>
    public NvmeStatus CreateSubmissionQueue(ushort qid, int entries, ulong baseIova, ushort cqid, bool physicallyContiguous)
    {
        if (cqid == 0 || cqid >= _completionQueues.Length || _completionQueues[cqid] is not { } cq)
            return NvmeStatus.CompletionQueueInvalid;
        if (qid == 0 || qid > Features.SubmissionQueuesAllocated || _submissionQueues[qid] is not null)
            return NvmeStatus.InvalidQueueIdentifier;
        var status = MapRing(entries, baseIova, physicallyContiguous, SubmissionEntry.Size, out nint ring);
        if (!status.IsSuccess)
            return status;
        var sq = new EmulatedSubmissionQueue(qid, entries, (SubmissionEntry*)ring, Registers.SqTailDoorbell(qid), cq);
        // The doorbell may hold a stale value from an earlier queue with this id.
        *Registers.SqTailDoorbell(qid) = 0;
        if (!AttachShadow(sq))
            return NvmeStatus.DataTransferError;   // its shadow doorbell slots lie outside the DMA mappings
        cq.AttachedSubmissionQueues++;
        _submissionQueues[qid] = sq;
        _ioQueues = [.. _ioQueues, sq];
        if (_media is not null)
        {
            int depth = 0;
            foreach (var q in _ioQueues)
                depth += q.Size;
            _media.SizeFor(depth);   // media commands and buffers for the queues' depths
        }
        return NvmeStatus.Success;
    }

    /// <summary>Delete I/O Submission Queue (§5.6): commands still waiting in it complete as Aborted due to SQ Deletion.</summary>
    public NvmeStatus DeleteSubmissionQueue(ushort qid)
    {
        if (qid == 0 || qid >= _submissionQueues.Length || _submissionQueues[qid] is not { } sq)
            return NvmeStatus.InvalidQueueIdentifier;
        var cq = sq.CompletionQueue;
        // Commands in flight complete first (their media I/O ends); those waiting for a media buffer are aborted with the unfetched ones.
        _media?.Quiesce();
        _media?.DropQueue(sq);
        while (sq.HasWork() && !cq.IsFull)
        {
            sq.Fetch(out SubmissionEntry command);
            cq.Post(0, (ushort)sq.Head, sq.Id, command.CommandId, NvmeStatus.AbortedSqDeletion);
        }
        cq.AttachedSubmissionQueues--;
        _submissionQueues[qid] = null;
        _ioQueues = Array.FindAll(_ioQueues, q => q != sq);
        _deferred.RemoveAll(d => d.Sq == sq);
        _aborts.RemoveAll(a => a.SqId == qid);
        return NvmeStatus.Success;
    }

    /// <summary>Delete I/O Completion Queue (§5.7): refused while a submission queue still posts to it.</summary>
    public NvmeStatus DeleteCompletionQueue(ushort qid)
    {
        if (qid == 0 || qid >= _completionQueues.Length || _completionQueues[qid] is not { } cq)
            return NvmeStatus.InvalidQueueIdentifier;
        if (cq.AttachedSubmissionQueues != 0)
            return NvmeStatus.InvalidQueueDeletion;
        _completionQueues[qid] = null;
        _interruptQueues = Array.FindAll(_interruptQueues, q => q != cq);
        return NvmeStatus.Success;
    }

    /// <summary>Whether any I/O queue exists (Number of Queues may only be set before).</summary>
    public bool HasIoQueues
    {
        get
        {
            for (int i = 1; i < _completionQueues.Length; i++)
                if (_completionQueues[i] is not null || _submissionQueues[i] is not null)
                    return true;
            return false;
        }
    }
}
