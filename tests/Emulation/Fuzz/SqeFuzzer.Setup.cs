using System.Diagnostics;
using System.Runtime.InteropServices;
using PolledNvme.Emulation;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>Bring-up (enable, Identify, the model), register waits, and the oracle's own always-valid commands.</summary>
internal sealed unsafe partial class SqeFuzzer
{
    private const uint IoEntrySizes = (6u << ControllerConfiguration.IosqesShift) | (4u << ControllerConfiguration.IocqesShift);

    /// <summary>Enables the controller, reads Identify into the model, creates an I/O queue pair and takes the first snapshot.</summary>
    private void Start()
    {
        EnableValid(mps: 0, adminEntries: 32);
        var controller = MemoryMarshal.Read<IdentifyController>(BootstrapIdentify((byte)IdentifyCns.Controller, 0));
        var namespaces = new NamespaceModel[controller.Nn];
        for (uint nsid = 1; nsid <= controller.Nn; nsid++)
        {
            var id = MemoryMarshal.Read<IdentifyNamespace>(BootstrapIdentify((byte)IdentifyCns.Namespace, nsid));
            var nvm = MemoryMarshal.Read<NvmIdentifyNamespace>(BootstrapIdentify((byte)IdentifyCns.CommandSetNamespace, nsid));
            var formats = new FormatEntry[id.FormatCount];
            for (int i = 0; i < formats.Length; i++)
            {
                var lbaf = id.GetLbaFormat(i);
                var elbaf = nvm.GetExtendedLbaFormat(i);
                formats[i] = new FormatEntry(lbaf.BlockSize, lbaf.MetadataSize, elbaf.ProtectionFormat, elbaf.StorageTagSize);
            }
            var ns = new NamespaceModel(nsid, (long)id.Nsze * formats[id.FormatIndex].BlockSize, formats);
            ns.Select(id.FormatIndex, id.ExtendedMetadata, id.PiType, id.PiFirst);
            namespaces[nsid - 1] = ns;
        }
        var cap = new ControllerCapabilities(Registers.Read64(ControllerRegisters.Cap));
        var model = new ControllerModel
        {
            Namespaces = namespaces,
            MaxIoQueuePairs = _config.IoQueuePairs,
            MaxQueueEntries = cap.Mqes + 1,
            MaxTransferBytes = 4096 << controller.Mdts,
            AsyncEventLimit = controller.Aerl + 1,
            ExtendedFormatsSupported = (controller.Ctratt & IdentifyController.CtrattExtendedLbaFormats) != 0,
            DoorbellBufferConfigSupported = controller.DoorbellBufferConfigSupported,
        };
        model.Reset();
        _state = new FuzzState(model, _memory, new ShadowStore(namespaces.Length), controller.Elpe + 1);
        _state.Sqs[0] = _adminSq;
        _state.Cqs[0] = _adminCq;
        _oracle = new CommandOracle(_state);
        _generator = new SqeGenerator(_state, _random);
        RestoreIoQueues();
        EnsureShadowDoorbells();
        Checkpoint();
    }

    /// <summary>
    /// Programs AQA/ASQ/ACQ and CC (memory page size 2^(12+<paramref name="mps"/>)) on a disabled
    /// controller, with zeroed rings aligned to that page size, and waits for CSTS.RDY.
    /// </summary>
    private void EnableValid(int mps, int adminEntries)
    {
        int page = 4096 << mps;
        var sqRegion = _memory.AdminSq;
        var cqRegion = _memory.AdminCq;
        int sqOffset = sqRegion.AlignedOffset(0, page), cqOffset = cqRegion.AlignedOffset(0, page);
        sqRegion.Span.Clear();
        cqRegion.Span.Clear();
        Registers.Write32(ControllerRegisters.Aqa, (uint)(adminEntries - 1) | ((uint)(adminEntries - 1) << 16));
        Registers.Write64(ControllerRegisters.Asq, sqRegion.Iova + (ulong)sqOffset);
        Registers.Write64(ControllerRegisters.Acq, cqRegion.Iova + (ulong)cqOffset);
        Registers.Write32(ControllerRegisters.Cc, ControllerConfiguration.Enable | ((uint)mps << ControllerConfiguration.MpsShift) | IoEntrySizes);
        WaitStatus(csts => (csts & ControllerStatus.Ready) != 0, "CSTS.RDY = 1 after a valid enable");
        _adminCq = new HostCq(0, adminEntries, (CompletionEntry*)(cqRegion.Host + cqOffset));
        _adminSq = new HostSq(0, adminEntries, (SubmissionEntry*)(sqRegion.Host + sqOffset), _adminCq);
        _adminCq.Sqs.Add(_adminSq);
        if (_state is not null)
        {
            _state.Sqs[0] = _adminSq;
            _state.Cqs[0] = _adminCq;
            Model.PageSize = page;
        }
    }

    /// <summary>CC.EN = 0 and waits for CSTS.RDY = 0: every queue is gone, features are back to defaults.</summary>
    private void Disable()
    {
        Registers.Write32(ControllerRegisters.Cc, 0);
        _shadowInForce = false;   // a reset drops the configuration with the queues (§5.9)
        WaitStatus(csts => (csts & (ControllerStatus.Ready | ControllerStatus.Fatal)) == 0, "CSTS.RDY = 0 and CFS = 0 after CC.EN = 0 (a controller reset)");
        if (_state is null)
            return;
        // Whatever was in flight is gone with the queues (write-like commands may have run).
        foreach (var sq in _state.Sqs)
            foreach (var c in sq?.Outstanding.Values ?? Enumerable.Empty<FuzzCommand>())
            {
                foreach (var (nsid, lba, count) in c.Touches)
                    _state.Shadow.Touch(nsid, lba, count);
                Stats.Vanished++;
            }
        _state.DropIoQueues();
        _adminSq.Outstanding.Clear();
        Model.Reset();
        Stats.Resets++;
    }

