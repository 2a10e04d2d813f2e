using System.Runtime.CompilerServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// NVM command set I/O commands (NVM CS 1.0 §3.2: Read 02h, Write 01h, Compare 05h, Write
/// Zeroes 08h, Verify 0Ch, Flush 00h, Dataset Management 09h), each in an awaitable form
/// (pooled <see cref="ValueTask"/>) and a callback form. Before anything is submitted: the
/// caller is the owner thread, the namespace is this controller's, every buffer is alive,
/// from this controller's memory and sized for the namespace's format (then leased until the
/// command completes); a transfer beyond MDTS is rejected unless the queue pair was created with
/// <see cref="IoQueuePairOptions.SplitLargeTransfers"/>, and a full queue pair refuses a command
/// unless it has a <see cref="IoQueuePairOptions.SoftwareQueueDepth"/> (IoQueuePair.BackPressure.cs). Misuse throws <see cref="ObjectDisposedException"/>
/// (a disposed buffer; ObjectName is the argument), <see cref="ArgumentException"/> (ParamName
/// is the argument) or <see cref="InvalidOperationException"/> (wrong thread).
/// </summary>
public sealed partial class IoQueuePair
{
    /// <summary>Reads <paramref name="blocks"/> blocks at <paramref name="slba"/> into <paramref name="data"/> (and <paramref name="metadata"/> for separate metadata).</summary>
    public ValueTask ReadAsync(Namespace ns, ulong slba, int blocks, DmaBuffer data, DmaBuffer? metadata = null, in IoProtectionOptions pi = default)
        => SubmitTransfer(NvmOpcode.Read, ns, slba, blocks, data, metadata, in pi)!.ArmAwaitableAndSubmit(this);

    /// <summary>Callback form of <see cref="ReadAsync(Namespace, ulong, int, DmaBuffer, DmaBuffer?, in IoProtectionOptions)"/>.</summary>
    public void Read(Namespace ns, ulong slba, int blocks, DmaBuffer data, DmaBuffer? metadata, in IoProtectionOptions pi, IoCompletionCallback callback, object? state)
        => SubmitTransfer(NvmOpcode.Read, ns, slba, blocks, data, metadata, in pi)!.SubmitWithCallback(this, callback, state);

    /// <summary>Writes <paramref name="blocks"/> blocks at <paramref name="slba"/> from <paramref name="data"/> (and <paramref name="metadata"/>).</summary>
    public ValueTask WriteAsync(Namespace ns, ulong slba, int blocks, DmaBuffer data, DmaBuffer? metadata = null, in IoProtectionOptions pi = default)
        => SubmitTransfer(NvmOpcode.Write, ns, slba, blocks, data, metadata, in pi)!.ArmAwaitableAndSubmit(this);

    /// <summary>Callback form of <see cref="WriteAsync(Namespace, ulong, int, DmaBuffer, DmaBuffer?, in IoProtectionOptions)"/>.</summary>
    public void Write(Namespace ns, ulong slba, int blocks, DmaBuffer data, DmaBuffer? metadata, in IoProtectionOptions pi, IoCompletionCallback callback, object? state)
        => SubmitTransfer(NvmOpcode.Write, ns, slba, blocks, data, metadata, in pi)!.SubmitWithCallback(this, callback, state);

    /// <summary>Compares stored blocks with <paramref name="data"/>; a mismatch fails with CompareFailure (SCT 2h, SC 85h).</summary>
    public ValueTask CompareAsync(Namespace ns, ulong slba, int blocks, DmaBuffer data, DmaBuffer? metadata = null, in IoProtectionOptions pi = default)
        => SubmitTransfer(NvmOpcode.Compare, ns, slba, blocks, data, metadata, in pi)!.ArmAwaitableAndSubmit(this);

    /// <summary>Callback form of <see cref="CompareAsync(Namespace, ulong, int, DmaBuffer, DmaBuffer?, in IoProtectionOptions)"/>.</summary>
    public void Compare(Namespace ns, ulong slba, int blocks, DmaBuffer data, DmaBuffer? metadata, in IoProtectionOptions pi, IoCompletionCallback callback, object? state)
        => SubmitTransfer(NvmOpcode.Compare, ns, slba, blocks, data, metadata, in pi)!.SubmitWithCallback(this, callback, state);

    /// <summary>Has the controller read and check blocks without transferring them (PRACT=1 and PRCHK select the checks).</summary>
    public ValueTask VerifyAsync(Namespace ns, ulong slba, int blocks, in IoProtectionOptions pi = default)
        => SubmitRange(NvmOpcode.Verify, ns, slba, blocks, in pi, 0)!.ArmAwaitableAndSubmit(this);

