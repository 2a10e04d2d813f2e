using PolledNvme.Driver.Spec;

namespace PolledNvme.Emulation;

/// <summary>
/// Current values of the features the controller supports (NVMe Base 2.0 §5.27.1): Arbitration,
/// Power Management, Temperature Threshold (composite temperature only), Error Recovery, Volatile
/// Write Cache, Number of Queues, Interrupt Coalescing, Write Atomicity Normal, Asynchronous Event
/// Configuration and Host Behavior Support. None is saveable; all revert on reset.
/// </summary>
internal sealed class FeatureSettings
{
    private readonly int _maxIoQueuePairs;

    /// <summary>Host Behavior Support data buffer size.</summary>
    public const int HostBehaviorSize = 512;

    private uint _arbitration;
    private uint _powerManagement;
    private ushort _overTemperatureThreshold;
    private ushort _underTemperatureThreshold;
    private uint _errorRecovery;
    private uint _writeAtomicity;
    private bool _writeCacheEnabled = true;
    private uint _interruptCoalescing;
    private uint _asyncEventConfiguration;
    private byte _acre;
    private byte _etdas;

    /// <summary>Defaults for a controller offering <paramref name="maxIoQueuePairs"/> I/O queue pairs.</summary>
    public FeatureSettings(int maxIoQueuePairs)
    {
        _maxIoQueuePairs = maxIoQueuePairs;
        Reset();
    }

    /// <summary>I/O submission queues the host may create (NSQA + 1).</summary>
    public int SubmissionQueuesAllocated { get; private set; }

    /// <summary>I/O completion queues the host may create (NCQA + 1).</summary>
    public int CompletionQueuesAllocated { get; private set; }

    /// <summary>Host Behavior Support LBAFEE: the host accepts extended LBA formats (PI.md §3).</summary>
    public bool LbaFormatExtensionEnabled { get; private set; }

    /// <summary>Back to defaults (controller reset).</summary>
    public void Reset()
    {
        _arbitration = 0;
        _powerManagement = 0;
        _overTemperatureThreshold = IdentifyPages.WarningTemperatureKelvin;   // the over threshold starts at WCTEMP
        _underTemperatureThreshold = 0;
        _errorRecovery = 0;
        _writeAtomicity = 0;
        _writeCacheEnabled = true;
        _interruptCoalescing = 0;
        _asyncEventConfiguration = 0;
        _acre = 0;
        _etdas = 0;
        SubmissionQueuesAllocated = _maxIoQueuePairs;
        CompletionQueuesAllocated = _maxIoQueuePairs;
        LbaFormatExtensionEnabled = false;
    }

    /// <summary>Whether <paramref name="fid"/> is one this controller implements.</summary>
    public static bool IsSupported(byte fid) => (FeatureId)fid is FeatureId.Arbitration or FeatureId.PowerManagement
        or FeatureId.TemperatureThreshold or FeatureId.ErrorRecovery
        or FeatureId.VolatileWriteCache or FeatureId.NumberOfQueues or FeatureId.InterruptCoalescing
        or FeatureId.WriteAtomicityNormal or FeatureId.AsyncEventConfiguration or FeatureId.HostBehaviorSupport;

    /// <summary>
    /// Get Features, SEL 000b (current) or 001b/010b (default; nothing is saveable). Host Behavior
    /// fills <paramref name="buffer"/>; <paramref name="cdw11"/> selects the temperature threshold.
    /// Returns false for a CDW11 that selects nothing this controller has (Invalid Field).
    /// </summary>
    public bool TryGet(byte fid, uint cdw11, bool defaults, Span<byte> buffer, out uint value)
    {
        var current = defaults ? new FeatureSettings(_maxIoQueuePairs) : this;
        value = 0;
        switch ((FeatureId)fid)
        {
            case FeatureId.TemperatureThreshold:
                if (!TemperatureThresholdSelect(cdw11, forSet: false, out bool under))
                    return false;
                value = (cdw11 & 0x3F_0000) | (under ? current._underTemperatureThreshold : current._overTemperatureThreshold);
                return true;
            default:
                value = current.Get(fid, buffer);
                return true;
        }
    }

    // TMPSEL [19:16]: 0 composite (Fh, all sensors, only on Set: there are no other sensors); THSEL [21:20]: 0 over, 1 under.
    private static bool TemperatureThresholdSelect(uint cdw11, bool forSet, out bool under)
    {
        uint tmpsel = (cdw11 >> 16) & 0xF, thsel = (cdw11 >> 20) & 3;
        under = thsel == 1;
        return thsel <= 1 && (tmpsel == 0 || (forSet && tmpsel == 0xF));
    }

