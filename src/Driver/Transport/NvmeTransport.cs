using PolledNvme.Queues;

namespace PolledNvme.Driver.Transport;

/// <summary>
/// How the driver reaches one controller (SPDK's nvme_transport ops): its properties (CAP, CC,
/// CSTS... — register reads and writes on PCIe, Fabrics Property Get/Set on NVMe over
/// Fabrics), memory registration, and its queue pairs (create, connect, disconnect). The
/// controller state machine, admin commands, namespaces, PI options, request pools and the
/// public API sit above it and are the same for every transport. <see cref="Pcie.PcieTransport"/>
/// serves real controllers through VFIO (<see cref="Vfio.VfioTransport"/>) and the emulated
/// controller; <see cref="TransportRegistry"/> maps a device string's scheme to its transport.
/// Only the driver's own transport families derive from this class (the members that carry
/// driver-internal types are internal); derive from <see cref="Pcie.PcieTransport"/> to bind
/// another PCIe-like device.
/// </summary>
public abstract class NvmeTransport : IDmaMapper, IDisposable
{
    private bool _disposed;
    private int _fatalTraced;   // 1 once this controller's fatal state was traced, until its next enable

    private protected NvmeTransport()
    {
    }

    /// <summary>A short human-readable name, e.g. <c>pci:0000:01:00.0</c> or <c>emu:/tmp/ns.img</c>.</summary>
    public abstract string Address { get; }

    /// <summary>Reads a 32-bit property (NVMe Base 2.0 §3.1.4: CC, CSTS, VS... by register offset).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The offset is not a 4-byte aligned property of this controller.</exception>
    public abstract uint GetProperty32(int offset);

    /// <summary>Reads a 64-bit property (CAP, ASQ, ACQ).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The offset is not an 8-byte property of this controller.</exception>
    public abstract ulong GetProperty64(int offset);

    /// <summary>Writes a 32-bit property (CC, AQA).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The offset is not a 4-byte aligned property of this controller.</exception>
    public abstract void SetProperty32(int offset, uint value);

    /// <summary>Writes a 64-bit property (ASQ, ACQ).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The offset is not an 8-byte property of this controller.</exception>
    public abstract void SetProperty64(int offset, ulong value);

    /// <summary>
    /// Makes <paramref name="length"/> bytes of locked host memory at page-aligned
    /// <paramref name="address"/> reachable by the controller and returns the address it must
    /// use (VFIO: an IOVA in the IOMMU; the emulated controller: its own address space).
    /// </summary>
    public abstract ulong Map(nint address, nuint length);

    /// <summary>Removes a registration made by <see cref="Map"/>.</summary>
    public abstract void Unmap(ulong iova, nuint length);

    /// <summary>
    /// How the controller's DMA memory is allocated unless <see cref="NvmeControllerOptions.AllowNonHugepageMemory"/>
    /// says otherwise. Default: hugepages required (a real device without an IOMMU needs
    /// physically contiguous memory); the emulated controller allows the locked 4 KiB-page fallback.
    /// </summary>
    public virtual DmaAllocatorOptions DefaultMemoryOptions => new() { AllowNonHugepageFallback = false };

    /// <summary>
    /// The largest transfer the transport can carry in one command, on top of the controller's
    /// MDTS; <see cref="int.MaxValue"/> (default) when MDTS is the only limit.
    /// </summary>
    public virtual int MaxTransferBytes => int.MaxValue;

    /// <summary>
    /// Why the controller failed, when the transport knows more than CSTS.CFS says (the emulated
    /// controller's device thread failed or refused an enable; a fabrics target sent a
    /// termination request); null otherwise. Included in <see cref="NvmeControllerException"/> messages.
    /// </summary>
    public virtual string? FatalReason => null;

    /// <summary>
    /// What the controller can say about a failed command beyond its status, when the transport
    /// has a channel for it: the emulated controller returns a media error's errno, file and
    /// offset (e.g. <c>ENOSPC (No space left on device) writing 4096 bytes at offset 0 of '/tmp/ns.img'</c>).
    /// Called with the command's queue and command id right after its failed completion was
    /// reaped, never on success; null when there is nothing to add (hardware says all it can in
    /// the status and the Error Information log).
    /// </summary>
    public virtual string? DescribeFailure(ushort queueId, ushort commandId) => null;

    /// <summary>
    /// CSTS for the health checks the driver makes while it polls (an admin command waiting, an
    /// I/O queue pair's Wait or Drain finding nothing to reap): a register read on PCIe (the
    /// default). A fabrics transport answers from its association instead (CFS once the target
    /// terminated it or keep-alive expired) without a Property Get on the wire, also while the
    /// admin queue's own Connect is still outstanding.
    /// </summary>
    internal virtual uint StatusWhilePolling() => GetProperty32(Spec.ControllerRegisters.Csts);

    /// <summary>
    /// Stops the controller for <see cref="NvmeController.Reset"/> so that it no longer touches
    /// the commands the reset is about to fail. PCIe (default): CC.EN = 0 and wait for CSTS.RDY = 0.
    /// Fabrics: end the association (close every queue's connection; the target's controller
    /// goes with it); <see cref="ConnectAdminQueue"/> then creates a new one. Must not throw
    /// because the controller is already gone.
    /// </summary>
    internal virtual void StopForReset(ControllerRegisterState registers) => registers.Disable();

