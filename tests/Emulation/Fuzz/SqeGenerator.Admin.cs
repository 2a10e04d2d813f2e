using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>Admin commands: the ones that may share a batch, and the ones that change queues, features or formats.</summary>
internal sealed partial class SqeGenerator
{
    private static readonly byte[] KnownAdminOpcodes = [0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x08, 0x09, 0x0A, 0x0C, 0x7C, 0x80];
    private static readonly byte[] Features = [0x01, 0x02, 0x06, 0x07, 0x08, 0x0B, 0x16];

    /// <summary>
    /// An admin command that changes nothing the oracle relies on: Identify, Get Log Page, Get
    /// Features, Abort (of <paramref name="inFlight"/> or anything), Asynchronous Event Request,
    /// unknown opcodes. <paramref name="allowAsyncEvent"/> is false when a held request would fill the admin queue.
    /// </summary>
    public SubmissionEntry AdminCommand(IReadOnlyList<FuzzCommand> inFlight, bool allowAsyncEvent, out string shape)
    {
        var e = new SubmissionEntry();
        int roll = random.Next(100);
        if (Chance(2))
            e.Flags = (byte)random.Next(256);
        if (roll < 30)
        {
            e.Opcode = (byte)AdminOpcode.Identify;
            e.NamespaceId = PickNamespaceId(70);
            int[] cns = [0, 1, 2, 3, 5, 6];
            e.Cdw10 = (uint)(Chance(90) ? cns[random.Next(cns.Length)] : random.Next(256)) | (Chance(10) ? NextUInt32() & 0xFFFF_0000 : 0);
            e.Cdw11 = Chance(90) ? 0 : NextUInt32();
            shape = $"identify cns {(byte)e.Cdw10} " + DataPointer(ref e, 4096);
        }
        else if (roll < 55)
            shape = GetLogPage(ref e);
        else if (roll < 73)
        {
            e.Opcode = (byte)AdminOpcode.GetFeatures;
            byte fid = Chance(85) ? Features[random.Next(Features.Length)] : (byte)random.Next(256);
            e.Cdw10 = fid | ((uint)(Chance(80) ? random.Next(4) : random.Next(8)) << 8);
            e.Cdw11 = Chance(80) ? 0 : NextUInt32();
            shape = $"get-features fid {fid:X2}h sel {(e.Cdw10 >> 8) & 7} " + DataPointer(ref e, 512);
        }
        else if (roll < 85)
        {
            e.Opcode = (byte)AdminOpcode.Abort;
            if (inFlight.Count != 0 && Chance(70))
            {
                var target = inFlight[random.Next(inFlight.Count)];
                e.Cdw10 = target.Sq.Id | ((uint)target.Entry.CommandId << 16);
                shape = $"abort {target.Summary()}";
            }
            else
            {
                e.Cdw10 = Chance(50) ? NextUInt32() : (uint)random.Next(4) | ((uint)random.Next(64) << 16);
                shape = "abort random";
            }
        }
        else if (roll < 91 && allowAsyncEvent)
        {
            e.Opcode = (byte)AdminOpcode.AsynchronousEventRequest;
            shape = "async-event-request";
        }
        else if (roll < 93)
            shape = BadDoorbellBufferConfig(ref e);
        else if (roll < 96)
        {
            byte flags = e.Flags;
            Randomize(ref e);
            do
                e.Opcode = (byte)random.Next(256);
            while (Array.IndexOf(KnownAdminOpcodes, e.Opcode) >= 0);
            e.Flags = Chance(70) ? (byte)0 : flags;
            shape = "unknown-opcode";
        }
        else
        {
            Randomize(ref e);
            e.Opcode = random.Next(3) switch { 0 => (byte)AdminOpcode.Identify, 1 => (byte)AdminOpcode.GetLogPage, _ => (byte)AdminOpcode.GetFeatures };
            shape = "random-dwords";
        }
        return e;
    }

