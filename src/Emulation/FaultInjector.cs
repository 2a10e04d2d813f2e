using PolledNvme.Driver.Spec;
using PolledNvme.Protection;

namespace PolledNvme.Emulation;

/// <summary>What <see cref="FaultInjector.CorruptBlock"/> damages in a stored block.</summary>
public enum CorruptionTarget
{
    /// <summary>Flips a bit of the block's first data byte (the guard no longer matches).</summary>
    Data,
    /// <summary>Flips the lowest bit of the stored guard.</summary>
    Guard,
    /// <summary>Flips the lowest bit of the stored application tag.</summary>
    ApplicationTag,
    /// <summary>Flips the lowest bit of the stored logical block reference tag.</summary>
    ReferenceTag,
    /// <summary>Flips the lowest bit of the stored storage tag (needs STS &gt; 0).</summary>
    StorageTag,
}

/// <summary>Which queue a command fault applies to (opcodes overlap between admin and I/O).</summary>
public enum FaultQueue
{
    /// <summary>The admin queue.</summary>
    Admin,
    /// <summary>Any I/O queue.</summary>
    Io,
}

/// <summary>
/// Fault injection for tests of the host driver: damage stored blocks, make the next matching
/// command fail with a chosen status, delay or drop its completion, or set CSTS.CFS. Thread-safe:
/// media and register faults run on the device (inline: at once; threaded: the call waits until
/// the device thread applied them).
/// </summary>
public sealed class FaultInjector
{
    private enum Kind { Status, Delay, Drop }

    private sealed record CommandFault(Kind Kind, FaultQueue Queue, byte Opcode, uint? NamespaceId, NvmeStatus Status, TimeSpan Delay);

    private readonly ControllerCore _core;
    private readonly List<CommandFault> _faults = [];
    private volatile bool _armed;

    internal FaultInjector(ControllerCore core) => _core = core;

    /// <summary>True while any command fault waits for its command (checked once per command).</summary>
    internal bool Armed => _armed;

    /// <summary>
    /// Damages what is stored for block <paramref name="lba"/> of namespace <paramref name="namespaceId"/>,
    /// so the next read with the matching PRCHK check fails (0x282/0x283/0x284/0x288).
    /// </summary>
    /// <exception cref="ArgumentException">No such namespace or LBA.</exception>
    /// <exception cref="InvalidOperationException">The namespace has no such field (PI off, no storage or reference tag) or stores nothing (null backend).</exception>
    public void CorruptBlock(uint namespaceId, long lba, CorruptionTarget target)
    {
        if (!Enum.IsDefined(target))
            throw new ArgumentException($"corruption target {target} is not defined.", nameof(target));
        _core.RunOnDevice(() => Corrupt(_core.GetNamespace(namespaceId), lba, target));
    }

    /// <summary>Completes the next command with <paramref name="opcode"/> on <paramref name="queue"/> (and <paramref name="namespaceId"/>, when given) with <paramref name="status"/>, without executing it.</summary>
    public void FailNextCommand(FaultQueue queue, byte opcode, NvmeStatus status, uint? namespaceId = null)
    {
        if (status.IsSuccess)
            throw new ArgumentException("FailNextCommand: the status must be an error (SCT/SC not zero).", nameof(status));
        Add(new CommandFault(Kind.Status, queue, opcode, namespaceId, status, TimeSpan.Zero));
    }

    /// <summary>Posts the completion of the next matching command only after <paramref name="delay"/>.</summary>
    public void DelayNextCompletion(FaultQueue queue, byte opcode, TimeSpan delay, uint? namespaceId = null)
    {
        if (delay < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(delay), "the completion delay must not be negative.");
        Add(new CommandFault(Kind.Delay, queue, opcode, namespaceId, default, delay));
    }

    /// <summary>Executes the next matching command but never posts its completion (a lost completion).</summary>
    public void DropNextCompletion(FaultQueue queue, byte opcode, uint? namespaceId = null)
        => Add(new CommandFault(Kind.Drop, queue, opcode, namespaceId, default, TimeSpan.Zero));

