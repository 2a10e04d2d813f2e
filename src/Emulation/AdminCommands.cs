using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Emulation;

/// <summary>The admin command set (NVMe Base 2.0 §5; Format NVM from NVM CS 1.0 §4.2).</summary>
internal sealed class AdminCommands
{
    /// <summary>Outstanding Asynchronous Event Requests allowed (Identify AERL + 1).</summary>
    public const int AsyncEventLimit = 4;

    /// <summary>Not a status: the command stays outstanding (an Asynchronous Event Request waiting for an event).</summary>
    public static readonly NvmeStatus HeldForEvent = new(0x7FFF);

    /// <summary>Asynchronous Event Request Limit Exceeded (SCT 1h, SC 05h); not among the shared NvmeStatus names.</summary>
    private static readonly NvmeStatus AsyncEventLimitExceeded = NvmeStatus.Create(StatusCodeType.CommandSpecific, 0x05, true);

    private const uint AllNamespaces = 0xFFFF_FFFF;
    private readonly ControllerCore _core;
    private readonly PrpTransfer _prp;
    private readonly byte[] _buffer;
    private int _heldEvents;

    public AdminCommands(ControllerCore core)
    {
        _core = core;
        _buffer = new byte[Math.Max(8192, core.MaxTransferBytes)];
        _prp = new PrpTransfer(core.Dma, _buffer.Length);
    }

    /// <summary>Controller reset: held event requests are gone with the admin queue.</summary>
    public void Reset() => _heldEvents = 0;

    /// <summary>Executes one admin command; <paramref name="result"/> is CQE DW0.</summary>
    public NvmeStatus Execute(ref SubmissionEntry c, out uint result)
    {
        result = 0;
        if ((c.Flags & 0xC3) != 0)
            return NvmeStatus.InvalidField;   // fused operations and SGLs are not supported (PSDT must be 00b)
        switch ((AdminOpcode)c.Opcode)
        {
            case AdminOpcode.DeleteIoSubmissionQueue:
                return _core.DeleteSubmissionQueue((ushort)c.Cdw10);
            case AdminOpcode.CreateIoSubmissionQueue:
                return _core.CreateSubmissionQueue((ushort)c.Cdw10, (int)(c.Cdw10 >> 16) + 1, c.Prp1, (ushort)(c.Cdw11 >> 16), (c.Cdw11 & 1) != 0);
            case AdminOpcode.DeleteIoCompletionQueue:
                return _core.DeleteCompletionQueue((ushort)c.Cdw10);
            case AdminOpcode.CreateIoCompletionQueue:
                return _core.CreateCompletionQueue((ushort)c.Cdw10, (int)(c.Cdw10 >> 16) + 1, c.Prp1, (c.Cdw11 & 1) != 0,
                    interruptsEnabled: (c.Cdw11 & 2) != 0, interruptVector: (ushort)(c.Cdw11 >> 16));
            case AdminOpcode.GetLogPage:
                return GetLogPage(ref c);
            case AdminOpcode.Identify:
                return Identify(ref c);
            case AdminOpcode.Abort:
                // DW0 bit 0: 0 = the command was aborted, 1 = it was not (§5.1).
                result = _core.RequestAbort((ushort)c.Cdw10, (ushort)(c.Cdw10 >> 16)) ? 0u : 1u;
                return NvmeStatus.Success;
            case AdminOpcode.SetFeatures:
                return SetFeatures(ref c, out result);
            case AdminOpcode.GetFeatures:
                return GetFeatures(ref c, out result);
            case AdminOpcode.AsynchronousEventRequest:
                if (_heldEvents == AsyncEventLimit)
                    return AsyncEventLimitExceeded;
                _heldEvents++;
                return HeldForEvent;
            case AdminOpcode.FormatNvm:
                return FormatNvm(ref c);
            case AdminOpcode.DoorbellBufferConfig when _core.Options.ShadowDoorbells:
                return _core.ConfigureShadowDoorbells(c.Prp1, c.Prp2);
            default:
                return NvmeStatus.InvalidCommandOpcode;
        }
    }

    private NvmeStatus ToHost(ref SubmissionEntry c, ReadOnlySpan<byte> data)
    {
        var status = _prp.Resolve(c.Prp1, c.Prp2, data.Length, _core.Registers.PageSize);
        if (status.IsSuccess)
            _prp.CopyToHost(data);
        return status;
    }

