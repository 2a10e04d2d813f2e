using PolledNvme.Emulation;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>
/// Register-level events between batches: controller reset and re-enable with another memory
/// page size and admin queue size, enables the controller must refuse, shutdowns, doorbell
/// writes outside a queue, and a reset with commands still in the rings.
/// </summary>
internal sealed unsafe partial class SqeFuzzer
{
    private void RegisterAction()
    {
        _generator.BeginBatch();
        switch (_random.Next(10))
        {
            case < 3: Reset(); break;
            case < 5: InvalidEnable(); break;
            case < 6: Shutdown(); break;
            case < 8: BadDoorbells(); break;
            default: ResetUnderLoad(); break;
        }
        CheckReady("after a register action");
    }

    /// <summary>A memory page size: 4 KiB mostly, up to 64 KiB (CAP.MPSMAX).</summary>
    private int PickMps() => _random.Next(10) switch { < 6 => 0, 6 => 1, 7 => 2, 8 => 3, _ => 4 };

    private void Reset()
    {
        Remember("register: controller reset (CC.EN = 0), enable again");
        Disable();
        EnableValid(PickMps(), _random.Next(8, FuzzMemory.MaxAdminEntries + 1));
    }

    /// <summary>An enable with one setting the controller must refuse: it may not become ready; a reset clears the failure.</summary>
    private void InvalidEnable()
    {
        Disable();
        int mps = PickMps();
        int page = 4096 << mps;
        uint cc = ControllerConfiguration.Enable | ((uint)mps << ControllerConfiguration.MpsShift) | IoEntrySizes;
        uint aqa = 31u | (31u << 16);
        ulong asq = _memory.AdminSq.Iova + (ulong)_memory.AdminSq.AlignedOffset(0, page);
        ulong acq = _memory.AdminCq.Iova + (ulong)_memory.AdminCq.AlignedOffset(0, page);
        string what;
        switch (_random.Next(9))
        {
            case 0: cc |= (uint)_random.Next(1, 8) << ControllerConfiguration.CssShift; what = "CC.CSS not 000b"; break;
            case 1: cc = (cc & ~(0xFu << ControllerConfiguration.MpsShift)) | ((uint)_random.Next(5, 16) << ControllerConfiguration.MpsShift); what = "CC.MPS above CAP.MPSMAX"; break;
            case 2: cc |= (uint)_random.Next(1, 8) << ControllerConfiguration.AmsShift; what = "CC.AMS not round robin"; break;
            case 3: cc = (cc & ~(0xFu << ControllerConfiguration.IosqesShift)) | ((uint)(_random.Next(15) is var v && v >= 6 ? v + 1 : v) << ControllerConfiguration.IosqesShift); what = "CC.IOSQES not 6"; break;
            case 4: cc = (cc & ~(0xFu << ControllerConfiguration.IocqesShift)) | ((uint)(_random.Next(15) is var w && w >= 4 ? w + 1 : w) << ControllerConfiguration.IocqesShift); what = "CC.IOCQES not 4"; break;
            case 5: aqa = _random.Next(2) == 0 ? 0u : 31u; what = "AQA ASQS or ACQS of 0"; break;
            case 6: asq += (ulong)(4 * _random.Next(1, 1024)); what = "ASQ not page aligned"; break;
            case 7: acq = _memory.Retired.Iova; what = "ACQ unmapped"; break;
            default: aqa = 0xFFFu | (0xFFFu << 16); what = "admin rings larger than their mapping"; break;
        }
        Remember($"register: invalid enable ({what})");
        Registers.Write32(ControllerRegisters.Aqa, aqa);
        Registers.Write64(ControllerRegisters.Asq, asq);
        Registers.Write64(ControllerRegisters.Acq, acq);
        Registers.Write32(ControllerRegisters.Cc, cc);
        for (int pass = 0; pass < 4; pass++)
            Advance();
        if (_controller.Mode == EmulatedControllerMode.Threaded)
            Thread.Sleep(5);
        uint csts = Registers.Read32(ControllerRegisters.Csts);
        if ((csts & ControllerStatus.Ready) != 0)
            throw new FuzzViolationException($"the controller became ready (CSTS 0x{csts:X}) with {what} (CC 0x{cc:X8}, AQA 0x{aqa:X8}, ASQ 0x{asq:X}, ACQ 0x{acq:X})");
        Stats.InvalidEnables++;
        Disable();
        EnableValid(PickMps(), _random.Next(8, FuzzMemory.MaxAdminEntries + 1));
    }

