using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using PolledNvme.Driver.Pcie;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Bench.Micro;

/// <summary>
/// Cost of one 4 KiB command through the emulated controller in inline mode: a bare host puts a
/// Read or Write (PRACT=1, all PRCHK checks) into an I/O queue, rings the doorbell, steps the
/// device once and reaps the completion. Measures the device model (fetch, PRP walk, PI
/// generate/verify, media copy, completion) without a driver on top.
/// </summary>
[MemoryDiagnoser]
public unsafe class EmulatedControllerBenchmarks
{
    private const int Entries = 64;
    private const uint Checks = CommandFields.Pract | CommandFields.PrchkGuard | CommandFields.PrchkApplicationTag | CommandFields.PrchkReferenceTag;

    private EmulatedController _controller = null!;
    private RegisterWindow _registers;
    private readonly List<nint> _memory = [];
    private SubmissionEntry* _sq;
    private CompletionEntry* _cq;
    private int _sqTail, _cqHead;
    private bool _phase = true;
    private ulong _data;

    /// <summary>Backend: null (no media copy) or mem (RAM).</summary>
    [Params("null", "mem")]
    public string Backend { get; set; } = "mem";

    /// <summary>PI guard: 0 = 16b (ms=8), 2 = 64b (ms=16).</summary>
    [Params(0, 2)]
    public int Pif { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _controller = EmulatedController.Create(EmulatedControllerOptions.Parse(
            $"{Backend}:lbads=4096,ms={(Pif == 0 ? 8 : 16)},pi=1,pif={Pif},size=64M,mode=inline"));
        // The bare host writes the register page itself: no driver, no transport queue pairs.
        _registers = ((PcieTransport)_controller.Transport).Registers;
        var (asq, asqIova) = Alloc(4096);
        var (acq, acqIova) = Alloc(4096);
        _registers.Write32(ControllerRegisters.Aqa, 0x000F_000F);
        _registers.Write64(ControllerRegisters.Asq, asqIova);
        _registers.Write64(ControllerRegisters.Acq, acqIova);
        _registers.Write32(ControllerRegisters.Cc, ControllerConfiguration.Enable | (6u << ControllerConfiguration.IosqesShift) | (4u << ControllerConfiguration.IocqesShift));
        _controller.Step();

        var (buffer, bufferIova) = Alloc(4096);
        var (sq, sqIova) = Alloc(Entries * SubmissionEntry.Size);
        var (cq, cqIova) = Alloc(Entries * CompletionEntry.Size);
        ((byte*)buffer)[2] = 1;   // Host Behavior Support LBAFEE for the 64b guard format
        var admin = new SubmissionEntry[]
        {
            new() { Opcode = (byte)AdminOpcode.SetFeatures, Cdw10 = (uint)FeatureId.HostBehaviorSupport, Prp1 = bufferIova },
            new() { Opcode = (byte)AdminOpcode.CreateIoCompletionQueue, Prp1 = cqIova, Cdw10 = 1 | ((Entries - 1u) << 16), Cdw11 = 1 },
            new() { Opcode = (byte)AdminOpcode.CreateIoSubmissionQueue, Prp1 = sqIova, Cdw10 = 1 | ((Entries - 1u) << 16), Cdw11 = 1 | (1u << 16) },
        };
        for (int i = 0; i < admin.Length; i++)
        {
            ((SubmissionEntry*)asq)[i] = admin[i];
            ((SubmissionEntry*)asq)[i].CommandId = (ushort)i;
        }
        _registers.Write32(ControllerRegisters.SqTailDoorbell(0, 0), (uint)admin.Length);
        _controller.Step();
        for (int i = 0; i < admin.Length; i++)
            if (((CompletionEntry*)acq)[i].Status != 0)
                throw new InvalidOperationException($"admin command {i} failed: {new NvmeStatus(((CompletionEntry*)acq)[i].Status)}");
        _registers.Write32(ControllerRegisters.CqHeadDoorbell(0, 0), (uint)admin.Length);
        _sq = (SubmissionEntry*)sq;
        _cq = (CompletionEntry*)cq;
        (_, _data) = Alloc(4096);
        Write4K();   // the block exists before it is read
    }

    private (nint Pointer, ulong Iova) Alloc(int bytes)
    {
        int length = (bytes + 4095) & ~4095;
        byte* p = (byte*)NativeMemory.AlignedAlloc((nuint)length, 4096);
        NativeMemory.Clear(p, (nuint)length);
        _memory.Add((nint)p);
        return ((nint)p, _controller.Transport.Map((nint)p, (nuint)length));
    }

    private ushort Run(byte opcode)
    {
        SubmissionEntry* entry = _sq + _sqTail;
        *entry = default;
        entry->Opcode = opcode;
        entry->CommandId = (ushort)_sqTail;
        entry->NamespaceId = 1;
        entry->Prp1 = _data;
        entry->Cdw10 = 7;
        entry->Cdw12 = Checks;   // NLB 0: one block
        entry->Cdw14 = 7;        // ILBRT = SLBA (type 1)
        _sqTail = (_sqTail + 1) % Entries;
        _registers.Write32(ControllerRegisters.SqTailDoorbell(1, 0), (uint)_sqTail);
        _controller.Step();
        CompletionEntry* completion = _cq + _cqHead;
        if (completion->Phase != _phase || completion->Status != 0)
            throw new InvalidOperationException("the command did not complete successfully");
        if (++_cqHead == Entries)
        {
            _cqHead = 0;
            _phase = !_phase;
        }
        _registers.Write32(ControllerRegisters.CqHeadDoorbell(1, 0), (uint)_cqHead);
        return completion->CommandId;
    }

    /// <summary>Write of one 4 KiB block, PI generated by the controller.</summary>
    [Benchmark]
    public ushort Write4K() => Run((byte)NvmOpcode.Write);

    /// <summary>Read of one 4 KiB block, PI checked and stripped by the controller.</summary>
    [Benchmark]
    public ushort Read4K() => Run((byte)NvmOpcode.Read);

    [GlobalCleanup]
    public void Cleanup()
    {
        _controller.Dispose();
        foreach (nint p in _memory)
            NativeMemory.AlignedFree((void*)p);
        _memory.Clear();
    }
}
