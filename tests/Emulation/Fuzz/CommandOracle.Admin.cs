using PolledNvme.Emulation;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>The admin command set (NVMe Base 2.0 §5; Format NVM from NVM CS 1.0 §4.2).</summary>
internal sealed partial class CommandOracle
{
    private const int IdentifyBytes = 4096;
    private const int HostBehaviorBytes = 512;

    private void JudgeAdmin(FuzzCommand c)
    {
        ref var e = ref c.Entry;
        Outcome broken = FlagsRule(e);
        switch ((AdminOpcode)e.Opcode)
        {
            case AdminOpcode.DeleteIoSubmissionQueue:
                c.Solo = true;
                JudgeDeleteSq(c, broken);
                return;
            case AdminOpcode.CreateIoSubmissionQueue:
                c.Solo = true;
                JudgeCreateSq(c, broken);
                return;
            case AdminOpcode.DeleteIoCompletionQueue:
                c.Solo = true;
                JudgeDeleteCq(c, broken);
                return;
            case AdminOpcode.CreateIoCompletionQueue:
                c.Solo = true;
                JudgeCreateCq(c, broken);
                return;
            case AdminOpcode.GetLogPage:
                JudgeGetLogPage(c, broken);
                return;
            case AdminOpcode.Identify:
                JudgeIdentify(c, broken);
                return;
            case AdminOpcode.Abort:
                JudgeAbort(c, broken);
                return;
            case AdminOpcode.SetFeatures:
                c.Solo = true;
                JudgeSetFeatures(c, broken);
                return;
            case AdminOpcode.GetFeatures:
                JudgeGetFeatures(c, broken);
                return;
            case AdminOpcode.AsynchronousEventRequest:
                c.IsAsyncEvent = true;
                if (broken != Outcome.None)
                    c.Allowed = broken;
                else if (Model.HeldAsyncEvents < Model.AsyncEventLimit)
                {
                    // Held until an event occurs: none is expected, but one may complete it.
                    Model.HeldAsyncEvents++;
                    c.MayVanish = true;
                    c.Allowed = Outcome.Success;
                }
                else
                    c.Allowed = Outcome.AsynchronousEventRequestLimitExceeded;
                return;
            case AdminOpcode.FormatNvm:
                c.Solo = true;
                JudgeFormat(c, broken);
                return;
            case AdminOpcode.DoorbellBufferConfig:
                JudgeDoorbellBufferConfig(c, broken);
                return;
            default:
                c.Allowed = broken | Outcome.InvalidCommandOpcode;
                return;
        }
    }

    /// <summary>§5.9: offered only with OACS bit 8; both PRPs non-zero and memory-page aligned, else Invalid Field (QEMU's rule).</summary>
    private void JudgeDoorbellBufferConfig(FuzzCommand c, Outcome broken)
    {
        ref var e = ref c.Entry;
        ulong pageMask = (ulong)Model.PageSize - 1;
        if (!Model.DoorbellBufferConfigSupported)
            broken |= Outcome.InvalidCommandOpcode;
        else if (e.Prp1 == 0 || e.Prp2 == 0 || (e.Prp1 & pageMask) != 0 || (e.Prp2 & pageMask) != 0)
            broken |= Outcome.InvalidFieldInCommand;
        else if (!c.Shape.StartsWith("oracle ", StringComparison.Ordinal))
            throw new InvalidOperationException("fuzzer bug: only the fuzzer's own setup may send a valid Doorbell Buffer Config (the host must know where its doorbells go)");
        c.Allowed = Result(broken);
    }

    private static Outcome Result(Outcome broken) => broken == Outcome.None ? Outcome.Success : broken;

    private void JudgeDeleteSq(FuzzCommand c, Outcome broken)
    {
        ushort qid = (ushort)c.Entry.Cdw10;
        var sq = qid == 0 ? null : state.Sq(qid);
        if (sq is null)
            broken |= Outcome.InvalidQueueIdentifier;
        c.Allowed = Result(broken);
        if (sq is not null)
            c.OnSuccess = _ => sq.Deleted = true;   // its last completions (Aborted due to SQ Deletion) may still be reaped
    }