    /// <summary>CC.SHN: SHST goes 01b then 10b, nothing is processed afterwards; a reset brings the controller back.</summary>
    private void Shutdown()
    {
        uint shn = (uint)_random.Next(1, 3);
        Remember($"register: shutdown (SHN {shn})");
        uint cc = Registers.Read32(ControllerRegisters.Cc);
        Registers.Write32(ControllerRegisters.Cc, cc | (shn << ControllerConfiguration.ShnShift));
        WaitStatus(csts => ((csts >> ControllerStatus.ShstShift) & ControllerStatus.ShstMask) == 2, "SHST = 10b (shutdown complete)");
        // A command now must not be processed (and must not crash anything).
        var e = new SubmissionEntry { Opcode = (byte)AdminOpcode.Identify, Prp1 = _memory.OracleData.Iova, Cdw10 = (uint)IdentifyCns.Controller };
        e.CommandId = _adminSq.NextCommandId();
        _adminSq.Ring[_adminSq.Tail] = e;
        _adminSq.Tail = (_adminSq.Tail + 1) % _adminSq.Entries;
        RingSq(_adminSq);
        for (int pass = 0; pass < 4; pass++)
            Advance();
        if (_controller.Mode == EmulatedControllerMode.Threaded)
            Thread.Sleep(5);
        CompletionEntry* slot = _adminCq.Ring + _adminCq.Head;
        if (((Volatile.Read(ref slot->StatusAndPhase) & 1) != 0) == _adminCq.Phase)
            throw new FuzzViolationException("a command completed after the shutdown had completed (SHST 10b)");
        Stats.Shutdowns++;
        Disable();
        EnableValid(PickMps(), _random.Next(8, FuzzMemory.MaxAdminEntries + 1));
    }

    /// <summary>Doorbell values outside a queue (Invalid Doorbell Write Value) are ignored: no command runs, nothing completes.</summary>
    private void BadDoorbells()
    {
        var sq = _random.Next(3) == 0 ? _adminSq : _state.IoSqs().FirstOrDefault() ?? _adminSq;
        var cq = sq.Cq;
        uint badTail = (uint)(sq.Entries + _random.Next(0, 65536));
        uint badHead = (uint)(cq.Entries + _random.Next(0, 65536));
        Remember($"register: tail {badTail} for {sq}, head {badHead} for CQ {cq.Id}");
        Registers.Write32(ControllerRegisters.SqTailDoorbell(sq.Id, _config.DoorbellStride), badTail);
        Registers.Write32(ControllerRegisters.CqHeadDoorbell(cq.Id, _config.DoorbellStride), badHead);
        if (_shadowInForce)
            WriteShadows(sq, badTail, cq, badHead);   // the same garbage where the device reads it now
        // Doorbells of queue ids that do not exist: nothing to act on.
        for (int q = 1; q <= _config.IoQueuePairs; q++)
            if (_state.Sqs[q] is null && _state.Cqs[q] is null && _random.Next(2) == 0)
            {
                Registers.Write32(ControllerRegisters.SqTailDoorbell(q, _config.DoorbellStride), (uint)_random.Next());
                Registers.Write32(ControllerRegisters.CqHeadDoorbell(q, _config.DoorbellStride), (uint)_random.Next());
            }
        for (int pass = 0; pass < 4; pass++)
            Advance();
        if (_controller.Mode == EmulatedControllerMode.Threaded)
            Thread.Sleep(2);
        if (ReapAll() != 0)
            throw new FuzzViolationException("a completion arrived after doorbell writes outside the queues, with no command submitted");
        if (_shadowInForce)
            WriteShadows(sq, (uint)sq.Tail, cq, (uint)cq.Head);
        RingSq(sq);
        RingCq(cq);
        Stats.DoorbellGarbage++;
    }

    /// <summary>Commands in the rings and doorbells rung, then a reset before the device looks: they vanish (or, threaded, some ran).</summary>
    private void ResetUnderLoad()
    {
        var batch = new List<FuzzCommand>();
        for (int i = _random.Next(1, 6); i > 0; i--)
        {
            var sq = PickIoQueue();
            if (sq is null)
                break;
            if (!TryNewCommand(sq, _generator.IoCommand(out string shape), shape, admin: false, out var c))
                continue;
            c.MayVanish = true;
            batch.Add(c);
        }
        Remember($"register: reset with {batch.Count} commands in the rings");
        _recorder.Record(batch);
        PlaceAndRing(batch);
        Reset();
    }
}
