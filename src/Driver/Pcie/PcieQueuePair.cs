using System.Runtime.CompilerServices;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Pcie;

/// <summary>
/// A queue pair on PCIe (NVMe Base 2.0 §3.3.1; SPDK's nvme_pcie_qpair): a submit builds
/// PRP1/PRP2/PRP list (§4.1.1) and MPTR from the request's buffers, copies the entry into the SQ
/// ring and rings the tail doorbell (or leaves that to <see cref="Flush"/>); completions are
/// reaped by phase tag with one CQ head doorbell per batch. Nothing here steps or waits for a
/// device. <see cref="ProcessCompletions"/> is virtual for bindings that must run the device
/// before polling (the inline emulated controller); nothing else is.
/// </summary>
public class PcieQueuePair : TransportQueuePair
{
    private readonly SubmissionQueue _sq;
    private readonly CompletionQueue _cq;
    private readonly PrpBuilder _prp;

    /// <summary>Wraps the rings <see cref="PcieTransport"/> built (see <see cref="PcieTransport.CreateQueuePair"/>).</summary>
    protected internal PcieQueuePair(PcieRings rings)
        : base((rings ?? throw new ArgumentNullException(nameof(rings))).Id, rings.Entries - 1)
    {
        Rings = rings;
        _sq = rings.Submission;
        _cq = rings.Completion;
        _prp = rings.Prp;
    }

    /// <summary>The rings and PRP list pages of this queue pair.</summary>
    public PcieRings Rings { get; }

    internal override void Submit(NvmeRequest request, bool publish)
    {
        CheckSubmit(request);
        if (request.Data is { } data)
            _prp.Build(request.CommandId, data, request.DataOffset, request.DataLength, ref request.Command);
        if (request.Metadata is { } metadata)
            PrpBuilder.SetMetadataPointer(metadata, request.MetadataOffset, request.MetadataLength, ref request.Command);
        request.Command.CommandId = request.CommandId;
        _sq.Enqueue(in request.Command);
        Track(request);
        if (publish)
            _sq.RingDoorbell();
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public sealed override void Flush() => _sq.RingDoorbell();

    /// <inheritdoc/>
    public override int ProcessCompletions(int max = int.MaxValue)
    {
        int reaped = 0;
        try
        {
            while (reaped < max && _cq.TryDequeue(out CompletionEntry cqe))
            {
                reaped++;
                _sq.UpdateHead(cqe.SqHead);
                Untrack(in cqe).OnCompleted(in cqe);
            }
        }
        finally
        {
            // One CQ head doorbell per batch, also when a handler threw: the entries are consumed.
            if (reaped != 0)
                _cq.RingDoorbell();
        }
        return reaped;
    }

    internal override void ResetAfterControllerReset() => Rings.Reset();

    /// <summary>Whether the pair was created to sleep on a completion interrupt (its CQ gets IEN and a vector).</summary>
    internal bool WantsInterrupts { get; set; }

    /// <summary>The eventfd the CQ's interrupt vector signals, once connected with interrupts; owned by the transport.</summary>
    internal EventFd? Interrupt { get; set; }

    internal override int CompletionWaitFd => Interrupt?.Descriptor ?? -1;

    internal override void ArmCompletionWait()
    {
        if (Interrupt is { } fd)
        {
            fd.Armed = true;
            fd.Consume();
        }
    }

    internal override void DisarmCompletionWait()
    {
        if (Interrupt is { } fd)
            fd.Armed = false;
    }

    internal override long MmioDoorbellWrites => Rings.MmioDoorbellWrites;

    /// <summary>Returns the rings and PRP list pages to the controller's memory.</summary>
    protected override void Dispose(bool disposing) => Rings.Free();
}