    private void JudgeDeleteCq(FuzzCommand c, Outcome broken)
    {
        ushort qid = (ushort)c.Entry.Cdw10;
        var cq = qid == 0 ? null : state.Cq(qid);
        if (cq is null)
            broken |= Outcome.InvalidQueueIdentifier;
        else if (cq.Sqs.Count != 0)
            broken |= Outcome.InvalidQueueDeletion;
        c.Allowed = Result(broken);
        c.OnSuccess = _ => state.Cqs[qid] = null;
    }

    /// <summary>The rules both creations share (§5.4, §5.5): size within CAP.MQES, a page-aligned base, PC = 1, the ring inside a mapping.</summary>
    private unsafe Outcome RingRules(FuzzCommand c, int entries, int entrySize, out byte* ring)
    {
        ref var e = ref c.Entry;
        Outcome broken = Outcome.None;
        ring = null;
        if (entries < 2 || entries > Model.MaxQueueEntries)
            broken |= Outcome.InvalidQueueSize;
        if ((e.Prp1 & ((ulong)Model.PageSize - 1)) != 0)
            broken |= Outcome.PrpOffsetInvalid | Outcome.InvalidFieldInCommand;
        if ((e.Cdw11 & 1) == 0)
            broken |= Outcome.InvalidFieldInCommand;   // CAP.CQR = 1: queues must be physically contiguous
        if (entries >= 2)
        {
            ring = Memory.Translate(e.Prp1, (ulong)entries * (ulong)entrySize);
            if (ring == null)
                broken |= Outcome.DataTransferError | Outcome.InvalidFieldInCommand;
        }
        return broken;
    }

    private unsafe void JudgeCreateCq(FuzzCommand c, Outcome broken)
    {
        ushort qid = (ushort)c.Entry.Cdw10;
        int entries = (int)(c.Entry.Cdw10 >> 16) + 1;
        if (qid == 0 || qid > Model.CqAllocated || state.Cq(qid) is not null)
            broken |= Outcome.InvalidQueueIdentifier;
        broken |= RingRules(c, entries, CompletionEntry.Size, out byte* ring);
        // IEN with an IV beyond the controller's vectors (one per queue id, admin included).
        if ((c.Entry.Cdw11 & 2) != 0 && (c.Entry.Cdw11 >> 16) >= Model.MaxIoQueuePairs + 1)
            broken |= Outcome.InvalidInterruptVector;
        c.Allowed = Result(broken);
        if (broken == Outcome.None)
        {
            RequireSlot(ring, entries * CompletionEntry.Size, Memory.IoCq[qid], c);
            c.OnSuccess = _ => state.Cqs[qid] = new HostCq(qid, entries, (CompletionEntry*)ring);
        }
    }

    private unsafe void JudgeCreateSq(FuzzCommand c, Outcome broken)
    {
        ushort qid = (ushort)c.Entry.Cdw10;
        int entries = (int)(c.Entry.Cdw10 >> 16) + 1;
        ushort cqid = (ushort)(c.Entry.Cdw11 >> 16);
        var cq = cqid == 0 ? null : state.Cq(cqid);
        if (cq is null)
            broken |= Outcome.CompletionQueueInvalid;
        if (qid == 0 || qid > Model.SqAllocated || (qid < state.Sqs.Length && state.Sqs[qid] is not null))
            broken |= Outcome.InvalidQueueIdentifier;
        broken |= RingRules(c, entries, SubmissionEntry.Size, out byte* ring);
        c.Allowed = Result(broken);
        if (broken == Outcome.None)
        {
            RequireSlot(ring, entries * SubmissionEntry.Size, Memory.IoSq[qid], c);
            c.OnSuccess = _ =>
            {
                var sq = new HostSq(qid, entries, (SubmissionEntry*)ring, cq!);
                state.Sqs[qid] = sq;
                cq!.Sqs.Add(sq);
            };
        }
    }

