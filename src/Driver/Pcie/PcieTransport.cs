using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Driver.Pcie;

/// <summary>
/// The PCIe transport (SPDK's nvme_pcie): properties are the controller's registers in a
/// memory-mapped window, queue pairs are SQ/CQ rings in DMA memory with doorbells at the
/// stride CAP.DSTRD gives, data is described with PRPs, and I/O queues are created and deleted
/// with admin commands. DMA registration goes to the <see cref="IDmaMapper"/> it is given.
/// <see cref="Vfio.VfioTransport"/> derives from it for real controllers, and the emulated
/// controller's binding for its register page. A binding that must run the device before the
/// host polls (an inline emulated controller) overrides the property reads and
/// <see cref="CreateQueuePair"/>; nothing on this path knows about emulation.
/// </summary>
public class PcieTransport : NvmeTransport
{
    private readonly IDmaMapper _mapper;
    private ShadowDoorbells? _shadowInForce;   // the controller's buffers; null while the controller has no Doorbell Buffer Config

    /// <summary>
    /// A PCIe transport over the controller's registers <paramref name="registers"/> (BAR0 or
    /// an emulated register page) whose memory is made reachable through <paramref name="mapper"/>.
    /// </summary>
    public PcieTransport(RegisterWindow registers, IDmaMapper mapper, string address)
    {
        ArgumentNullException.ThrowIfNull(mapper);
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        Registers = registers;
        _mapper = mapper;
        Address = address;
    }

    /// <inheritdoc/>
    public override string Address { get; }

    /// <summary>The controller's register window (BAR0, or the emulated register page).</summary>
    public RegisterWindow Registers { get; }

    /// <inheritdoc/>
    public override uint GetProperty32(int offset)
    {
        CheckOffset(offset, 4);
        return Registers.Read32(offset);
    }

    /// <inheritdoc/>
    public override ulong GetProperty64(int offset)
    {
        CheckOffset(offset, 8);
        return Registers.Read64(offset);
    }

    /// <inheritdoc/>
    public override void SetProperty32(int offset, uint value)
    {
        CheckOffset(offset, 4);
        Registers.Write32(offset, value);
    }

    /// <inheritdoc/>
    public override void SetProperty64(int offset, ulong value)
    {
        CheckOffset(offset, 8);
        Registers.Write64(offset, value);
    }

    /// <inheritdoc/>
    public sealed override ulong Map(nint address, nuint length) => _mapper.Map(address, length);

    /// <inheritdoc/>
    public sealed override void Unmap(ulong iova, nuint length) => _mapper.Unmap(iova, length);

    /// <summary>
    /// Wraps the rings of a new queue pair. Bindings override it to return their own
    /// <see cref="PcieQueuePair"/> subclass (the inline emulated controller steps the device in
    /// ProcessCompletions); the default is the plain queue pair.
    /// </summary>
    protected virtual PcieQueuePair CreateQueuePair(PcieRings rings) => new(rings);

    /// <summary>
    /// Why this binding cannot raise completion interrupts, or null when it can (then
    /// <see cref="OpenInterruptVector"/> works). Default: it cannot.
    /// </summary>
    protected virtual string? InterruptsUnsupportedReason => $"the PCIe binding of {Address} has no completion interrupts";

    /// <summary>
    /// The eventfd that interrupt vector <paramref name="vector"/> signals (VFIO: an MSI-X vector
    /// bound with VFIO_DEVICE_SET_IRQS; the emulated controller: its per-vector eventfd). Owned by
    /// the binding (the same one on every call for a vector) and valid until it is disposed.
    /// </summary>
    /// <exception cref="NotSupportedException">The binding has no interrupts, or not that many vectors.</exception>
    protected virtual EventFd OpenInterruptVector(ushort vector)
        => throw new NotSupportedException(InterruptsUnsupportedReason ?? $"the PCIe binding of {Address} has no interrupt vector {vector}");

    /// <summary>
    /// A software device that sleeps while idle and must be woken by doorbell and register writes
    /// (the threaded emulated controller), or null (real hardware: the default).
    /// </summary>
    protected virtual DoorbellWake? DeviceWake => null;

    internal override string? CompletionInterruptsUnsupportedReason => InterruptsUnsupportedReason;

    internal override TransportQueuePair CreateAdminQueuePair(in QueuePairSettings settings)
    {
        var cap = new ControllerCapabilities(GetProperty64(ControllerRegisters.Cap));
        // AQA.ASQS/ACQS are 12 bits (at most 4096 entries) and bounded by CAP.MQES.
        int entries = Math.Clamp(settings.Entries, 2, Math.Min(4096, cap.Mqes + 1));
        return Wrap(PcieRings.Create(Registers, cap.Dstrd, settings with { Entries = entries }), interrupts: false);
    }

    private PcieQueuePair Wrap(PcieRings rings, bool interrupts)
    {
        rings.AttachDeviceWake(DeviceWake);
        PcieQueuePair pair = CreateQueuePair(rings);
        pair.WantsInterrupts = interrupts;
        return pair;
    }

