using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>
/// Reaping: each completion queue by phase tag, admin first; every completion checked against
/// its command (SQ id, SQ head, command id, status) and, on success, applied to the model.
/// </summary>
internal sealed unsafe partial class SqeFuzzer
{
    private int ReapAll()
    {
        int reaped = Reap(_adminCq);
        for (int q = 1; q < _state.Cqs.Length; q++)
            if (_state.Cqs[q] is { } cq)
                reaped += Reap(cq);
        return reaped;
    }

    private int Reap(HostCq cq)
    {
        int n = 0;
        while (true)
        {
            CompletionEntry* slot = cq.Ring + cq.Head;
            ushort statusAndPhase = Volatile.Read(ref slot->StatusAndPhase);
            if (((statusAndPhase & 1) != 0) != cq.Phase)
                break;
            CompletionEntry entry = *slot;
            if (++cq.Head == cq.Entries)
            {
                cq.Head = 0;
                cq.Phase = !cq.Phase;
            }
            n++;
            Complete(cq, entry);
        }
        if (n != 0)
            RingCq(cq);
        return n;
    }

    /// <summary>Checks one completion against its command and applies what its success means.</summary>
    private void Complete(HostCq cq, CompletionEntry e)
    {
        _currentCompletion = e;
        _current = null;
        var sq = cq.Sqs.Find(s => s.Id == e.SqId);
        if (sq is null)
            throw new FuzzViolationException($"CQ {cq.Id} received a completion for SQ {e.SqId}, which does not post to it");
        if (!sq.IsPlausibleHead(e.SqHead))
            throw new FuzzViolationException($"SQ head {e.SqHead} in the completion is outside the entries submitted to {sq} (last head {sq.KnownHead}, tail {sq.Tail})");
        if (!sq.Outstanding.TryGetValue(e.CommandId, out var c))
            throw new FuzzViolationException($"completion for CID {e.CommandId} on {sq}, which has no such command in flight");
        _current = c;
        if (!c.IsAsyncEvent)
        {
            int consumed = (e.SqHead - c.Slot + sq.Entries) % sq.Entries, submitted = (sq.Tail - c.Slot + sq.Entries) % sq.Entries;
            if (consumed < 1 || consumed > submitted)
                throw new FuzzViolationException($"SQ head {e.SqHead} says the command's own slot {c.Slot} was not fetched yet");
        }
        sq.KnownHead = e.SqHead;
        sq.Outstanding.Remove(e.CommandId);
        c.Completed = true;
        Outcome outcome = Outcomes.Classify(e.Status, out string name);
        // A threaded device may post the target's completion before we reaped the Abort's: the Abort must then say so.
        if (outcome == Outcome.CommandAbortRequested && !c.AbortConfirmed)
        {
            var aborts = InFlightAborts(sq.Id, e.CommandId);
            foreach (var abort in aborts)
                abort.TargetSeenAborted = aborts.Count;
            c.AbortConfirmed = aborts.Count != 0;
        }
        Outcome allowed = c.AbortConfirmed ? Outcome.CommandAbortRequested : c.Allowed | (sq.Deleted && !c.Admin ? Outcome.AbortedSqDeletion : 0);
        if ((outcome & allowed) == 0)
            throw new FuzzViolationException($"completed with {new NvmeStatus(e.Status)} ({name}); allowed: {Outcomes.Describe(allowed)}");
        if (e.Dw1 != 0)
            throw new FuzzViolationException($"CQE DW1 (reserved) is 0x{e.Dw1:X8}");
        if (outcome == Outcome.Success)
        {
            if (c.CheckResult?.Invoke(e) is { } problem)
                throw new FuzzViolationException(problem);
            c.OnSuccess?.Invoke(e);
            foreach (var (nsid, lba, count) in c.Touches)
                _state.Shadow.Touch(nsid, lba, count);
            CountEffects(c);
        }
        // A held event request that completes (an event, or aborted) no longer counts toward the limit.
        if (c.IsAsyncEvent && c.MayVanish)
            Model.HeldAsyncEvents--;
        if (c.AbortConfirmed)
            Stats.AbortsConfirmed++;
        Stats.Count(name);
        _current = null;
        _currentCompletion = null;
    }

    private List<FuzzCommand> InFlightAborts(ushort sqid, ushort cid)
    {
        uint cdw10 = sqid | ((uint)cid << 16);
        return _adminSq.Outstanding.Values.Where(a => a.Entry.Opcode == (byte)AdminOpcode.Abort && !a.Completed && a.Entry.Cdw10 == cdw10).ToList();
    }

    private void CountEffects(FuzzCommand c)
    {
        if (!c.Admin)
            return;
        switch ((AdminOpcode)c.Entry.Opcode)
        {
            case AdminOpcode.FormatNvm: Stats.Formats++; break;
            case AdminOpcode.CreateIoCompletionQueue or AdminOpcode.CreateIoSubmissionQueue: Stats.QueuesCreated++; break;
            case AdminOpcode.DeleteIoCompletionQueue or AdminOpcode.DeleteIoSubmissionQueue: Stats.QueuesDeleted++; break;
        }
    }

    /// <summary>Drops queues deleted in the last batch; their commands that never completed may have run: their blocks count as touched.</summary>
    private void FinalizeDeletedQueues()
    {
        for (int q = 1; q < _state.Sqs.Length; q++)
        {
            if (_state.Sqs[q] is not { Deleted: true } sq)
                continue;
            foreach (var c in sq.Outstanding.Values)
            {
                foreach (var (nsid, lba, count) in c.Touches)
                    _state.Shadow.Touch(nsid, lba, count);
                Stats.Vanished++;
            }
            sq.Cq.Sqs.Remove(sq);
            _state.Sqs[q] = null;
        }
    }
}
