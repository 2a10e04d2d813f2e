namespace PolledNvme.Queues;

/// <summary>
/// A Linux eventfd (non-blocking counter): what a completion interrupt signals (a VFIO MSI-X
/// vector, the emulated controller's per-vector interrupt) and what a sleeping queue pair or
/// device thread waits on. <see cref="Signal"/> may be called from any thread.
/// </summary>
public sealed class EventFd : IDisposable
{
    private int _fd;
    private bool _armed;

    /// <summary>Creates a non-blocking, close-on-exec eventfd with its counter at 0.</summary>
    /// <exception cref="IOException">The kernel refused (errno in the message: out of file descriptors?).</exception>
    public EventFd()
    {
        int fd = WaitSyscalls.CreateEventFd();
        if (fd < 0)
            throw new IOException($"eventfd() failed with errno {-fd}: the process may have run out of file descriptors (ulimit -n).");
        _fd = fd;
    }

    /// <summary>The file descriptor (for VFIO_DEVICE_SET_IRQS and epoll); -1 once disposed.</summary>
    public int Descriptor => Volatile.Read(ref _fd);

    /// <summary>
    /// Whether the waiter is about to sleep on it (set just before its last re-check, cleared once
    /// it polls again): the emulated controller's per-vector mask, so a device signals a host that
    /// is busy polling with no write(2) per completion (as a masked MSI-X vector sends nothing). A
    /// kernel-driven eventfd (VFIO) ignores it.
    /// </summary>
    public bool Armed
    {
        get => Volatile.Read(ref _armed);
        set => Volatile.Write(ref _armed, value);
    }

    /// <summary>Adds 1 to the counter: wakes a waiter.</summary>
    public void Signal() => WaitSyscalls.Signal(_fd);

    /// <summary>Resets the counter to 0; true when it had been signalled.</summary>
    public bool Consume() => WaitSyscalls.Consume(_fd);

    /// <summary>Sleeps until signalled or <paramref name="timeoutMs"/> passes (-1: no limit); true when signalled. Does not consume.</summary>
    public bool Wait(int timeoutMs) => WaitSyscalls.WaitReadable(_fd, timeoutMs);

    /// <summary>Closes the eventfd.</summary>
    public void Dispose() => WaitSyscalls.Close(Interlocked.Exchange(ref _fd, -1));
}