    private uint Get(byte fid, Span<byte> buffer)
    {
        switch ((FeatureId)fid)
        {
            case FeatureId.Arbitration: return _arbitration;
            case FeatureId.PowerManagement: return _powerManagement;
            case FeatureId.ErrorRecovery: return _errorRecovery;
            case FeatureId.WriteAtomicityNormal: return _writeAtomicity;
            case FeatureId.VolatileWriteCache: return _writeCacheEnabled ? 1u : 0u;
            case FeatureId.NumberOfQueues:
                return (uint)(SubmissionQueuesAllocated - 1) | ((uint)(CompletionQueuesAllocated - 1) << 16);
            case FeatureId.InterruptCoalescing: return _interruptCoalescing;
            case FeatureId.AsyncEventConfiguration: return _asyncEventConfiguration;
            default:
                buffer[..HostBehaviorSize].Clear();
                buffer[0] = _acre;
                buffer[1] = _etdas;
                buffer[2] = LbaFormatExtensionEnabled ? (byte)1 : (byte)0;
                return 0;
        }
    }

    /// <summary>Set Features for the dword features. Number of Queues is refused once I/O queues exist.</summary>
    public NvmeStatus Set(byte fid, uint cdw11, bool ioQueuesExist, out uint result)
    {
        result = 0;
        switch ((FeatureId)fid)
        {
            case FeatureId.Arbitration:
                _arbitration = cdw11 & 0xFFFF_FF07;
                return NvmeStatus.Success;
            case FeatureId.PowerManagement:
                if ((cdw11 & 0x1F) != 0)
                    return NvmeStatus.InvalidField;   // NPSS = 0: power state 0 only
                _powerManagement = cdw11 & 0xFF;
                return NvmeStatus.Success;
            case FeatureId.TemperatureThreshold:
                if (!TemperatureThresholdSelect(cdw11, forSet: true, out bool under))
                    return NvmeStatus.InvalidField;   // no temperature sensor besides the composite one
                if (under) _underTemperatureThreshold = (ushort)cdw11;
                else _overTemperatureThreshold = (ushort)cdw11;
                return NvmeStatus.Success;
            case FeatureId.ErrorRecovery:
                if ((cdw11 & (1u << 16)) != 0)
                    return NvmeStatus.InvalidField;   // DULBE needs NSFEAT bit 2, which the namespaces do not report
                _errorRecovery = cdw11 & 0xFFFF;
                return NvmeStatus.Success;
            case FeatureId.WriteAtomicityNormal:
                _writeAtomicity = cdw11 & 1;
                return NvmeStatus.Success;
            case FeatureId.VolatileWriteCache:
                _writeCacheEnabled = (cdw11 & 1) != 0;
                return NvmeStatus.Success;
            case FeatureId.NumberOfQueues:
            {
                uint nsqr = cdw11 & 0xFFFF, ncqr = cdw11 >> 16;
                if (nsqr == 0xFFFF || ncqr == 0xFFFF)
                    return NvmeStatus.InvalidField;
                if (ioQueuesExist)
                    return NvmeStatus.CommandSequenceError;
                SubmissionQueuesAllocated = (int)Math.Min(nsqr + 1, (uint)_maxIoQueuePairs);
                CompletionQueuesAllocated = (int)Math.Min(ncqr + 1, (uint)_maxIoQueuePairs);
                result = (uint)(SubmissionQueuesAllocated - 1) | ((uint)(CompletionQueuesAllocated - 1) << 16);
                return NvmeStatus.Success;
            }
            case FeatureId.InterruptCoalescing:
                _interruptCoalescing = cdw11 & 0xFFFF;
                return NvmeStatus.Success;
            case FeatureId.AsyncEventConfiguration:
                _asyncEventConfiguration = cdw11;
                return NvmeStatus.Success;
            default:
                return NvmeStatus.InvalidField;
        }
    }

    /// <summary>Set Features Host Behavior Support from its data buffer; LBAFEE needs CTRATT.ELBAS.</summary>
    public NvmeStatus SetHostBehavior(ReadOnlySpan<byte> buffer, bool extendedFormatsSupported)
    {
        if (buffer[0] > 1 || buffer[1] > 1 || buffer[2] > 1)
            return NvmeStatus.InvalidField;
        if (buffer[2] == 1 && !extendedFormatsSupported)
            return NvmeStatus.InvalidField;
        _acre = buffer[0];
        _etdas = buffer[1];
        LbaFormatExtensionEnabled = buffer[2] == 1;
        return NvmeStatus.Success;
    }
}
