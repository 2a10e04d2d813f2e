using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Transport;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// An NVMe controller owned by this process (SPDK's spdk_nvme_ctrlr): opened, initialized
/// (ControllerInitializer.cs), identified, with its active namespaces; hands out I/O queue
/// pairs, runs admin commands on the one shared, locked admin queue, resets, and shuts the
/// controller down normally on Dispose.
/// </summary>
public sealed partial class NvmeController : IDisposable
{
    private readonly NvmeControllerOptions _options;
    private readonly bool _ownsTransport;
    private readonly ControllerRegisterState _registers;
    private readonly List<IoQueuePair> _queuePairs = new();
    private readonly List<Namespace> _namespaces = new();
    private readonly object _queueIdLock = new();
    private AdminQueue _admin = null!;
    private IdentifyController _identify;
    private bool[] _queueIdsInUse = [];
    private ShadowDoorbells? _shadowDoorbells;   // Doorbell Buffer Config buffers, kept across resets
    private bool _disposed;

    private NvmeController(NvmeTransport transport, NvmeControllerOptions options, bool ownsTransport)
    {
        Transport = transport;
        _options = options;
        _ownsTransport = ownsTransport;
        _registers = new ControllerRegisterState(transport);
        DmaAllocatorOptions memory = options.AllowNonHugepageMemory is { } allow
            ? transport.DefaultMemoryOptions with { AllowNonHugepageFallback = allow }
            : transport.DefaultMemoryOptions;
        Memory = new DmaAllocator(transport, memory) { OwnerName = transport.Address };
    }

    /// <summary>
    /// Opens the controller named by the device string <paramref name="address"/> through the
    /// transport its scheme is registered for (<see cref="TransportRegistry"/>):
    /// <c>pci:DDDD:BB:DD.F</c> for a real controller through VFIO; with the PolledNvme.Emulation
    /// package referenced, <c>emu:PATH[,...]</c>, <c>mem:[...]</c> and <c>null:[...]</c> for the
    /// emulated controller.
    /// </summary>
    /// <exception cref="ArgumentException">The address is malformed (an unknown key or value, a key given twice, keys that contradict each other: the message names the key), or its scheme is not registered (the message lists those that are and the package that adds the emulated ones).</exception>
    public static NvmeController Open(string address, NvmeControllerOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        return Open(TransportRegistry.Open(address), options, ownsTransport: true);
    }

    /// <summary>
    /// Initializes the controller behind <paramref name="transport"/> (tests, custom setups).
    /// With <paramref name="ownsTransport"/> the transport is disposed with the controller (also
    /// when initialization fails). DMA memory defaults come from the transport
    /// (<see cref="NvmeTransport.DefaultMemoryOptions"/>).
    /// </summary>
    public static NvmeController Open(NvmeTransport transport, NvmeControllerOptions? options = null, bool ownsTransport = false)
    {
        ArgumentNullException.ThrowIfNull(transport);
        NvmeController controller;
        try
        {
            controller = new NvmeController(transport, options ?? new NvmeControllerOptions(), ownsTransport);
        }
        catch
        {
            if (ownsTransport)
                transport.Dispose();
            throw;
        }
        long started = controller.TraceInitializeStart();
        try
        {
            controller.Initialize();
        }
        catch (Exception e)
        {
            controller.TraceInitializeFailed(started, e);
            controller.Dispose();
            throw;
        }
        controller.TraceInitializeStop(started);
        return controller;
    }

    /// <summary>
    /// The transport this controller is reached through (properties, DMA registration, queue
    /// pairs). Its type is <see cref="NvmeTransport"/>: a <see cref="Pcie.PcieTransport"/>
    /// (<see cref="Vfio.VfioTransport"/> for <c>pci:</c>, the emulated controller's binding for
    /// <c>emu:</c>/<c>mem:</c>/<c>null:</c>).
    /// </summary>
    public NvmeTransport Transport { get; }

    /// <summary>Where DMA buffers come from; allocate data and metadata buffers here.</summary>
    public DmaAllocator Memory { get; }

    /// <summary>The controller's address string.</summary>
    public string Address => Transport.Address;

    /// <summary>CAP as read when the controller was opened.</summary>
    public ControllerCapabilities Capabilities => _registers.Capabilities;

