using System.Runtime.InteropServices;

namespace PolledNvme.Queues;

/// <summary>
/// The system calls a sleeping queue pair makes: eventfd, poll and epoll (linux/eventfd.h,
/// poll.h, sys/epoll.h), each returning -errno on failure. Never called per I/O on the spinning path.
/// </summary>
internal static unsafe partial class WaitSyscalls
{
    public const int EfdNonBlock = 0x800;       // EFD_NONBLOCK = O_NONBLOCK
    public const int EfdCloexec = 0x80000;      // EFD_CLOEXEC = O_CLOEXEC
    public const short PollIn = 0x1;            // POLLIN
    public const uint EpollIn = 0x1;            // EPOLLIN
    public const int EpollCloexec = 0x80000;    // EPOLL_CLOEXEC
    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;
    public const int Eintr = 4;

    /// <summary>struct pollfd (8 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    /// <summary>struct epoll_event: packed on x86-64 (12 bytes), as the kernel's __EPOLL_PACKED.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFdNative(uint initval, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint ReadNative(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint WriteNative(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseNative(int fd);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int PollNative(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreateNative(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int EpollCtlNative(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static partial int EpollWaitNative(int epfd, EpollEvent* events, int maxEvents, int timeoutMs);

    /// <summary>A non-blocking, close-on-exec eventfd (counter mode); -errno on failure.</summary>
    public static int CreateEventFd()
    {
        int fd = EventFdNative(0, EfdNonBlock | EfdCloexec);
        return fd >= 0 ? fd : -Marshal.GetLastPInvokeError();
    }

    /// <summary>Adds 1 to an eventfd's counter (a full counter, EAGAIN, is already signalled).</summary>
    public static void Signal(int fd)
    {
        ulong one = 1;
        while (WriteNative(fd, &one, 8) < 0 && Marshal.GetLastPInvokeError() == Eintr)
        {
        }
    }

    /// <summary>Reads and resets an eventfd's counter; false when it was 0 (EAGAIN).</summary>
    public static bool Consume(int fd)
    {
        ulong value;
        while (true)
        {
            if (ReadNative(fd, &value, 8) == 8)
                return true;
            if (Marshal.GetLastPInvokeError() != Eintr)
                return false;
        }
    }

    /// <summary>Waits until <paramref name="fd"/> is readable or <paramref name="timeoutMs"/> passes (-1: no limit); true when readable.</summary>
    public static bool WaitReadable(int fd, int timeoutMs)
    {
        PollFd pfd = new() { Fd = fd, Events = PollIn };
        int ready = PollNative(&pfd, 1, timeoutMs);
        return ready > 0;   // EINTR counts as a spurious wake-up: the caller re-checks
    }

    public static int EpollCreate()
    {
        int fd = EpollCreateNative(EpollCloexec);
        return fd >= 0 ? fd : -Marshal.GetLastPInvokeError();
    }

    public static int EpollControl(int epfd, int op, int fd, ulong data)
    {
        EpollEvent ev = new() { Events = EpollIn, Data = data };
        return EpollCtlNative(epfd, op, fd, &ev) == 0 ? 0 : -Marshal.GetLastPInvokeError();
    }

    /// <summary>epoll_wait; the number of ready fds, 0 on timeout or EINTR.</summary>
    public static int EpollWait(int epfd, EpollEvent* events, int maxEvents, int timeoutMs)
    {
        int ready = EpollWaitNative(epfd, events, maxEvents, timeoutMs);
        return ready > 0 ? ready : 0;
    }

    public static void Close(int fd)
    {
        if (fd >= 0)
            CloseNative(fd);
    }
}