    private string GetLogPage(ref SubmissionEntry e)
    {
        e.Opcode = (byte)AdminOpcode.GetLogPage;
        byte lid = Chance(85) ? (byte)random.Next(1, 4) : (byte)random.Next(256);
        int logSize = lid switch { 1 => state.ErrorLogEntries * 64, 2 or 3 => 512, _ => 512 };
        long dwords = random.Next(8) switch
        {
            < 3 => logSize / 4,
            3 => random.Next(1, logSize / 4 + 1),
            4 => Model.MaxTransferBytes / 4,
            5 => Model.MaxTransferBytes / 4 + 1,
            6 => 1L << 32,
            _ => random.NextInt64(1, 1L << 32),
        };
        ulong offset = random.Next(8) switch
        {
            < 4 => 0,
            4 => (ulong)(random.Next(0, logSize / 64 + 1) * 64),
            5 => (ulong)logSize + (ulong)(4 * random.Next(0, 3)),
            6 => (ulong)random.Next(1, 4),
            _ => _addresses.NextUInt64(),
        };
        long numd = dwords - 1;
        e.Cdw10 = lid | ((uint)(numd & 0xFFFF) << 16) | (Chance(10) ? (uint)random.Next(256) << 8 : 0);   // LSP, RAE
        e.Cdw11 = (uint)(numd >> 16) & 0xFFFF;
        e.Cdw12 = (uint)offset;
        e.Cdw13 = (uint)(offset >> 32);
        e.NamespaceId = random.Next(4) switch { 0 => 0, 1 => AllNamespaces, 2 => 1, _ => PickNamespaceId(0) };
        long bytes = dwords * 4;
        string pointer = bytes <= Model.MaxTransferBytes ? DataPointer(ref e, (int)bytes) : "unused";
        return $"get-log lid {lid:X2}h bytes {bytes} offset {offset} " + pointer;
    }

    /// <summary>
    /// Doorbell Buffer Config with at least one zero or misaligned PRP (Invalid Field when offered,
    /// Invalid Opcode when not). Never a valid one: the fuzz host rings MMIO doorbells only, and a
    /// configuration in force would move the device to shadow doorbells it does not write.
    /// </summary>
    private string BadDoorbellBufferConfig(ref SubmissionEntry e)
    {
        e.Opcode = (byte)AdminOpcode.DoorbellBufferConfig;
        ulong Bad() => random.Next(3) switch
        {
            0 => 0,
            1 => _addresses.DataPage() + (ulong)(4 * random.Next(1, 1024)),   // mapped, not page aligned
            _ => _addresses.NextUInt64() | 4,
        };
        ulong Any() => Chance(50) ? _addresses.DataPage() : Bad();
        bool firstBad = Chance(50);
        e.Prp1 = firstBad ? Bad() : Any();
        e.Prp2 = firstBad ? Any() : Bad();
        return $"dbbuf-config prp1 {e.Prp1:X} prp2 {e.Prp2:X}";
    }

    /// <summary>
    /// A command that changes what the oracle knows, run alone: create or delete queues, Set
    /// Features, Format NVM. <paramref name="formatPercent"/> weighs Format NVM (it is slow on a file).
    /// </summary>
    public SubmissionEntry SoloAdminCommand(int formatPercent, out string shape)
    {
        var e = new SubmissionEntry();
        if (Chance(2))
            e.Flags = (byte)random.Next(256);
        int roll = random.Next(100);
        if (roll < formatPercent)
            shape = FormatNvm(ref e);
        else
        {
            roll = random.Next(100);
            shape = roll switch
            {
                < 22 => CreateCq(ref e),
                < 47 => CreateSq(ref e),
                < 62 => DeleteSq(ref e),
                < 72 => DeleteCq(ref e),
                _ => SetFeatures(ref e),
            };
        }
        return e;
    }