    /// <summary>Sets CSTS.CFS: the controller stops processing commands until the host resets it (CC.EN 1 → 0).</summary>
    public void SetFatalStatus() => _core.RunOnDevice(() => _core.EnterFatalState("Controller Fatal Status injected (FaultInjector.SetFatalStatus)"));

    /// <summary>Forgets command faults that have not matched yet.</summary>
    public void Clear()
    {
        lock (_faults)
        {
            _faults.Clear();
            _armed = false;
        }
    }

    private void Add(CommandFault fault)
    {
        if (!Enum.IsDefined(fault.Queue))
            throw new ArgumentException($"fault queue {fault.Queue} is not defined.", "queue");
        lock (_faults)
        {
            _faults.Add(fault);
            _armed = true;
        }
    }

    /// <summary>Device side, before execution: a forced status for this command, if one is armed.</summary>
    internal bool TryTakeStatus(bool admin, byte opcode, uint namespaceId, out NvmeStatus status)
    {
        status = default;
        var fault = Take(admin, opcode, namespaceId, Kind.Status);
        if (fault is null)
            return false;
        status = fault.Status;
        return true;
    }

    /// <summary>Device side, after execution: whether to drop the completion, or how long to delay it.</summary>
    internal bool TryTakeCompletionFault(bool admin, byte opcode, uint namespaceId, out bool drop, out TimeSpan delay)
    {
        var fault = Take(admin, opcode, namespaceId, Kind.Drop) ?? Take(admin, opcode, namespaceId, Kind.Delay);
        drop = fault?.Kind == Kind.Drop;
        delay = fault?.Delay ?? TimeSpan.Zero;
        return fault is not null;
    }

    private CommandFault? Take(bool admin, byte opcode, uint namespaceId, Kind kind)
    {
        lock (_faults)
        {
            for (int i = 0; i < _faults.Count; i++)
            {
                var f = _faults[i];
                if (f.Kind == kind && (f.Queue == FaultQueue.Admin) == admin && f.Opcode == opcode
                    && (f.NamespaceId is null || f.NamespaceId == namespaceId))
                {
                    _faults.RemoveAt(i);
                    _armed = _faults.Count != 0;
                    return f;
                }
            }
            return null;
        }
    }

    private static void Corrupt(EmulatedNamespace ns, long lba, CorruptionTarget target)
    {
        if (lba < 0 || lba >= ns.BlockCount)
            throw new ArgumentException($"CorruptBlock: LBA {lba} is outside namespace {ns.Id} (0-{ns.BlockCount - 1}).", nameof(lba));
        if (!ns.RetainsData)
            throw new InvalidOperationException($"CorruptBlock: namespace {ns.Id} uses the null backend, which stores nothing to corrupt.");
        var data = new byte[ns.BlockSize];
        var metadata = new byte[ns.MetadataSize];
        ns.Read(lba, 1, data, metadata);
        if (target == CorruptionTarget.Data)
        {
            data[0] ^= 1;
            ns.Write(lba, 1, data, metadata);
            return;
        }
        var pi = ns.Protection
            ?? throw new InvalidOperationException($"CorruptBlock: namespace {ns.Id} is not formatted with protection information, so it has no {target}.");
        var format = pi.GuardFormat;
        Span<byte> tupleBytes = metadata.AsSpan(pi.TupleOffset, pi.TupleSize);
        var tuple = PiTuple.Read(tupleBytes, format, pi.StorageTagSize);
        tuple = target switch
        {
            CorruptionTarget.Guard => tuple with { Guard = tuple.Guard ^ 1 },
            CorruptionTarget.ApplicationTag => tuple with { ApplicationTag = (ushort)(tuple.ApplicationTag ^ 1) },
            CorruptionTarget.ReferenceTag when pi.ReferenceTagBits > 0 => tuple with { ReferenceTag = tuple.ReferenceTag ^ 1 },
            CorruptionTarget.StorageTag when pi.StorageTagSize > 0 => tuple with { StorageTag = tuple.StorageTag ^ 1 },
            _ => throw new InvalidOperationException($"CorruptBlock: namespace {ns.Id}'s PI format (STS {pi.StorageTagSize}) has no {target}."),
        };
        tuple.Write(tupleBytes, format, pi.StorageTagSize);
        ns.WriteMetadata(lba, 1, metadata);
    }
}