    /// <summary>Callback form of <see cref="VerifyAsync(Namespace, ulong, int, in IoProtectionOptions)"/>.</summary>
    public void Verify(Namespace ns, ulong slba, int blocks, in IoProtectionOptions pi, IoCompletionCallback callback, object? state)
        => SubmitRange(NvmOpcode.Verify, ns, slba, blocks, in pi, 0)!.SubmitWithCallback(this, callback, state);

    /// <summary>
    /// Zeroes blocks (PI.md §5: PRCHK must be 0; with PRACT the controller writes PI built from
    /// the tags). <paramref name="deallocate"/> sets DEAC.
    /// </summary>
    public ValueTask WriteZeroesAsync(Namespace ns, ulong slba, int blocks, in IoProtectionOptions pi = default, bool deallocate = false)
        => SubmitRange(NvmOpcode.WriteZeroes, ns, slba, blocks, in pi, deallocate ? CommandFields.Deallocate : 0)!.ArmAwaitableAndSubmit(this);

    /// <summary>Callback form of <see cref="WriteZeroesAsync(Namespace, ulong, int, in IoProtectionOptions, bool)"/>.</summary>
    public void WriteZeroes(Namespace ns, ulong slba, int blocks, in IoProtectionOptions pi, bool deallocate, IoCompletionCallback callback, object? state)
        => SubmitRange(NvmOpcode.WriteZeroes, ns, slba, blocks, in pi, deallocate ? CommandFields.Deallocate : 0)!.SubmitWithCallback(this, callback, state);

    /// <summary>Commits the volatile write cache of the namespace (Flush 00h).</summary>
    public ValueTask FlushAsync(Namespace ns) => SubmitFlush(ns)!.ArmAwaitableAndSubmit(this);

    /// <summary>Callback form of <see cref="FlushAsync(Namespace)"/>.</summary>
    public void Flush(Namespace ns, IoCompletionCallback callback, object? state)
        => SubmitFlush(ns)!.SubmitWithCallback(this, callback, state);

    private IoRequest? SubmitFlush(Namespace ns, bool tryOnly = false)
    {
        Enter(ns);
        return Rent(NvmOpcode.Flush, ns.Id, 0, 0, tryOnly);
    }

    /// <summary>Deallocates one range (Dataset Management with AD = 1), using this request slot's own range buffer.</summary>
    public ValueTask DeallocateAsync(Namespace ns, ulong slba, int blocks)
        => SubmitDeallocate(ns, slba, blocks)!.ArmAwaitableAndSubmit(this);

    /// <summary>Callback form of <see cref="DeallocateAsync(Namespace, ulong, int)"/>.</summary>
    public void Deallocate(Namespace ns, ulong slba, int blocks, IoCompletionCallback callback, object? state)
        => SubmitDeallocate(ns, slba, blocks)!.SubmitWithCallback(this, callback, state);

    /// <summary>Deallocates <paramref name="rangeCount"/> ranges (1..256) written with <see cref="DatasetRange.Write"/> into <paramref name="ranges"/>.</summary>
    public ValueTask DeallocateAsync(Namespace ns, DmaBuffer ranges, int rangeCount)
    {
        Enter(ns);
        ArgumentNullException.ThrowIfNull(ranges);
        if (rangeCount is < 1 or > 256)
            throw new ArgumentOutOfRangeException(nameof(rangeCount), $"Dataset Management takes 1..256 ranges (NR is 8 bits, 0's based); got {rangeCount}.");
        if (ranges.Length < rangeCount * DatasetRange.Size)
            throw new ArgumentException($"{rangeCount} ranges need {rangeCount * DatasetRange.Size} bytes; the buffer has {ranges.Length}.", nameof(ranges));
        IoRequest r = Rent(NvmOpcode.DatasetManagement, ns.Id, 0, 0)!;
        r.Command.Cdw10 = (uint)(rangeCount - 1);
        r.Command.Cdw11 = CommandFields.DsmAttributeDeallocate;
        try
        {
            LeaseData(r, ranges, nameof(ranges));
        }
        catch
        {
            ReturnUnsubmitted(r);
            throw;
        }
        r.DataLength = rangeCount * DatasetRange.Size;
        return r.ArmAwaitableAndSubmit(this);
    }

