using System.Runtime.InteropServices;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver.Pcie;

/// <summary>A register page in native memory (doorbells at 0x1000, stride 4).</summary>
internal sealed unsafe class FakeRegisters : IDisposable
{
    public const int Length = 0x2000;
    public nint Base { get; } = (nint)NativeMemory.AllocZeroed(Length);
    public RegisterWindow Window => new(Base, Length);
    public uint Read(int offset) => Volatile.Read(ref *(uint*)(Base + offset));
    public static int SqDoorbell(int qid) => 0x1000 + 8 * qid;
    public static int CqDoorbell(int qid) => 0x1000 + 8 * qid + 4;
    public void Dispose() => NativeMemory.Free((void*)Base);
}

/// <summary>
/// A minimal device on one queue pair: when stepped, fetches every entry up to the SQ tail
/// doorbell and posts a completion (status chosen by a delegate) with the right phase tag.
/// </summary>
internal sealed unsafe class FakeQueueDevice
{
    private readonly FakeRegisters _regs;
    private readonly SubmissionEntry* _sq;
    private readonly CompletionEntry* _cq;
    private readonly int _sqEntries, _cqEntries;
    private readonly ushort _qid;
    private int _sqHead, _cqTail;
    private ushort _phase = 1;

    public Func<SubmissionEntry, ushort> Status { get; set; } = _ => 0;
    public List<SubmissionEntry> Fetched { get; } = new();

    public FakeQueueDevice(FakeRegisters regs, ushort qid, DmaBuffer sq, int sqEntries, DmaBuffer cq, int cqEntries)
    {
        _regs = regs;
        _qid = qid;
        _sq = (SubmissionEntry*)sq.Pointer;
        _cq = (CompletionEntry*)cq.Pointer;
        _sqEntries = sqEntries;
        _cqEntries = cqEntries;
    }

    /// <summary>Fetches and completes up to <paramref name="max"/> commands; returns how many.</summary>
    public int Step(int max = int.MaxValue)
    {
        int tail = (int)_regs.Read(FakeRegisters.SqDoorbell(_qid));
        int done = 0;
        while (_sqHead != tail && done < max)
        {
            int cqHead = (int)_regs.Read(FakeRegisters.CqDoorbell(_qid));
            if ((_cqTail + 1) % _cqEntries == cqHead)
                break;   // CQ full: the host has not released entries yet
            SubmissionEntry cmd = _sq[_sqHead];
            Fetched.Add(cmd);
            _sqHead = (_sqHead + 1) % _sqEntries;
            CompletionEntry* slot = _cq + _cqTail;
            slot->Result = cmd.Cdw10;
            slot->SqHead = (ushort)_sqHead;
            slot->SqId = _qid;
            slot->CommandId = cmd.CommandId;
            Volatile.Write(ref slot->StatusAndPhase, (ushort)((Status(cmd) << 1) | _phase));
            _cqTail++;
            if (_cqTail == _cqEntries)
            {
                _cqTail = 0;
                _phase ^= 1;
            }
            done++;
        }
        return done;
    }
}