    /// <summary>A valid ring must lie in its queue id's slot, or the device would post into memory the fuzzer uses otherwise.</summary>
    private static unsafe void RequireSlot(byte* ring, int bytes, GuardedRegion slot, FuzzCommand c)
    {
        if (ring < slot.Host || ring + bytes > slot.Host + slot.Length)
            throw new InvalidOperationException($"fuzzer bug: a valid queue ring outside {slot.Name}: {c}");
    }

    private void JudgeGetLogPage(FuzzCommand c, Outcome broken)
    {
        ref var e = ref c.Entry;
        byte lid = (byte)e.Cdw10;
        long dwords = ((e.Cdw10 >> 16) | ((long)(e.Cdw11 & 0xFFFF) << 16)) + 1;
        ulong offset = e.Cdw12 | ((ulong)e.Cdw13 << 32);
        long length = dwords * 4;
        int logSize = (LogPageId)lid switch
        {
            LogPageId.ErrorInformation => state.ErrorLogEntries * ErrorInformationEntry.Size,
            LogPageId.SmartHealth => SmartHealthLog.Size,
            LogPageId.FirmwareSlot => 512,
            _ => -1,
        };
        if (logSize < 0)
            broken |= Outcome.InvalidLogPage;
        // The SMART log is controller-wide (LPA bit 0 clear): only NSID 0 or FFFFFFFFh.
        if ((LogPageId)lid == LogPageId.SmartHealth && e.NamespaceId != 0 && e.NamespaceId != AllNamespaces)
            broken |= Outcome.InvalidFieldInCommand;
        if ((offset & 3) != 0 || (logSize >= 0 && offset > (ulong)logSize) || length > Model.MaxTransferBytes)
            broken |= Outcome.InvalidFieldInCommand;
        else
            broken |= PrpOracle.Walk(Memory, e.Prp1, e.Prp2, (int)length, Model.PageSize, c.Writes, c.ContentRanges) & ~Outcome.Success;
        // A request past the end of the log is valid: the bytes beyond it are undefined (NUMD, §5.16).
        c.Allowed = Result(broken);
    }

    private void JudgeIdentify(FuzzCommand c, Outcome broken)
    {
        ref var e = ref c.Entry;
        byte cns = (byte)e.Cdw10;
        byte csi = (byte)(e.Cdw11 >> 24);
        bool namespaceValid = Model.Namespace(e.NamespaceId) is not null;
        switch ((IdentifyCns)cns)
        {
            case IdentifyCns.Namespace or IdentifyCns.NamespaceDescriptors:
                if (!namespaceValid)
                    broken |= Outcome.InvalidNamespaceOrFormat;
                break;
            case IdentifyCns.Controller:
                break;
            case IdentifyCns.ActiveNamespaceList:
                if (e.NamespaceId >= 0xFFFF_FFFE)
                    broken |= Outcome.InvalidNamespaceOrFormat;
                break;
            case IdentifyCns.CommandSetNamespace:
                if (csi != 0)
                    broken |= Outcome.InvalidFieldInCommand;
                if (!namespaceValid)
                    broken |= Outcome.InvalidNamespaceOrFormat;
                break;
            case IdentifyCns.CommandSetController:
                if (csi != 0)
                    broken |= Outcome.InvalidFieldInCommand;
                break;
            default:
                broken |= Outcome.InvalidFieldInCommand;
                break;
        }
        broken |= PrpOracle.Walk(Memory, e.Prp1, e.Prp2, IdentifyBytes, Model.PageSize, c.Writes, c.ContentRanges) & ~Outcome.Success;
        c.Allowed = Result(broken);
    }

