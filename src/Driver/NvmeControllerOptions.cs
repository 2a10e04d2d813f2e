namespace PolledNvme.Driver;

/// <summary>Settings for opening a controller.</summary>
public sealed record NvmeControllerOptions
{
    /// <summary>Admin queue entries (SQ and CQ); clamped to CAP.MQES + 1. Default 32.</summary>
    public int AdminQueueEntries { get; init; } = 32;

    /// <summary>I/O queue pairs to ask for with Set Features Number of Queues. Default 16.</summary>
    public int RequestedIoQueues { get; init; } = 16;

    /// <summary>
    /// Allow DMA memory from locked 4 KiB pages when no hugepages are reserved. Null (default):
    /// the transport decides (<see cref="Transport.NvmeTransport.DefaultMemoryOptions"/>): allowed
    /// for the emulated controller (emu:, mem:, null:), refused for real hardware (pci:).
    /// </summary>
    public bool? AllowNonHugepageMemory { get; init; }

    /// <summary>Largest transfer per command the driver uses when the controller reports no MDTS limit. Default 2 MiB.</summary>
    public int MaxTransferBytesWhenUnlimited { get; init; } = 2 << 20;

    /// <summary>How long an admin command may take before it is reported as timed out. Default 10 s.</summary>
    public TimeSpan AdminTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Use shadow doorbells (Doorbell Buffer Config, NVMe Base 2.0 §5.9) when a PCIe controller offers
    /// them (OACS bit 8): doorbell updates go to host memory and the MMIO doorbell is rung only when
    /// the controller's EventIdx asks for it, which saves a VM exit per doorbell under a hypervisor.
    /// Default true; a <c>dbbuf=0|1</c> key in a <c>pci:</c> device string overrides it.
    /// </summary>
    public bool ShadowDoorbells { get; init; } = true;

    /// <summary>
    /// How I/O queue pairs wait for completions (<see cref="Driver.PollMode"/>), unless
    /// <see cref="NvmeController.CreateIoQueuePair(int, Driver.PollMode)"/> says otherwise. Default <see cref="PollMode.Spin"/>.
    /// </summary>
    public PollMode PollMode { get; init; } = PollMode.Spin;

    /// <summary>How long an <see cref="PollMode.Adaptive"/> queue pair spins after its last completion before it sleeps. Default 50 µs.</summary>
    public TimeSpan AdaptiveSpinTime { get; init; } = TimeSpan.FromMicroseconds(50);

    /// <summary>Whether Dispose performs a normal shutdown (CC.SHN = 01b). Default true.</summary>
    public bool ShutdownOnDispose { get; init; } = true;
}
