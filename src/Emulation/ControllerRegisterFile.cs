using System.Runtime.InteropServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Emulation;

/// <summary>What the device saw change in CC since it last looked.</summary>
internal enum ConfigurationEvent
{
    None,
    /// <summary>CC.EN went 0 → 1: validate and bring the admin queue up.</summary>
    Enable,
    /// <summary>CC.EN went 1 → 0: controller reset.</summary>
    Disable,
    /// <summary>CC.SHN went from 00b to 01b or 10b.</summary>
    Shutdown,
    /// <summary>CC.SHN went back to 00b.</summary>
    ShutdownCleared,
}

/// <summary>
/// The register page (NVMe Base 2.0 §3.1.4): native memory the host reads and writes like BAR0,
/// holding CAP/VS/CC/CSTS/AQA/ASQ/ACQ and the doorbells. The device owns CAP, VS and CSTS (it
/// rewrites them when the host scribbles on them) and observes CC by comparing with what it saw last.
/// </summary>
internal sealed unsafe class ControllerRegisterFile : IDisposable
{
    /// <summary>VS for NVMe 2.0.0: MJR [31:16], MNR [15:8].</summary>
    public const uint Version20 = 2u << 16;

    private byte* _page;
    private readonly int _length;
    private readonly ulong _cap;
    private uint _csts;
    private uint _lastCc;

    /// <summary>Allocates a zeroed page with doorbells for the admin queue and <paramref name="ioQueuePairs"/> I/O queue pairs.</summary>
    public ControllerRegisterFile(ControllerCapabilities capabilities, int ioQueuePairs)
    {
        _cap = capabilities.Value;
        Stride = capabilities.Dstrd;
        int doorbellEnd = ControllerRegisters.CqHeadDoorbell(ioQueuePairs, Stride) + 4;
        _length = (doorbellEnd + 0xFFF) & ~0xFFF;
        _page = (byte*)NativeMemory.AlignedAlloc((nuint)_length, 4096);
        NativeMemory.Clear(_page, (nuint)_length);
        Window = new RegisterWindow((nint)_page, _length);
        RestoreReadOnly();
    }

    /// <summary>The window the host uses.</summary>
    public RegisterWindow Window { get; }

    /// <summary>CAP.DSTRD.</summary>
    public int Stride { get; }

    /// <summary>CAP as reported.</summary>
    public ControllerCapabilities Capabilities => new(_cap);

    /// <summary>The CC value the device acts on (the last one observed).</summary>
    public uint Configuration => _lastCc;

    /// <summary>CSTS as the device last set it.</summary>
    public uint Status => _csts;

    /// <summary>Memory page size selected by CC.MPS.</summary>
    public int PageSize => 4096 << (int)((_lastCc >> ControllerConfiguration.MpsShift) & 0xF);

    /// <summary>Tail doorbell of submission queue <paramref name="qid"/>.</summary>
    public uint* SqTailDoorbell(int qid) => (uint*)(_page + ControllerRegisters.SqTailDoorbell(qid, Stride));

    /// <summary>Head doorbell of completion queue <paramref name="qid"/>.</summary>
    public uint* CqHeadDoorbell(int qid) => (uint*)(_page + ControllerRegisters.CqHeadDoorbell(qid, Stride));

    /// <summary>Reads a host-written register.</summary>
    public uint Read32(int offset) => Window.Read32(offset);

    /// <summary>Reads a host-written 64-bit register.</summary>
    public ulong Read64(int offset) => Window.Read64(offset);

    /// <summary>Looks at CC once; returns what changed, most important first (EN beats SHN).</summary>
    public ConfigurationEvent Observe()
    {
        uint cc = Window.Read32(ControllerRegisters.Cc);
        if (cc == _lastCc)
            return ConfigurationEvent.None;
        uint previous = _lastCc;
        _lastCc = cc;
        bool wasEnabled = (previous & ControllerConfiguration.Enable) != 0;
        bool enabled = (cc & ControllerConfiguration.Enable) != 0;
        if (enabled != wasEnabled)
        {
            // Recheck SHN on the next look: a host may write EN and SHN together.
            if (enabled && Shn(cc) != 0)
                _lastCc &= ~(3u << ControllerConfiguration.ShnShift);
            return enabled ? ConfigurationEvent.Enable : ConfigurationEvent.Disable;
        }
        if (Shn(cc) != 0 && Shn(previous) == 0)
            return ConfigurationEvent.Shutdown;
        if (Shn(cc) == 0 && Shn(previous) != 0)
            return ConfigurationEvent.ShutdownCleared;
        return ConfigurationEvent.None;
    }

    private static uint Shn(uint cc) => (cc >> ControllerConfiguration.ShnShift) & 3;

    /// <summary>Sets CSTS (device side) and publishes it.</summary>
    public void SetStatus(uint csts)
    {
        _csts = csts;
        Window.Write32(ControllerRegisters.Csts, csts);
    }

    /// <summary>Sets or clears bits of CSTS.</summary>
    public void UpdateStatus(uint set, uint clear) => SetStatus((_csts & ~clear) | set);

    /// <summary>Rewrites CAP, VS and CSTS if the host overwrote them (they are read-only to the host).</summary>
    public void RestoreReadOnly()
    {
        if (Window.Read64(ControllerRegisters.Cap) != _cap)
            Window.Write64(ControllerRegisters.Cap, _cap);
        if (Window.Read32(ControllerRegisters.Vs) != Version20)
            Window.Write32(ControllerRegisters.Vs, Version20);
        if (Window.Read32(ControllerRegisters.Csts) != _csts)
            Window.Write32(ControllerRegisters.Csts, _csts);
    }

    /// <summary>Zeroes every doorbell (controller reset: queues restart at 0).</summary>
    public void ClearDoorbells()
        => NativeMemory.Clear(_page + ControllerRegisters.DoorbellBase, (nuint)(_length - ControllerRegisters.DoorbellBase));

    /// <summary>Frees the page. The host must not touch the window afterwards.</summary>
    public void Dispose()
    {
        if (_page != null)
        {
            NativeMemory.AlignedFree(_page);
            _page = null;
        }
    }
}