    private IoRequest? SubmitDeallocate(Namespace ns, ulong slba, int blocks, bool tryOnly = false)
    {
        Enter(ns);
        if (blocks <= 0)
            throw new ArgumentOutOfRangeException(nameof(blocks), $"A range needs at least one block; got {blocks}.");
        IoRequest? r = Rent(NvmOpcode.DatasetManagement, ns.Id, slba, blocks, tryOnly);
        if (r is null)
            return null;
        int offset = r.CommandId * DatasetRange.Size;
        new DatasetRange(slba, (uint)blocks).Write(_rangeMemory.Span.Slice(offset, DatasetRange.Size), 0);
        r.Command.Cdw10 = 0;                   // one range
        r.Command.Cdw11 = CommandFields.DsmAttributeDeallocate;
        // The queue pair's own range slot for this command id: described like any data, never leased.
        r.Data = _rangeMemory;
        r.DataOffset = offset;
        r.DataLength = DatasetRange.Size;
        r.BuffersLeased = false;
        return r;
    }

    private IoRequest? SubmitTransfer(NvmOpcode opcode, Namespace ns, ulong slba, int blocks, DmaBuffer data, DmaBuffer? metadata, in IoProtectionOptions pi, bool tryOnly = false)
    {
        Enter(ns);
        ArgumentNullException.ThrowIfNull(data);
        CheckBlocks(blocks);
        if (_protectionUnsupported is not null && (metadata is not null || pi.Pract || pi.Checks != 0))
            ThrowProtectionUnsupported(ns, opcode, in pi, metadata is not null);
        long dataBytes = ns.DataBytes(blocks, pi.Pract);
        long metadataBytes = ns.MetadataBytes(blocks, pi.Pract);
        CheckBuffers(ns, opcode, blocks, in pi, data, metadata, dataBytes, metadataBytes);
        if (_commands is not null)
            return SubmitWithBackPressure(opcode, ns, slba, blocks, data, metadata, in pi, 0, tryOnly);
        if (dataBytes > _maxTransferBytes)
            ThrowBeyondMdts(ns, blocks, dataBytes);

        IoRequest? r = Rent(opcode, ns.Id, slba, blocks, tryOnly);
        if (r is null)
        {
            RequireUsable(data, metadata);
            return null;
        }
        return LeaseTransfer(r, ns, slba, data, metadata, in pi);
    }

    /// <summary>The buffer checks of a lease without the lease: a refused Try form still throws for misuse.</summary>
    private void RequireUsable(DmaBuffer? data, DmaBuffer? metadata)
    {
        if (data is not null)
            DmaBufferChecks.RequireUsable(data, _memory, nameof(data));
        if (metadata is not null)
            DmaBufferChecks.RequireUsable(metadata, _memory, nameof(metadata));
    }

    /// <summary>
    /// Leases the buffers of a Read/Write/Compare that the caller checked to <paramref name="r"/>
    /// (the command itself, or a split command's parent) and fills its PI fields; gives the
    /// request back and rethrows when a buffer or a tag is refused.
    /// </summary>
    private IoRequest LeaseTransfer(IoRequest r, Namespace ns, ulong slba, DmaBuffer data, DmaBuffer? metadata, in IoProtectionOptions pi)
    {
        try
        {
            LeaseData(r, data, nameof(data));
            r.DataLength = (int)ns.DataBytes(r.BlockCount, pi.Pract);
            if (metadata is not null)
            {
                DmaBufferChecks.Lease(metadata, _memory, nameof(metadata));
                r.Metadata = metadata;
                r.MetadataOffset = 0;
                r.MetadataLength = (int)ns.MetadataBytes(r.BlockCount, pi.Pract);
            }
            ProtectionCommandFields.Apply(ns, in pi, slba, ref r.Command);
        }
        catch
        {
            ReturnUnsubmitted(r);
            throw;
        }
        return r;
    }

    private IoRequest? SubmitRange(NvmOpcode opcode, Namespace ns, ulong slba, int blocks, in IoProtectionOptions pi, uint extraCdw12, bool tryOnly = false)
    {
        Enter(ns);
        CheckBlocks(blocks);
        if (_protectionUnsupported is not null && (pi.Pract || pi.Checks != 0))
            ThrowProtectionUnsupported(ns, opcode, in pi, metadata: false);
        if (_commands is not null)
            return SubmitWithBackPressure(opcode, ns, slba, blocks, null, null, in pi, extraCdw12, tryOnly);
        IoRequest? r = Rent(opcode, ns.Id, slba, blocks, tryOnly);
        if (r is null)
            return null;
        r.Command.Cdw12 |= extraCdw12;
        try
        {
            ProtectionCommandFields.Apply(ns, in pi, slba, ref r.Command);
        }
        catch
        {
            ReturnUnsubmitted(r);
            throw;
        }
        return r;
    }