    /// <summary>A queue id: mostly a free (creatable) or existing one, sometimes 0, past the allocation, or random.</summary>
    private ushort PickQueueId(bool wantFree, bool completionQueue)
    {
        int allocated = completionQueue ? Model.CqAllocated : Model.SqAllocated;
        if (Chance(80))
        {
            var candidates = new List<ushort>();
            for (int q = 1; q <= allocated; q++)
            {
                bool exists = completionQueue ? state.Cqs[q] is not null : state.Sqs[q] is not null;
                if (exists != wantFree)
                    candidates.Add((ushort)q);
            }
            if (candidates.Count != 0)
                return candidates[random.Next(candidates.Count)];
        }
        return random.Next(5) switch
        {
            0 => 0,
            1 => (ushort)(allocated + 1),
            2 => (ushort)(Model.MaxIoQueuePairs + 1),
            3 => ushort.MaxValue,
            _ => (ushort)random.Next(1, Model.MaxIoQueuePairs + 1),
        };
    }

    private int PickQueueEntries()
        => random.Next(10) switch
        {
            < 7 => random.Next(2, Model.MaxQueueEntries + 1),
            7 => 1,
            8 => Model.MaxQueueEntries + 1,
            _ => random.Next(1, 65537),
        };

    /// <summary>The ring base for queue <paramref name="qid"/>: inside its slot (aligned, misaligned, or running past the slot) or a wild address.</summary>
    private ulong RingBase(ushort qid, GuardedRegion[] slots, int entries, int entrySize, out string shape)
    {
        if (qid >= 1 && qid < slots.Length && Chance(85))
        {
            var slot = slots[qid];
            int aligned = slot.AlignedOffset(0, PageSize);
            int roll = random.Next(10);
            if (roll < 7)
            {
                shape = "slot";
                return slot.Iova + (ulong)aligned;
            }
            if (roll < 9)
            {
                shape = "slot-misaligned";
                return slot.Iova + (ulong)aligned + (ulong)(4 * random.Next(1, 1024));
            }
            shape = "slot-overrun";
            long back = Math.Max((long)entries * entrySize - GuardedRegion.HostPage, 0);
            ulong start = (slot.IovaEnd - (ulong)Math.Min(back, slot.Length)) & ~((ulong)PageSize - 1);
            return Math.Max(start, slot.Iova + (ulong)aligned);   // never before the slot: that memory is another region's
        }
        shape = "ring-invalid";
        return _addresses.Invalid();   // a valid ring outside its slot would land on memory the fuzzer uses otherwise
    }

    private unsafe string CreateCq(ref SubmissionEntry e)
    {
        e.Opcode = (byte)AdminOpcode.CreateIoCompletionQueue;
        ushort qid = PickQueueId(wantFree: true, completionQueue: true);
        int entries = PickQueueEntries();
        e.Prp1 = RingBase(qid, Memory.IoCq, entries, CompletionEntry.Size, out string ring);
        e.Cdw10 = qid | ((uint)(entries - 1) << 16);
        e.Cdw11 = (Chance(92) ? 1u : 0) | (Chance(30) ? 2u : 0) | (Chance(30) ? (uint)random.Next(65536) << 16 : 0);   // PC, IEN, IV
        // A new completion queue starts from a zeroed ring (phase tags 0): clear the slot, unless a live queue uses it.
        if (qid >= 1 && qid < Memory.IoCq.Length && state.Cqs[qid] is null)
            Memory.IoCq[qid].Span.Clear();
        return $"create-cq qid {qid} entries {entries} {ring}";
    }

    private string CreateSq(ref SubmissionEntry e)
    {
        e.Opcode = (byte)AdminOpcode.CreateIoSubmissionQueue;
        ushort qid = PickQueueId(wantFree: true, completionQueue: false);
        int entries = PickQueueEntries();
        ushort cqid = Chance(80) ? PickQueueId(wantFree: false, completionQueue: true) : (ushort)random.Next(0, Model.MaxIoQueuePairs + 2);
        e.Prp1 = RingBase(qid, Memory.IoSq, entries, SubmissionEntry.Size, out string ring);
        e.Cdw10 = qid | ((uint)(entries - 1) << 16);
        e.Cdw11 = (Chance(92) ? 1u : 0) | ((uint)random.Next(4) << 1) | ((uint)cqid << 16);   // PC, QPRIO, CQID
        if (Chance(10))
            e.Cdw12 = NextUInt32();   // NVM set id
        return $"create-sq qid {qid} entries {entries} cq {cqid} {ring}";
    }

