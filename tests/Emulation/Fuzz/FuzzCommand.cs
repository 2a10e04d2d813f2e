using System.Text;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>One fuzzed command: the entry as submitted, where it went, and what the oracle allows it to do.</summary>
internal sealed class FuzzCommand
{
    public SubmissionEntry Entry;
    public required HostSq Sq;
    public required bool Admin;
    /// <summary>Position in the run (the fuzzer's command counter).</summary>
    public long Index;
    /// <summary>The ring slot the entry was placed in.</summary>
    public int Slot;
    /// <summary>How the generator built it (e.g. "read prp-list", "wild create-cq").</summary>
    public string Shape = "";
    /// <summary>The statuses the command may complete with.</summary>
    public Outcome Allowed;
    /// <summary>A held Asynchronous Event Request, or a command whose queue a command of the same batch deletes: it may never complete.</summary>
    public bool MayVanish;
    /// <summary>Changes what the oracle knows (queues, features, format) or reads host bytes that a neighbour could change: runs alone.</summary>
    public bool Solo;
    /// <summary>An Asynchronous Event Request.</summary>
    public bool IsAsyncEvent;
    /// <summary>Host bytes the device may write if the command succeeds (Read data, Identify page, log).</summary>
    public List<HostRange> Writes { get; } = [];
    /// <summary>Host bytes the device reads (data of a Write, PRP lists, range lists, feature buffers).</summary>
    public List<HostRange> Reads { get; } = [];
    /// <summary>Host bytes the oracle read to judge the command (PRP lists, range lists, feature buffers): they must not change before the device reads them.</summary>
    public List<HostRange> ContentRanges { get; } = [];
    /// <summary>Blocks a write-like command may change: (NSID, first LBA, count). Applied on success and when the command vanishes.</summary>
    public List<(uint Nsid, long Lba, long Count)> Touches { get; } = [];
    /// <summary>What success changes in the model (queues, features, formats).</summary>
    public Action<CompletionEntry>? OnSuccess;
    /// <summary>Checks of the completion beyond its status (DW0 of Get Features, Abort). Returns a violation or null.</summary>
    public Func<CompletionEntry, string?>? CheckResult;
    /// <summary>
    /// For an Abort: its target's completion (Command Abort Requested) was reaped first, when this
    /// many Aborts named it and had not completed. One: it must report "aborted". More: the device
    /// may credit any of them.
    /// </summary>
    public int TargetSeenAborted;
    /// <summary>Its completion was reaped.</summary>
    public bool Completed;
    /// <summary>An Abort reported this command aborted: it must complete with Command Abort Requested.</summary>
    public bool AbortConfirmed;

    /// <summary>Takes the oracle's judgement of <paramref name="other"/> (the same entry, judged again later).</summary>
    public void CopyJudgementFrom(FuzzCommand other)
    {
        Allowed = other.Allowed;
        MayVanish = other.MayVanish;
        Solo = other.Solo;
        IsAsyncEvent = other.IsAsyncEvent;
        OnSuccess = other.OnSuccess;
        CheckResult = other.CheckResult;
        foreach (var (mine, theirs) in new[] { (Writes, other.Writes), (Reads, other.Reads), (ContentRanges, other.ContentRanges) })
        {
            mine.Clear();
            mine.AddRange(theirs);
        }
        Touches.Clear();
        Touches.AddRange(other.Touches);
    }

    /// <summary>One line: index, queue, command id, opcode and shape.</summary>
    public string Summary()
    {
        string name = Admin ? Enum.GetName((AdminOpcode)Entry.Opcode) ?? "unknown" : Enum.GetName((NvmOpcode)Entry.Opcode) ?? "unknown";
        return $"#{Index} SQ {Sq.Id} CID {Entry.CommandId} {(Admin ? "admin" : "I/O")} opcode {Entry.Opcode:X2}h ({name}) [{Shape}]";
    }

    /// <summary>The 16 dwords, CDW0 first, in hex.</summary>
    public static unsafe string Dwords(in SubmissionEntry entry)
    {
        var sb = new StringBuilder(16 * 9);
        fixed (SubmissionEntry* e = &entry)
        {
            uint* dw = (uint*)e;
            for (int i = 0; i < 16; i++)
                sb.Append(i == 0 ? "" : " ").Append(dw[i].ToString("X8"));
        }
        return sb.ToString();
    }

    public override string ToString() => $"{Summary()}\n    CDW0-15: {Dwords(Entry)}\n    allowed: {Outcomes.Describe(Allowed)}";
}