    /// <summary>Lets the device run until CSTS satisfies <paramref name="condition"/>: a few passes inline, 30 s threaded.</summary>
    private void WaitStatus(Func<uint, bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        for (int pass = 0; ; pass++)
        {
            if (condition(Registers.Read32(ControllerRegisters.Csts)))
                return;
            if (_controller.Mode == EmulatedControllerMode.Inline ? pass == IdleStepLimit : clock.Elapsed > ThreadedWaitLimit)
                throw new FuzzViolationException($"waiting for {what}: CSTS is 0x{Registers.Read32(ControllerRegisters.Csts):X}; last enable error: {_controller.LastEnableError ?? "none"}");
            Advance();
            if (_controller.Mode == EmulatedControllerMode.Threaded)
                Thread.Sleep(pass < 10 ? 0 : 1);
        }
    }

    /// <summary>Identify before the model exists: raw, into the oracle's buffer; it must succeed.</summary>
    private ReadOnlySpan<byte> BootstrapIdentify(byte cns, uint nsid)
    {
        var e = new SubmissionEntry { Opcode = (byte)AdminOpcode.Identify, NamespaceId = nsid, Prp1 = _memory.OracleData.Iova, Cdw10 = cns };
        e.CommandId = _adminSq.NextCommandId();
        _adminSq.Ring[_adminSq.Tail] = e;
        _adminSq.Tail = (_adminSq.Tail + 1) % _adminSq.Entries;
        RingSq(_adminSq);
        var clock = Stopwatch.StartNew();
        for (int pass = 0; ; pass++)
        {
            CompletionEntry* slot = _adminCq.Ring + _adminCq.Head;
            if (((Volatile.Read(ref slot->StatusAndPhase) & 1) != 0) == _adminCq.Phase)
            {
                var completion = *slot;
                if (++_adminCq.Head == _adminCq.Entries)
                    (_adminCq.Head, _adminCq.Phase) = (0, !_adminCq.Phase);
                RingCq(_adminCq);
                _adminSq.KnownHead = completion.SqHead;
                if (completion.Status != 0 || completion.CommandId != e.CommandId)
                    throw new FuzzViolationException($"bring-up Identify CNS {cns} NSID {nsid} failed: {new NvmeStatus(completion.Status)}, CID {completion.CommandId}");
                return _memory.OracleData.Span[..4096];
            }
            if (_controller.Mode == EmulatedControllerMode.Inline ? pass == IdleStepLimit : clock.Elapsed > ThreadedWaitLimit)
                throw new FuzzViolationException($"bring-up Identify CNS {cns} NSID {nsid}: no completion");
            Advance();
        }
    }

    /// <summary>Runs an always-valid command of the fuzzer's own (bring-up, checkpoints) alone; the oracle judges it and it must succeed.</summary>
    private FuzzCommand RunChecked(HostSq sq, SubmissionEntry entry, string shape, bool admin)
    {
        entry.CommandId = sq.NextCommandId();
        var c = new FuzzCommand { Entry = entry, Sq = sq, Admin = admin, Shape = "oracle " + shape, Index = _index };
        sq.Outstanding.Add(entry.CommandId, c);
        sq.Reserved++;
        _oracle.Judge(c);   // its buffers are the oracle's own: the fuzzer's memory, by design
        if ((c.Allowed & Outcome.Success) == 0)
            throw new InvalidOperationException($"fuzzer bug: its own command is not valid: {c}");
        c.Allowed = Outcome.Success;
        Stats.OracleCommands++;
        Execute([c]);
        return c;
    }

    /// <summary>Makes sure an I/O queue pair exists (the fuzz commands may have deleted them all, or a reset did).</summary>
    private void RestoreIoQueues()
    {
        if (_state.IoSqs().Any())
            return;
        HostCq? cq = null;
        for (int q = 1; q < _state.Cqs.Length && cq is null; q++)
            cq = _state.Cqs[q];
        if (cq is null)
        {
            int qid = FirstFree(_state.Cqs, Model.CqAllocated);
            int entries = _random.Next(2, Model.MaxQueueEntries + 1);
            var slot = _memory.IoCq[qid];
            slot.Span.Clear();
            var create = new SubmissionEntry
            {
                Opcode = (byte)AdminOpcode.CreateIoCompletionQueue,
                Prp1 = slot.Iova + (ulong)slot.AlignedOffset(0, Model.PageSize),
                Cdw10 = (uint)qid | ((uint)(entries - 1) << 16),
                Cdw11 = 1,
            };
            RunChecked(_adminSq, create, $"create-cq {qid}", admin: true);
            cq = _state.Cqs[qid]!;
        }
        int sqid = FirstFree(_state.Sqs, Model.SqAllocated);
        var sqSlot = _memory.IoSq[sqid];
        var createSq = new SubmissionEntry
        {
            Opcode = (byte)AdminOpcode.CreateIoSubmissionQueue,
            Prp1 = sqSlot.Iova + (ulong)sqSlot.AlignedOffset(0, Model.PageSize),
            Cdw10 = (uint)sqid | ((uint)(_random.Next(2, Model.MaxQueueEntries + 1) - 1) << 16),
            Cdw11 = 1 | ((uint)cq.Id << 16),
        };
        RunChecked(_adminSq, createSq, $"create-sq {sqid}", admin: true);
    }

    private static int FirstFree<T>(T?[] queues, int allocated) where T : class
    {
        for (int q = 1; q <= allocated && q < queues.Length; q++)
            if (queues[q] is null)
                return q;
        throw new InvalidOperationException("fuzzer bug: no free queue id to restore an I/O queue pair");
    }
}
