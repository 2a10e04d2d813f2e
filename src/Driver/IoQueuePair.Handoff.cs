using PolledNvme.Driver.Spec;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>The owner-thread end of <see cref="SharedIoQueuePair"/>: submits a command another thread handed over.</summary>
public sealed partial class IoQueuePair
{
    /// <summary>
    /// Submits a handed-off Read, Write or Flush in the callback form with its token (owner
    /// thread); false, with nothing submitted or leased, when no request slot is free.
    /// Argument errors throw, as on the plain forms.
    /// </summary>
    internal bool TrySubmitHandedOff(NvmOpcode opcode, Namespace ns, ulong slba, int blocks, DmaBuffer? data, DmaBuffer? metadata, in IoProtectionOptions pi,
        IoCompletionCallback callback, object state, CancellationToken cancellationToken)
    {
        IoRequest? r = opcode == NvmOpcode.Flush
            ? SubmitFlush(ns, tryOnly: true)
            : SubmitTransfer(opcode, ns, slba, blocks, data!, metadata, in pi, tryOnly: true);
        if (r is null)
            return false;
        SubmitCancellable(r, callback, state, cancellationToken);
        return true;
    }
}