    internal override void BeforeEnable(TransportQueuePair admin)
    {
        PcieRings rings = RingsOf(admin);
        // A controller reset cleared the Doorbell Buffer Config (§5.9): plain doorbells until it is sent again.
        _shadowInForce = null;
        rings.DetachShadow();
        // §3.1.4.8-10: AQA (0's based sizes), ASQ, ACQ.
        SetProperty32(ControllerRegisters.Aqa, (uint)(rings.Entries - 1) | ((uint)(rings.Entries - 1) << 16));
        SetProperty64(ControllerRegisters.Asq, rings.Submission.Iova);
        SetProperty64(ControllerRegisters.Acq, rings.Completion.Iova);
    }

    internal override TransportQueuePair CreateIoQueuePair(in QueuePairSettings settings)
    {
        var cap = new ControllerCapabilities(GetProperty64(ControllerRegisters.Cap));
        return Wrap(PcieRings.Create(Registers, cap.Dstrd, settings), settings.CompletionInterrupts);
    }

    internal override void ConnectIoQueuePair(TransportQueuePair pair, AdminQueue admin)
    {
        PcieRings rings = RingsOf(pair);
        rings.Reset();
        rings.DetachShadow();
        if (_shadowInForce is { } shadow && rings.Id <= shadow.QueuePairs)
        {
            // Zeroed before the queues exist: a stale tail from an earlier queue with this id must not look like new entries.
            shadow.ClearQueue(rings.Id);
            rings.AttachShadow(shadow, alwaysRing: false);
        }
        // Interrupt vector = queue id (vector 0 is the admin queue's, as Linux and SPDK lay them out).
        PcieQueuePair pcie = (PcieQueuePair)pair;
        ushort? vector = null;
        if (pcie.WantsInterrupts)
        {
            pcie.Interrupt = OpenInterruptVector(rings.Id);
            vector = rings.Id;
        }
        // §5.4, §5.5: the CQ first, then the SQ bound to it (same id).
        admin.Execute(AdminCommandBuilder.CreateIoCompletionQueue(rings.Id, rings.Entries, rings.Completion.Iova, vector));
        try
        {
            admin.Execute(AdminCommandBuilder.CreateIoSubmissionQueue(rings.Id, rings.Entries, rings.Submission.Iova, rings.Id));
        }
        catch
        {
            admin.ExecuteRaw(AdminCommandBuilder.DeleteIoCompletionQueue(rings.Id));
            throw;
        }
    }

    internal override bool SupportsShadowDoorbells => true;

    /// <summary>The device string's <c>dbbuf=0|1</c>, when it had one (overrides the controller options).</summary>
    internal bool? ShadowDoorbellsOverride { get; set; }

    internal override bool? ShadowDoorbellsRequested => ShadowDoorbellsOverride;

    internal override bool EnableShadowDoorbells(AdminQueue admin, ShadowDoorbells shadow)
    {
        shadow.Clear();
        PcieRings adminRings = RingsOf(admin.Pair);
        // Kept current before the command: a controller may pick the admin queue's shadow up at once.
        adminRings.AttachShadow(shadow, alwaysRing: true);
        try
        {
            admin.Execute(AdminCommandBuilder.DoorbellBufferConfig(shadow.ShadowIova, shadow.EventIndexIova));
        }
        catch (NvmeException)
        {
            // Refused (a controller that reports OACS bit 8 but fails the command): plain doorbells, as before.
            adminRings.DetachShadow();
            return false;
        }
        // The admin queue keeps ringing MMIO on every update (it is not on the I/O path, and a controller
        // that shadows only I/O queues, as QEMU 7.1 did, still sees every admin doorbell); I/O queues
        // created from now on follow EventIdx.
        _shadowInForce = shadow;
        return true;
    }

    internal override void DisconnectIoQueuePair(TransportQueuePair pair, AdminQueue admin)
    {
        // §5.6, §5.7: the SQ first; the controller completes or aborts its commands before it answers.
        admin.ExecuteRaw(AdminCommandBuilder.DeleteIoSubmissionQueue(pair.Id));
        admin.ExecuteRaw(AdminCommandBuilder.DeleteIoCompletionQueue(pair.Id));
    }

    private PcieRings RingsOf(TransportQueuePair pair) => pair is PcieQueuePair pcie
        ? pcie.Rings
        : throw new ArgumentException($"Queue pair {pair.Id} was not created by the PCIe transport of {Address}.", nameof(pair));

    private void CheckOffset(int offset, int width)
    {
        if (offset < 0 || (offset & (width - 1)) != 0 || offset > Registers.Length - width)
            throw new ArgumentOutOfRangeException(nameof(offset),
                $"Property offset 0x{offset:X} is not a {width * 8}-bit register of {Address} (aligned, inside its {Registers.Length}-byte register window).");
    }
}
