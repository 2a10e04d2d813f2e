using PolledNvme.Driver.Spec;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// Try forms of the callback commands, for back-pressure without exceptions: each checks its
/// arguments exactly as the plain form does (misuse still throws), then returns false instead
/// of throwing <see cref="QueueFullException"/> when every slot of the queue pair is in use (and,
/// with a software queue, that is full too; a split command needs a slot for every part unless
/// it may wait). Nothing is submitted or leased when it returns false; poll
/// (<see cref="ProcessCompletions"/>) and try again. One queue pair belongs to one thread, so <see cref="AvailableSlots"/> read
/// before an awaitable submit is as good a test for those forms.
/// </summary>
public sealed partial class IoQueuePair
{
    /// <summary><see cref="Read"/>, or false (nothing submitted) when the queue pair has no free slot.</summary>
    public bool TryRead(Namespace ns, ulong slba, int blocks, DmaBuffer data, DmaBuffer? metadata, in IoProtectionOptions pi, IoCompletionCallback callback, object? state)
        => TrySubmit(SubmitTransfer(NvmOpcode.Read, ns, slba, blocks, data, metadata, in pi, tryOnly: true), callback, state);

    /// <summary><see cref="Write"/>, or false (nothing submitted) when the queue pair has no free slot.</summary>
    public bool TryWrite(Namespace ns, ulong slba, int blocks, DmaBuffer data, DmaBuffer? metadata, in IoProtectionOptions pi, IoCompletionCallback callback, object? state)
        => TrySubmit(SubmitTransfer(NvmOpcode.Write, ns, slba, blocks, data, metadata, in pi, tryOnly: true), callback, state);

    /// <summary><see cref="Compare"/>, or false (nothing submitted) when the queue pair has no free slot.</summary>
    public bool TryCompare(Namespace ns, ulong slba, int blocks, DmaBuffer data, DmaBuffer? metadata, in IoProtectionOptions pi, IoCompletionCallback callback, object? state)
        => TrySubmit(SubmitTransfer(NvmOpcode.Compare, ns, slba, blocks, data, metadata, in pi, tryOnly: true), callback, state);

    /// <summary><see cref="Verify"/>, or false (nothing submitted) when the queue pair has no free slot.</summary>
    public bool TryVerify(Namespace ns, ulong slba, int blocks, in IoProtectionOptions pi, IoCompletionCallback callback, object? state)
        => TrySubmit(SubmitRange(NvmOpcode.Verify, ns, slba, blocks, in pi, 0, tryOnly: true), callback, state);

    /// <summary><see cref="WriteZeroes"/>, or false (nothing submitted) when the queue pair has no free slot.</summary>
    public bool TryWriteZeroes(Namespace ns, ulong slba, int blocks, in IoProtectionOptions pi, bool deallocate, IoCompletionCallback callback, object? state)
        => TrySubmit(SubmitRange(NvmOpcode.WriteZeroes, ns, slba, blocks, in pi, deallocate ? CommandFields.Deallocate : 0, tryOnly: true), callback, state);

    /// <summary><see cref="Flush"/>, or false (nothing submitted) when the queue pair has no free slot.</summary>
    public bool TryFlush(Namespace ns, IoCompletionCallback callback, object? state)
        => TrySubmit(SubmitFlush(ns, tryOnly: true), callback, state);

    /// <summary><see cref="Deallocate(Namespace, ulong, int, IoCompletionCallback, object?)"/>, or false (nothing submitted) when the queue pair has no free slot.</summary>
    public bool TryDeallocate(Namespace ns, ulong slba, int blocks, IoCompletionCallback callback, object? state)
        => TrySubmit(SubmitDeallocate(ns, slba, blocks, tryOnly: true), callback, state);

    private bool TrySubmit(IoRequest? request, IoCompletionCallback callback, object? state)
    {
        if (request is null)
            return false;
        request.SubmitWithCallback(this, callback, state);
        return true;
    }
}
