using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PolledNvme.Driver.Tcp;

/// <summary>
/// One non-blocking TCP connection as the NVMe/TCP queue pair uses it: raw libc calls (socket,
/// connect, sendmsg/recvmsg with iovecs straight from the caller's buffers, shutdown, close)
/// so the hot path allocates nothing and copies nothing. Every call returns the byte count or
/// -errno; blocking waits (connect, the ICReq exchange) poll with a deadline. Owned by one
/// thread; <see cref="Shutdown"/> alone may come from another (it leaves the fd valid).
/// </summary>
internal sealed unsafe partial class TcpSocket : IDisposable
{
    public const int EAGAIN = 11;
    public const int EINTR = 4;
    public const int EPIPE = 32;
    public const int ECONNRESET = 104;
    public const int ECONNREFUSED = 111;
    public const int ETIMEDOUT = 110;
    public const int EINPROGRESS = 115;
    public const int EHOSTUNREACH = 113;
    public const int ENETUNREACH = 101;

    private const int AF_INET = 2;
    private const int AF_INET6 = 10;
    private const int SOCK_STREAM = 1;
    private const int SOCK_NONBLOCK = 0x800;
    private const int SOCK_CLOEXEC = 0x80000;
    private const int IPPROTO_TCP = 6;
    private const int TCP_NODELAY = 1;
    private const int SOL_SOCKET = 1;
    private const int SO_ERROR = 4;
    private const int MSG_DONTWAIT = 0x40;
    private const int MSG_NOSIGNAL = 0x4000;
    private const short POLLIN = 1;
    private const short POLLOUT = 4;
    private const int SHUT_RDWR = 2;

    private int _fd;

    private TcpSocket(int fd) => _fd = fd;

    /// <summary>The file descriptor (-1 once closed).</summary>
    public int Descriptor => Volatile.Read(ref _fd);

    /// <summary>
    /// Connects to <paramref name="endpoint"/> within <paramref name="timeout"/>, with
    /// TCP_NODELAY (a capsule is sent when it is complete; Nagle would hold small PDUs back).
    /// Returns the socket, or null with <paramref name="errno"/> set.
    /// </summary>
    public static TcpSocket? Connect(IPEndPoint endpoint, TimeSpan timeout, out int errno)
    {
        int family = endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? AF_INET6 : AF_INET;
        int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        var s = new TcpSocket(fd);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(int));
        byte* address = stackalloc byte[28];
        int length = WriteSockaddr(endpoint, address);
        if (connect(fd, address, length) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            if (errno != EINPROGRESS)
            {
                s.Dispose();
                return null;
            }
            errno = s.Poll(POLLOUT, timeout);
            if (errno == 0)
            {
                int error = 0;
                int size = sizeof(int);
                errno = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 ? error : Marshal.GetLastPInvokeError();
            }
            if (errno != 0)
            {
                s.Dispose();
                return null;
            }
        }
        errno = 0;
        return s;
    }

    /// <summary>sendmsg of <paramref name="count"/> iovecs, never blocking, never raising SIGPIPE; bytes sent, or -errno.</summary>
    public long Send(IoVector* vectors, int count)
    {
        MessageHeader header = default;
        header.Iov = vectors;
        header.IovLength = (nuint)count;
        while (true)
        {
            long sent = sendmsg(Descriptor, &header, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (sent >= 0)
                return sent;
            int errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR)
                return -errno;
        }
    }

    /// <summary>recvmsg into <paramref name="count"/> iovecs without blocking; bytes received (0 = the peer closed), or -errno.</summary>
    public long Receive(IoVector* vectors, int count)
    {
        MessageHeader header = default;
        header.Iov = vectors;
        header.IovLength = (nuint)count;
        while (true)
        {
            long received = recvmsg(Descriptor, &header, MSG_DONTWAIT);
            if (received >= 0)
                return received;
            int errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR)
                return -errno;
        }
    }

    /// <summary>Waits until the socket is readable; 0, or ETIMEDOUT / -errno style errno.</summary>
    public int WaitReadable(TimeSpan timeout) => Poll(POLLIN, timeout);

    /// <summary>Waits until the socket is writable; 0, or an errno.</summary>
    public int WaitWritable(TimeSpan timeout) => Poll(POLLOUT, timeout);

    private int Poll(short events, TimeSpan timeout)
    {
        PollDescriptor pfd = default;
        pfd.Fd = Descriptor;
        pfd.Events = events;
        int ms = timeout <= TimeSpan.Zero ? 0 : (int)Math.Min(int.MaxValue, Math.Ceiling(timeout.TotalMilliseconds));
        while (true)
        {
            int ready = poll(&pfd, 1, ms);
            if (ready > 0)
                return 0;
            if (ready == 0)
                return ETIMEDOUT;
            int errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR)
                return errno;
        }
    }

    /// <summary>Ends both directions without releasing the fd: safe from another thread, the owner's next call sees the end.</summary>
    public void Shutdown()
    {
        int fd = Descriptor;
        if (fd >= 0)
            shutdown(fd, SHUT_RDWR);
    }

    /// <summary>Closes the connection (owner thread only).</summary>
    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
            close(fd);
    }

    /// <summary>A readable errno name and text, e.g. <c>ECONNREFUSED (Connection refused)</c>.</summary>
    public static string Describe(int errno)
    {
        string name = errno switch
        {
            ECONNREFUSED => "ECONNREFUSED",
            ECONNRESET => "ECONNRESET",
            EPIPE => "EPIPE",
            ETIMEDOUT => "ETIMEDOUT",
            EHOSTUNREACH => "EHOSTUNREACH",
            ENETUNREACH => "ENETUNREACH",
            EAGAIN => "EAGAIN",
            _ => $"errno {errno}",
        };
        string text = Marshal.PtrToStringUTF8(strerror(errno)) ?? "";
        return $"{name} ({text})";
    }

    private static int WriteSockaddr(IPEndPoint endpoint, byte* address)
    {
        new Span<byte>(address, 28).Clear();
        ushort port = (ushort)endpoint.Port;
        if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
        {
            *(ushort*)address = AF_INET6;
            address[2] = (byte)(port >> 8);
            address[3] = (byte)port;
            endpoint.Address.TryWriteBytes(new Span<byte>(address + 8, 16), out _);
            *(uint*)(address + 24) = (uint)endpoint.Address.ScopeId;
            return 28;
        }
        *(ushort*)address = AF_INET;
        address[2] = (byte)(port >> 8);
        address[3] = (byte)port;
        endpoint.Address.TryWriteBytes(new Span<byte>(address + 4, 4), out _);
        return 16;
    }

    /// <summary>struct iovec.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct IoVector
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public IoVector* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollDescriptor
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int connect(int fd, byte* address, int length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setsockopt(int fd, int level, int name, void* value, int length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getsockopt(int fd, int level, int name, void* value, int* length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendmsg(int fd, MessageHeader* message, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recvmsg(int fd, MessageHeader* message, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int poll(PollDescriptor* fds, nuint count, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int shutdown(int fd, int how);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc")]
    private static partial nint strerror(int errno);
}