    private void JudgeAbort(FuzzCommand c, Outcome broken)
    {
        ushort sqid = (ushort)c.Entry.Cdw10;
        ushort cid = (ushort)(c.Entry.Cdw10 >> 16);
        c.Allowed = Result(broken);
        // DW0 bit 0: 0 = the command was aborted, 1 = it was not (§5.1). Only a command still in flight can be aborted.
        c.CheckResult = completion =>
        {
            if (c.TargetSeenAborted == 1)
                return (completion.Result & 1) == 0 ? null : $"Abort reports SQ {sqid} CID {cid} not aborted, but it completed with Command Abort Requested";
            if (c.TargetSeenAborted > 1)
                return null;
            if ((completion.Result & 1) != 0)
                return null;
            if (sqid >= state.Sqs.Length || state.Sqs[sqid] is not { } sq || !sq.Outstanding.TryGetValue(cid, out var target))
                return $"Abort reports SQ {sqid} CID {cid} aborted, but no such command was in flight";
            target.AbortConfirmed = true;
            return null;
        };
    }

    private void JudgeGetFeatures(FuzzCommand c, Outcome broken)
    {
        ref var e = ref c.Entry;
        byte fid = (byte)e.Cdw10;
        int select = (int)((e.Cdw10 >> 8) & 7);
        if (!FeatureSettings.IsSupported(fid) || select > 3)
            broken |= Outcome.InvalidFieldInCommand;
        else if ((FeatureId)fid == FeatureId.HostBehaviorSupport && select != 3)
            broken |= PrpOracle.Walk(Memory, e.Prp1, e.Prp2, HostBehaviorBytes, Model.PageSize, c.Writes, c.ContentRanges) & ~Outcome.Success;
        else if ((FeatureId)fid == FeatureId.TemperatureThreshold && select != 3 && !TemperatureThresholdSelects(e.Cdw11, forSet: false))
            broken |= Outcome.InvalidFieldInCommand;
        c.Allowed = Result(broken);
        if ((FeatureId)fid == FeatureId.NumberOfQueues && select is 0 or 1 or 2)
        {
            uint expected = select == 0
                ? (uint)(Model.SqAllocated - 1) | ((uint)(Model.CqAllocated - 1) << 16)
                : (uint)(Model.MaxIoQueuePairs - 1) * 0x10001u;
            c.CheckResult = completion => completion.Result == expected ? null
                : $"Get Features Number of Queues (SEL {select}) returned 0x{completion.Result:X8}, expected 0x{expected:X8}";
        }
    }

    /// <summary>Temperature Threshold CDW11 (NVMe Base 2.0 §5.27.1.3): THSEL [21:20] 0 over / 1 under; TMPSEL [19:16] 0 composite, Fh all sensors (Set only).</summary>
    private static bool TemperatureThresholdSelects(uint cdw11, bool forSet)
    {
        uint tmpsel = (cdw11 >> 16) & 0xF, thsel = (cdw11 >> 20) & 3;
        return thsel <= 1 && (tmpsel == 0 || (forSet && tmpsel == 0xF));
    }