    private NvmeStatus FromHost(ref SubmissionEntry c, Span<byte> data)
    {
        var status = _prp.Resolve(c.Prp1, c.Prp2, data.Length, _core.Registers.PageSize);
        if (status.IsSuccess)
            _prp.CopyFromHost(data);
        return status;
    }

    private bool TryGetNamespace(uint nsid, out EmulatedNamespace ns)
    {
        if (nsid >= 1 && nsid <= _core.Namespaces.Length)
        {
            ns = _core.Namespaces[nsid - 1];
            return true;
        }
        ns = null!;
        return false;
    }

    private NvmeStatus Identify(ref SubmissionEntry c)
    {
        Span<byte> page = _buffer.AsSpan(0, 4096);
        page.Clear();
        byte cns = (byte)c.Cdw10;
        byte csi = (byte)(c.Cdw11 >> 24);
        EmulatedNamespace ns;
        switch ((IdentifyCns)cns)
        {
            case IdentifyCns.Namespace:
                if (!TryGetNamespace(c.NamespaceId, out ns))
                    return NvmeStatus.InvalidNamespaceOrFormat;
                IdentifyPages.Namespace(ns, page);
                break;
            case IdentifyCns.Controller:
                IdentifyPages.Controller(_core, page);
                break;
            case IdentifyCns.ActiveNamespaceList:
                if (c.NamespaceId >= 0xFFFF_FFFE)
                    return NvmeStatus.InvalidNamespaceOrFormat;
                IdentifyPages.ActiveNamespaces(_core, c.NamespaceId, page);
                break;
            case IdentifyCns.NamespaceDescriptors:
                if (!TryGetNamespace(c.NamespaceId, out ns))
                    return NvmeStatus.InvalidNamespaceOrFormat;
                IdentifyPages.NamespaceDescriptors(ns, page);
                break;
            case IdentifyCns.CommandSetNamespace:
                if (csi != 0)
                    return NvmeStatus.InvalidField;
                if (!TryGetNamespace(c.NamespaceId, out ns))
                    return NvmeStatus.InvalidNamespaceOrFormat;
                IdentifyPages.NvmNamespace(ns, page);
                break;
            case IdentifyCns.CommandSetController:
                if (csi != 0)
                    return NvmeStatus.InvalidField;
                IdentifyPages.NvmController(page);
                break;
            default:
                return NvmeStatus.InvalidField;
        }
        return ToHost(ref c, page);
    }

    private NvmeStatus GetLogPage(ref SubmissionEntry c)
    {
        byte lid = (byte)c.Cdw10;
        long dwords = ((c.Cdw10 >> 16) | ((long)(c.Cdw11 & 0xFFFF) << 16)) + 1;
        ulong offset = c.Cdw12 | ((ulong)c.Cdw13 << 32);
        int logSize = (LogPageId)lid switch
        {
            LogPageId.ErrorInformation => ControllerLogs.ErrorEntries * ErrorInformationEntry.Size,
            LogPageId.SmartHealth => SmartHealthLog.Size,
            LogPageId.FirmwareSlot => 512,
            _ => -1,
        };
        if (logSize < 0)
            return NvmeStatus.InvalidLogPage;
        // LPA bit 0 is clear: SMART is controller-wide, so a specific NSID is an invalid field (§5.16.1.3).
        if ((LogPageId)lid == LogPageId.SmartHealth && c.NamespaceId != 0 && c.NamespaceId != AllNamespaces)
            return NvmeStatus.InvalidField;
        long length = dwords * 4;
        // MDTS bounds the transfer; the offset must be dword aligned and inside the log (§5.16). A
        // transfer may run past the end of the log: those bytes are undefined, we send zeros.
        if ((offset & 3) != 0 || offset > (ulong)logSize || length > _core.MaxTransferBytes)
            return NvmeStatus.InvalidField;
        Span<byte> log = _buffer.AsSpan(0, logSize);
        log.Clear();
        switch ((LogPageId)lid)
        {
            case LogPageId.ErrorInformation:
                _core.Logs.WriteErrorLog(log);
                break;
            case LogPageId.SmartHealth:
                _core.Logs.WriteSmartLog(log);
                break;
            default:
                log[0] = 1;                      // AFI: slot 1 active
                System.Text.Encoding.ASCII.GetBytes(IdentifyPages.FirmwareRevision.PadRight(8), log.Slice(8, 8));
                break;
        }
        // The buffer holds MDTS bytes: move the requested part of the log to its start, zeros after it.
        Span<byte> transfer = _buffer.AsSpan(0, (int)length);
        int kept = (int)Math.Min(logSize - (long)offset, length);
        log.Slice((int)offset, kept).CopyTo(transfer);
        transfer[kept..].Clear();
        return ToHost(ref c, transfer);
    }

