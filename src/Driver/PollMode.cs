namespace PolledNvme.Driver;

/// <summary>
/// How an I/O queue pair waits for completions when none is ready (<see cref="IoQueuePair.PollMode"/>,
/// <see cref="NvmeControllerOptions.PollMode"/>). Fixed when the queue pair is created: the
/// sleeping modes create its completion queue with interrupts enabled (PCIe: IEN = 1 and an
/// MSI-X vector bound to an eventfd; NVMe/TCP: the socket is the wait handle).
/// </summary>
public enum PollMode
{
    /// <summary>Poll the completion queue without ever sleeping (lowest latency; burns the core while waiting). The default.</summary>
    Spin = 0,

    /// <summary>
    /// Spin for <see cref="NvmeControllerOptions.AdaptiveSpinTime"/> after the last completion
    /// (or after the wait began), then sleep on the completion interrupt: busy queue pairs spin,
    /// idle ones cost nothing.
    /// </summary>
    Adaptive = 1,

    /// <summary>Sleep on the completion interrupt whenever nothing is ready.</summary>
    Interrupt = 2,
}