    /// <summary>The Identify Controller page (CNS 01h).</summary>
    public ref readonly IdentifyController Identify => ref _identify;

    /// <summary>Memory page size in use (CC.MPS), bytes.</summary>
    public int PageSize { get; private set; }

    /// <summary>Largest data transfer per command in bytes (MDTS, or the configured cap when MDTS = 0).</summary>
    public int MaxTransferBytes { get; private set; }

    /// <summary>
    /// Largest data transfer of one admin command in bytes (<see cref="ExecuteAdminRaw"/>, logs,
    /// features): <see cref="MaxTransferBytes"/>, and at most 64 KiB, what the admin queue's PRP
    /// lists hold. A larger transfer is refused with <see cref="ArgumentOutOfRangeException"/>.
    /// </summary>
    public int MaxAdminTransferBytes => Math.Min(MaxTransferBytes, AdminMaxTransferBytes);

    /// <summary>I/O queue pairs the controller granted (Set Features Number of Queues).</summary>
    public int MaxIoQueuePairs { get; private set; }

    /// <summary>Largest I/O queue size (CAP.MQES + 1, or less when the transport was told a smaller one, e.g. NVMe/TCP <c>qsize=</c>).</summary>
    public int MaxQueueEntries => Math.Min(Capabilities.Mqes + 1, Transport.MaxIoQueueEntries);

    /// <summary>True when the controller supports extended LBA formats (CTRATT.ELBAS) and Host Behavior Support LBAFEE was set.</summary>
    public bool ExtendedLbaFormatsEnabled { get; private set; }

    /// <summary>
    /// Whether shadow doorbells (Doorbell Buffer Config) are in force: the controller offers them,
    /// <see cref="NvmeControllerOptions.ShadowDoorbells"/> (or <c>dbbuf=</c>) allowed them, and the
    /// controller accepted the command after its last enable. I/O queue pairs then ring MMIO
    /// doorbells only when the controller's EventIdx asks for it.
    /// </summary>
    public bool ShadowDoorbellsEnabled { get; private set; }

    /// <summary>Active namespaces (Identify CNS 02h), in NSID order.</summary>
    public IReadOnlyList<Namespace> Namespaces => _namespaces;

    /// <summary>True while the controller is enabled and not in fatal status.</summary>
    public bool IsOperational => !_disposed && (ReadStatus() & (ControllerStatus.Ready | ControllerStatus.Fatal)) == ControllerStatus.Ready;

    internal AdminQueue Admin => _admin;

    internal NvmeControllerOptions Options => _options;

    /// <summary>The namespace with identifier <paramref name="nsid"/>.</summary>
    public Namespace GetNamespace(uint nsid)
    {
        foreach (Namespace ns in _namespaces)
            if (ns.Id == nsid)
                return ns;
        throw new ArgumentException($"Namespace {nsid} is not an active namespace of {Address} (active: {string.Join(", ", _namespaces.Select(n => n.Id))}).", nameof(nsid));
    }

    /// <summary>Creates an I/O queue pair with 128 slots (depth 127), for use by one thread.</summary>
    public IoQueuePair CreateIoQueuePair() => CreateIoQueuePair(new IoQueuePairOptions());

    /// <summary>
    /// Creates an I/O queue pair with <paramref name="entries"/> slots (depth is entries - 1),
    /// for use by one thread.
    /// </summary>
    public IoQueuePair CreateIoQueuePair(int entries) => CreateIoQueuePair(new IoQueuePairOptions { Entries = entries });

    /// <summary>
    /// Why this controller's I/O queue pairs cannot sleep on a completion interrupt
    /// (<see cref="Driver.PollMode.Adaptive"/>, <see cref="Driver.PollMode.Interrupt"/>: e.g. an inline
    /// emulated controller, a PCIe function without MSI-X), or null when they can.
    /// </summary>
    public string? CompletionInterruptsUnsupportedReason => Transport.CompletionInterruptsUnsupportedReason;