    private NvmeStatus GetFeatures(ref SubmissionEntry c, out uint result)
    {
        result = 0;
        byte fid = (byte)c.Cdw10;
        int select = (int)((c.Cdw10 >> 8) & 7);
        if (!FeatureSettings.IsSupported(fid) || select > 3)
            return NvmeStatus.InvalidField;
        if (select == 3)
        {
            result = 1u << 2;                    // changeable; not saveable, not namespace specific
            return NvmeStatus.Success;
        }
        Span<byte> buffer = _buffer.AsSpan(0, FeatureSettings.HostBehaviorSize);
        // SEL 010b (saved) reports the default: no feature is saveable (ONCS.SAVE = 0).
        if (!_core.Features.TryGet(fid, c.Cdw11, defaults: select != 0, buffer, out result))
            return NvmeStatus.InvalidField;
        return (FeatureId)fid == FeatureId.HostBehaviorSupport ? ToHost(ref c, buffer) : NvmeStatus.Success;
    }

    private NvmeStatus SetFeatures(ref SubmissionEntry c, out uint result)
    {
        result = 0;
        byte fid = (byte)c.Cdw10;
        if (!FeatureSettings.IsSupported(fid))
            return NvmeStatus.InvalidField;
        if ((c.Cdw10 & (1u << 31)) != 0)
            return NvmeStatus.FeatureNotSaveable;
        if ((FeatureId)fid != FeatureId.HostBehaviorSupport)
            return _core.Features.Set(fid, c.Cdw11, _core.HasIoQueues, out result);
        Span<byte> buffer = _buffer.AsSpan(0, FeatureSettings.HostBehaviorSize);
        var status = FromHost(ref c, buffer);
        return status.IsSuccess ? _core.Features.SetHostBehavior(buffer, _core.Options.ExtendedLbaFormats) : status;
    }

    /// <summary>Format NVM (NVM CS 1.0 §4.2.1): validates every target namespace before changing any.</summary>
    private NvmeStatus FormatNvm(ref SubmissionEntry c)
    {
        uint cdw10 = c.Cdw10;
        int index = (int)(cdw10 & 0xF) | (int)(((cdw10 >> 12) & 3) << 4);
        bool mset = (cdw10 & (1u << 4)) != 0;
        int pi = (int)((cdw10 >> 5) & 7);
        bool pil = (cdw10 & (1u << 8)) != 0;
        int ses = (int)((cdw10 >> 9) & 7);
        if (ses > 1)
            return NvmeStatus.InvalidField;      // user data erase only; no cryptographic erase (FNA bit 2 = 0)
        if (pi > 3)
            return NvmeStatus.InvalidField;
        int first, last;
        if (c.NamespaceId == AllNamespaces)
            (first, last) = (0, _core.Namespaces.Length - 1);
        else if (c.NamespaceId >= 1 && c.NamespaceId <= _core.Namespaces.Length)
            first = last = (int)c.NamespaceId - 1;
        else
            return NvmeStatus.InvalidNamespaceOrFormat;
        for (int i = first; i <= last; i++)
        {
            var ns = _core.Namespaces[i];
            if (index >= ns.Formats.Length)
                return NvmeStatus.InvalidFormat;
            var format = ns.Formats[index];
            if (pi != 0 && format.MetadataSize < format.TupleSize)
                return NvmeStatus.InvalidFormat;
            if (format.IsExtended && !_core.Features.LbaFormatExtensionEnabled)
                return NvmeStatus.InvalidNamespaceOrFormat;
            if (ns.ReadOnly)
                return NvmeStatus.NamespaceWriteProtected;
        }
        // Each namespace's format is atomic; with NSID FFFFFFFFh a failure stops at that namespace
        // (the ones before it are formatted, it and the rest keep their format), and the error says which.
        // Media I/O in flight ends first (completing its commands); a file gets new descriptors, which the media ring registers again.
        _core.Media?.Quiesce();
        try
        {
            for (int i = first; i <= last; i++)
                _core.Namespaces[i].Reformat(index, mset, pi, pil);
        }
        finally
        {
            _core.Media?.RefreshFiles();
        }
        return NvmeStatus.Success;
    }
}