    private string DeleteSq(ref SubmissionEntry e)
    {
        e.Opcode = (byte)AdminOpcode.DeleteIoSubmissionQueue;
        ushort qid = PickQueueId(wantFree: false, completionQueue: false);
        e.Cdw10 = qid | (Chance(10) ? NextUInt32() & 0xFFFF_0000 : 0);
        return $"delete-sq qid {qid}";
    }

    private string DeleteCq(ref SubmissionEntry e)
    {
        e.Opcode = (byte)AdminOpcode.DeleteIoCompletionQueue;
        ushort qid = PickQueueId(wantFree: false, completionQueue: true);
        e.Cdw10 = qid;
        return $"delete-cq qid {qid}";
    }

    private string SetFeatures(ref SubmissionEntry e)
    {
        e.Opcode = (byte)AdminOpcode.SetFeatures;
        byte fid = Chance(90) ? Features[random.Next(Features.Length)] : (byte)random.Next(256);
        e.Cdw10 = fid | (Chance(8) ? 1u << 31 : 0);
        switch ((FeatureId)fid)
        {
            case FeatureId.NumberOfQueues:
                e.Cdw11 = random.Next(4) switch
                {
                    0 => 0xFFFF_FFFF,
                    1 => (uint)random.Next(0, Model.MaxIoQueuePairs + 2) | ((uint)random.Next(0, Model.MaxIoQueuePairs + 2) << 16),
                    2 => (uint)(Model.MaxIoQueuePairs - 1) * 0x10001u,
                    _ => NextUInt32(),
                };
                return $"set-features number-of-queues 0x{e.Cdw11:X8}";
            case FeatureId.HostBehaviorSupport:
            {
                Span<byte> data = new byte[512];
                for (int i = 0; i < 3; i++)
                    data[i] = (byte)(Chance(85) ? random.Next(2) : random.Next(256));
                if (Chance(10))
                    random.NextBytes(data[3..]);
                return $"set-features host-behavior lbafee {data[2]} " + ListBuffer(ref e, data);
            }
            case FeatureId.PowerManagement:
                e.Cdw11 = Chance(70) ? 0 : NextUInt32();
                return $"set-features power 0x{e.Cdw11:X8}";
            default:
                e.Cdw11 = NextUInt32();
                return $"set-features fid {fid:X2}h 0x{e.Cdw11:X8}";
        }
    }

    /// <summary>Format NVM with every field: LBAF index (valid mostly, else any of 64), MSET, PI 0-7, PIL, SES 0-7, NSID.</summary>
    private string FormatNvm(ref SubmissionEntry e)
    {
        e.Opcode = (byte)AdminOpcode.FormatNvm;
        e.NamespaceId = random.Next(10) switch { < 7 => (uint)random.Next(1, Model.Namespaces.Length + 1), < 9 => AllNamespaces, _ => PickNamespaceId(0) };
        var ns = Model.Namespace(e.NamespaceId) ?? Model.Namespaces[0];
        int index = Chance(80) ? random.Next(ns.Formats.Length) : random.Next(64);
        int pi = Chance(90) ? random.Next(4) : random.Next(8);
        int ses = Chance(90) ? random.Next(2) : random.Next(8);
        e.Cdw10 = CommandFields.FormatNvmCdw10(index, Chance(50), pi, Chance(40), ses);
        if (Chance(5))
            e.Cdw10 |= NextUInt32() & 0xFFFF_C000;   // reserved bits
        return $"format lbaf {index} pi {pi} ses {ses} nsid 0x{e.NamespaceId:X}";
    }
}
