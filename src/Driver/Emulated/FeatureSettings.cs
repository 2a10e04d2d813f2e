using PolledNvme.Driver.Spec;

namespace PolledNvme.Driver.Emulated;

/// <summary>
/// Current values of the features the controller supports (NVMe Base 2.0 §5.27.1): Arbitration,
/// Power Management, Volatile Write Cache, Number of Queues, Interrupt Coalescing, Asynchronous
/// Event Configuration and Host Behavior Support. None is saveable; all revert on reset.
/// </summary>
internal sealed class FeatureSettings
{
    private readonly int _maxIoQueuePairs;

    /// <summary>Host Behavior Support data buffer size.</summary>
    public const int HostBehaviorSize = 512;

    private uint _arbitration;
    private uint _powerManagement;
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
        or FeatureId.VolatileWriteCache or FeatureId.NumberOfQueues or FeatureId.InterruptCoalescing
        or FeatureId.AsyncEventConfiguration or FeatureId.HostBehaviorSupport;

    /// <summary>Get Features, SEL 000b (current) or 001b/010b (default; nothing is saveable). Host Behavior fills <paramref name="buffer"/>.</summary>
    public uint Get(byte fid, bool defaults, Span<byte> buffer)
    {
        var current = defaults ? new FeatureSettings(_maxIoQueuePairs) : this;
        switch ((FeatureId)fid)
        {
            case FeatureId.Arbitration: return current._arbitration;
            case FeatureId.PowerManagement: return current._powerManagement;
            case FeatureId.VolatileWriteCache: return current._writeCacheEnabled ? 1u : 0u;
            case FeatureId.NumberOfQueues:
                return (uint)(current.SubmissionQueuesAllocated - 1) | ((uint)(current.CompletionQueuesAllocated - 1) << 16);
            case FeatureId.InterruptCoalescing: return current._interruptCoalescing;
            case FeatureId.AsyncEventConfiguration: return current._asyncEventConfiguration;
            default:
                buffer[..HostBehaviorSize].Clear();
                buffer[0] = current._acre;
                buffer[1] = current._etdas;
                buffer[2] = current.LbaFormatExtensionEnabled ? (byte)1 : (byte)0;
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