    /// <summary>
    /// Creates an I/O queue pair that waits for completions as <paramref name="pollMode"/> says
    /// (<see cref="Driver.PollMode.Adaptive"/> and <see cref="Driver.PollMode.Interrupt"/> create its
    /// completion queue with interrupts: an MSI-X vector on PCIe).
    /// </summary>
    /// <exception cref="NotSupportedException">A sleeping mode on a transport without completion interrupts (the inline emulated controller).</exception>
    public IoQueuePair CreateIoQueuePair(int entries, PollMode pollMode)
        => CreateIoQueuePair(new IoQueuePairOptions { Entries = entries, PollMode = pollMode });

    /// <summary>
    /// Creates an I/O queue pair as <paramref name="options"/> say: entries, and the opt-in
    /// software queue and splitting of large transfers (docs/LIBRARY.md, "Back-pressure and
    /// large transfers"). For use by one thread.
    /// </summary>
    public IoQueuePair CreateIoQueuePair(IoQueuePairOptions options)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(MaxQueueEntries);
        PollMode pollMode = options.PollMode ?? _options.PollMode;
        if (pollMode != PollMode.Spin && CompletionInterruptsUnsupportedReason is { } why)
            throw new NotSupportedException($"An I/O queue pair with PollMode.{pollMode} sleeps on a completion interrupt, but {why}. Use PollMode.Spin on it.");
        ushort id = ReserveQueueId();
        IoQueuePair pair;
        try
        {
            pair = new IoQueuePair(this, id, options, pollMode);
        }
        catch
        {
            ReleaseQueueId(id);
            throw;
        }
        try
        {
            pair.CreateOnController();
        }
        catch
        {
            pair.Dispose();
            throw;
        }
        lock (_queueIdLock)
            _queuePairs.Add(pair);
        return pair;
    }

    /// <summary>Current CSTS.</summary>
    internal uint ReadStatus() => _registers.Csts;

    /// <summary>CSTS for a queue pair's health check while it polls (no wire traffic on fabrics).</summary>
    internal uint ReadStatusWhilePolling() => _registers.CstsWhilePolling;

    internal NvmeControllerException FatalException(uint csts, string during) => _registers.FatalException(csts, during);

    /// <summary>Called by a queue pair's Dispose.</summary>
    internal void Release(IoQueuePair pair)
    {
        lock (_queueIdLock)
            _queuePairs.Remove(pair);
        ReleaseQueueId(pair.Id);
    }

    private ushort ReserveQueueId()
    {
        lock (_queueIdLock)
        {
            for (int i = 1; i < _queueIdsInUse.Length; i++)
            {
                if (_queueIdsInUse[i])
                    continue;
                _queueIdsInUse[i] = true;
                return (ushort)i;
            }
        }
        throw new InvalidOperationException($"All {MaxIoQueuePairs} I/O queue pairs the controller granted are in use; dispose one first.");
    }

    private void ReleaseQueueId(ushort id)
    {
        lock (_queueIdLock)
            if (id < _queueIdsInUse.Length)
                _queueIdsInUse[id] = false;
    }

    /// <summary>Normal shutdown (NVMe Base 2.0 §3.6.1): CC.SHN = 01b, then waits (within CAP.TO) for CSTS.SHST = 10b.</summary>
    public void Shutdown()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _registers.Shutdown();
    }

    /// <summary>Disposes the queue pairs, shuts down normally (CC.SHN, wait CSTS.SHST complete), then frees all memory and the transport.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        IoQueuePair[] pairs;
        lock (_queueIdLock)
            pairs = _queuePairs.ToArray();
        foreach (IoQueuePair pair in pairs)
            pair.Dispose();
        try
        {
            // Only a ready, healthy controller gets a normal shutdown; one that never became ready has nothing to flush.
            if (_options.ShutdownOnDispose && _admin is not null && (ReadStatus() & (ControllerStatus.Ready | ControllerStatus.Fatal)) == ControllerStatus.Ready)
                Shutdown();
        }
        catch (NvmeControllerException)
        {
            // Dispose must release the memory and the transport even when the controller no longer answers;
            // call Shutdown() directly to see that error.
        }
        finally
        {
            _disposed = true;
            NvmeMetrics.Unregister(Metrics);
            _admin?.Dispose();
            _shadowDoorbells?.Dispose();
            Memory.Dispose();
            if (_ownsTransport)
                Transport.Dispose();
        }
    }
}