    /// <summary>
    /// Rents a request and fills CDW0/1/10/11/12 (NLB is 0's based); the caller ran
    /// <see cref="Enter(Namespace)"/> and checked its arguments. With no free slot: null when
    /// <paramref name="tryOnly"/> (the Try forms), else <see cref="QueueFullException"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private IoRequest? Rent(NvmOpcode opcode, uint nsid, ulong slba, int blocks, bool tryOnly = false)
    {
        IoRequest? r = _requests.TryRent();
        if (r is null)
            return RefuseFull(tryOnly);
        Prepare(r, opcode, nsid, slba, blocks);
        return r;
    }

    /// <summary>Fills CDW0/1/10/11/12 and the request's own fields for a command (NLB is 0's based).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prepare(IoRequest r, NvmOpcode opcode, uint nsid, ulong slba, int blocks)
    {
        r.Command = default;
        r.Command.Opcode = (byte)opcode;
        r.Command.NamespaceId = nsid;
        if (blocks > 0 && opcode != NvmOpcode.DatasetManagement)
        {
            r.Command.Cdw10 = (uint)slba;
            r.Command.Cdw11 = (uint)(slba >> 32);
            r.Command.Cdw12 = (uint)(blocks - 1);
        }
        r.Opcode = (byte)opcode;
        r.NamespaceId = nsid;
        r.StartLba = slba;
        r.BlockCount = blocks;
    }

    // The transport's Submit throws only on a broken descriptor (before anything reached the
    // wire), which the checks above rule out; a throw here would leave the slot rented.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ValueTask Submit(IoRequest r)
    {
        ValueTask task = r.ArmAwaitable();
        if (r.Split is not null)
        {
            Start(r);
            return task;
        }
        LastCommandId = r.CommandId;
        StampSubmit(r);
        _wire.Submit(r, !_batchDoorbells);
        return task;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Submit(IoRequest r, IoCompletionCallback callback, object? state)
    {
        if (callback is null)
        {
            ReturnUnsubmitted(r);
            throw new ArgumentNullException(nameof(callback));
        }
        r.SetCallback(callback, state);
        if (r.Split is not null)
        {
            Start(r);
            return;
        }
        LastCommandId = r.CommandId;
        StampSubmit(r);
        _wire.Submit(r, !_batchDoorbells);
    }

    /// <summary>1..65536 blocks (NLB), or any positive count when the queue pair splits large transfers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckBlocks(int blocks)
    {
        if ((uint)(blocks - 1) >= 65536 && (blocks <= 0 || !_splitLargeTransfers))
            ThrowBlocks(blocks);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CheckBuffers(Namespace ns, NvmOpcode opcode, int blocks, in IoProtectionOptions pi, DmaBuffer data, DmaBuffer? metadata, long dataBytes, long metadataBytes)
    {
        if (!DmaBufferChecks.FitLayout(data, metadata, dataBytes, metadataBytes))
            DmaBufferChecks.ThrowBufferSizes(ns, opcode.ToString(), blocks, pi.Pract, data, metadata, dataBytes, metadataBytes);
    }

    /// <summary>
    /// PI options or a metadata buffer on a transport that carries neither (NVMe/TCP): refused
    /// rather than sent, since a namespace without PI would silently ignore them and the caller
    /// would believe the data protected. Only a namespace formatted with PI takes PI options there.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowProtectionUnsupported(Namespace ns, NvmOpcode opcode, in IoProtectionOptions pi, bool metadata)
    {
        if (!metadata && ns.PiType != PiType.None)
            return;
        string what = metadata ? "a separate metadata buffer" : $"PI options (PRACT={(pi.Pract ? 1 : 0)}, checks {pi.Checks})";
        throw new ArgumentException($"{opcode} on namespace {ns.Id} of {_controller.Address} with {what}: {_protectionUnsupported}", metadata ? "metadata" : "pi");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBlocks(int blocks) => throw new ArgumentOutOfRangeException(
        nameof(blocks), $"A command covers 1..65536 blocks (NLB is 16 bits, 0's based); got {blocks}. Split the I/O, or create the queue pair with IoQueuePairOptions.SplitLargeTransfers.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBeyondMdts(Namespace ns, int blocks, long bytes) => throw new ArgumentException(
        $"{blocks} blocks of namespace {ns.Id} transfer {bytes} bytes, more than the controller's maximum data transfer size "
        + $"of {_maxTransferBytes} bytes (MDTS); split the I/O into commands of at most {_maxTransferBytes / Math.Max(1, ns.DataBytes(1, false))} blocks, "
        + "or create the queue pair with IoQueuePairOptions.SplitLargeTransfers.", nameof(blocks));

}

internal static class IoRequestSubmitExtensions
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ValueTask ArmAwaitableAndSubmit(this IoRequest r, IoQueuePair pair) => pair.Submit(r);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SubmitWithCallback(this IoRequest r, IoQueuePair pair, IoCompletionCallback callback, object? state) => pair.Submit(r, callback, state);
}