    /// <summary>I/O queues to ask the controller for, when the transport was told (NVMe/TCP <c>queues=</c>); null: the controller options decide.</summary>
    internal virtual int? RequestedIoQueues => null;

    /// <summary>The largest I/O queue (entries) the transport creates (NVMe/TCP <c>qsize=</c>), on top of CAP.MQES + 1.</summary>
    internal virtual int MaxIoQueueEntries => int.MaxValue;

    /// <summary>
    /// Why this transport cannot carry protection information options or a separate metadata
    /// buffer on a namespace without PI (NVMe/TCP: no metadata travels, and Linux nvmet exposes
    /// PI on RDMA ports only); null when it can. The I/O queue pair refuses such commands with it.
    /// </summary>
    internal virtual string? ProtectionUnsupportedReason => null;

    /// <summary>
    /// Creates the admin queue pair (PCIe: rings, clamped to CAP.MQES; TCP: the connection and
    /// its ICReq/ICResp). Called before any property is read.
    /// </summary>
    internal abstract TransportQueuePair CreateAdminQueuePair(in QueuePairSettings settings);

    /// <summary>
    /// Makes the admin queue usable for commands, after it was created and after each controller
    /// reset (TCP: Fabrics Connect with QID 0, after which properties can be read through it).
    /// PCIe: nothing (the admin queue is in the registers, set by <see cref="BeforeEnable"/>).
    /// </summary>
    internal virtual void ConnectAdminQueue(AdminQueue admin)
    {
    }

    /// <summary>Just before CC.EN is set (PCIe: AQA, ASQ, ACQ; SPDK's ctrlr_enable). Fabrics: nothing.</summary>
    internal abstract void BeforeEnable(TransportQueuePair admin);

    /// <summary>
    /// After the controller was enabled and the Number of Queues granted: turns on shadow doorbells
    /// (Doorbell Buffer Config with <paramref name="shadow"/>, PCIe only) for the admin queue and every
    /// I/O queue pair created from now on. The controller calls it when Identify reports OACS bit 8
    /// and the user did not opt out. Returns whether they are in force. Fabrics: nothing.
    /// </summary>
    internal virtual bool EnableShadowDoorbells(AdminQueue admin, ShadowDoorbells shadow) => false;

    /// <summary>Whether this transport has doorbells to shadow (PCIe).</summary>
    internal virtual bool SupportsShadowDoorbells => false;

    /// <summary>Whether the device string asked for shadow doorbells (<c>dbbuf=0|1</c> on <c>pci:</c>); null: the controller options decide.</summary>
    internal virtual bool? ShadowDoorbellsRequested => null;

    /// <summary>
    /// Why I/O queue pairs of this transport cannot sleep until a completion arrives
    /// (<see cref="PollMode.Adaptive"/>, <see cref="PollMode.Interrupt"/>), or null when they can.
    /// </summary>
    internal virtual string? CompletionInterruptsUnsupportedReason => $"{Address} has no completion interrupts";

    /// <summary>Creates an I/O queue pair's resources (PCIe: rings and PRP list pages); nothing reaches the controller yet.</summary>
    internal abstract TransportQueuePair CreateIoQueuePair(in QueuePairSettings settings);

    /// <summary>
    /// Makes an I/O queue pair live on the controller, at creation and again after a controller
    /// reset (PCIe: restart the rings, Create I/O CQ then SQ through <paramref name="admin"/>;
    /// TCP: connect, ICReq, Fabrics Connect with the QID). Throws <see cref="NvmeException"/> or
    /// <see cref="NvmeControllerException"/> and leaves nothing half created.
    /// </summary>
    internal abstract void ConnectIoQueuePair(TransportQueuePair pair, AdminQueue admin);

    /// <summary>
    /// Stops the controller using an I/O queue pair (PCIe: Delete I/O SQ then CQ, whatever their
    /// status; TCP: disconnect). Throws <see cref="NvmeControllerException"/> when the controller
    /// no longer answers, so the caller knows the queue's commands may still be in progress.
    /// </summary>
    internal abstract void DisconnectIoQueuePair(TransportQueuePair pair, AdminQueue admin);

    /// <summary>
    /// Traces the controller becoming unusable (the ControllerFatal event), once per enable
    /// however many waits notice it; <paramref name="source"/> says how it was seen.
    /// </summary>
    internal void TraceFatal(string source, uint csts, string reason)
    {
        if (Interlocked.Exchange(ref _fatalTraced, 1) != 0)
            return;
        NvmeEventSource log = NvmeEventSource.Log;
        if (log.IsEnabled())
            log.ControllerFatal(Address, source, (int)csts, reason);
    }

    /// <summary>The controller was enabled again: a later fatal state is traced anew.</summary>
    internal void ClearFatalTrace() => Volatile.Write(ref _fatalTraced, 0);

    /// <summary>Releases the transport (and what it owns: a VFIO device, an emulated controller, a connection).</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the transport's resources.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