    private void JudgeSetFeatures(FuzzCommand c, Outcome broken)
    {
        ref var e = ref c.Entry;
        byte fid = (byte)e.Cdw10;
        if (!FeatureSettings.IsSupported(fid))
        {
            c.Allowed = broken | Outcome.InvalidFieldInCommand;
            return;
        }
        if ((e.Cdw10 & (1u << 31)) != 0)
            broken |= Outcome.FeatureIdentifierNotSaveable;   // nothing is saveable (ONCS.SAVE = 0)
        uint cdw11 = e.Cdw11;
        switch ((FeatureId)fid)
        {
            case FeatureId.PowerManagement when (cdw11 & 0x1F) != 0:
                broken |= Outcome.InvalidFieldInCommand;   // NPSS = 0: power state 0 only
                break;
            case FeatureId.TemperatureThreshold when !TemperatureThresholdSelects(cdw11, forSet: true):
                broken |= Outcome.InvalidFieldInCommand;   // only the composite temperature (TMPSEL 0, or Fh "all" on Set), THSEL over/under
                break;
            case FeatureId.ErrorRecovery when (cdw11 & (1u << 16)) != 0:
                broken |= Outcome.InvalidFieldInCommand;   // DULBE needs NSFEAT bit 2, which no namespace reports
                break;
            case FeatureId.NumberOfQueues:
            {
                uint nsqr = cdw11 & 0xFFFF, ncqr = cdw11 >> 16;
                if (nsqr == 0xFFFF || ncqr == 0xFFFF)
                    broken |= Outcome.InvalidFieldInCommand;
                if (state.HasIoQueues())
                    broken |= Outcome.CommandSequenceError;
                int sqs = (int)Math.Min(nsqr + 1, (uint)Model.MaxIoQueuePairs), cqs = (int)Math.Min(ncqr + 1, (uint)Model.MaxIoQueuePairs);
                uint expected = (uint)(sqs - 1) | ((uint)(cqs - 1) << 16);
                c.OnSuccess = _ => (Model.SqAllocated, Model.CqAllocated) = (sqs, cqs);
                c.CheckResult = completion => completion.Result == expected ? null
                    : $"Set Features Number of Queues returned 0x{completion.Result:X8}, expected 0x{expected:X8}";
                break;
            }
            case FeatureId.HostBehaviorSupport:
            {
                var buffer = new List<HostRange>();
                Outcome prp = PrpOracle.Walk(Memory, e.Prp1, e.Prp2, HostBehaviorBytes, Model.PageSize, buffer, c.ContentRanges);
                c.ContentRanges.AddRange(buffer);
                if (prp != Outcome.Success)
                {
                    broken |= prp;
                    break;
                }
                Span<byte> bytes = stackalloc byte[HostBehaviorBytes];
                PrpOracle.Gather(buffer, bytes);
                if (bytes[0] > 1 || bytes[1] > 1 || bytes[2] > 1 || (bytes[2] == 1 && !Model.ExtendedFormatsSupported))
                    broken |= Outcome.InvalidFieldInCommand;
                bool lbafee = bytes[2] == 1;
                c.OnSuccess = _ => Model.Lbafee = lbafee;
                break;
            }
        }
        c.Allowed = Result(broken);
    }

    /// <summary>Format NVM (NVM CS 1.0 §4.2.1): every target namespace must accept the format, or none changes.</summary>
    private void JudgeFormat(FuzzCommand c, Outcome broken)
    {
        uint cdw10 = c.Entry.Cdw10;
        int index = (int)(cdw10 & 0xF) | (int)(((cdw10 >> 12) & 3) << 4);
        bool mset = (cdw10 & (1u << 4)) != 0;
        int pi = (int)((cdw10 >> 5) & 7);
        bool pil = (cdw10 & (1u << 8)) != 0;
        int ses = (int)((cdw10 >> 9) & 7);
        if (ses > 1 || pi > 3)
            broken |= Outcome.InvalidFieldInCommand;   // user data erase only; PI types 0-3
        NamespaceModel[] targets = c.Entry.NamespaceId == AllNamespaces ? Model.Namespaces
            : Model.Namespace(c.Entry.NamespaceId) is { } one ? [one] : [];
        if (targets.Length == 0)
            broken |= Outcome.InvalidNamespaceOrFormat;
        foreach (var ns in targets)
        {
            if (index >= ns.Formats.Length)
            {
                broken |= Outcome.InvalidFormat;
                continue;
            }
            var format = ns.Formats[index];
            if (pi != 0 && pi <= 3 && format.MetadataSize < format.TupleSize)
                broken |= Outcome.InvalidFormat;
            if (format.NeedsLbafee && !Model.Lbafee)
                broken |= Outcome.InvalidNamespaceOrFormat;
        }
        c.Allowed = Result(broken);
        c.OnSuccess = _ =>
        {
            foreach (var ns in targets)
            {
                ns.Select(index, mset, pi, pil);
                state.Shadow.Reformatted(ns.Id);
            }
        };
    }
}
