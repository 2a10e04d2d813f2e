using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;

namespace PolledNvme.Driver.Vfio;

/// <summary>The few system calls the VFIO objects make, each returning the errno on failure.</summary>
internal static unsafe class VfioSyscalls
{
    /// <summary>open(path, O_RDWR | O_CLOEXEC); returns the fd or -errno.</summary>
    public static int OpenReadWrite(string path)
    {
        int length = Encoding.UTF8.GetByteCount(path);
        Span<byte> bytes = length < 512 ? stackalloc byte[length + 1] : new byte[length + 1];
        Encoding.UTF8.GetBytes(path, bytes);
        bytes[length] = 0;
        fixed (byte* p = bytes)
        {
            int fd = LibC.open(p, LibC.O_RDWR | LibC.O_CLOEXEC);
            return fd >= 0 ? fd : -Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>ioctl without an argument; returns the result or -errno.</summary>
    public static int Ioctl(int fd, int request)
    {
        int result = LibC.ioctl(fd, request);
        return result >= 0 ? result : -Marshal.GetLastPInvokeError();
    }

    /// <summary>ioctl with an integer argument; returns the result or -errno.</summary>
    public static int Ioctl(int fd, int request, int argument)
    {
        int result = LibC.ioctl(fd, request, argument);
        return result >= 0 ? result : -Marshal.GetLastPInvokeError();
    }

    /// <summary>ioctl with a pointer argument; returns the result or -errno.</summary>
    public static int Ioctl(int fd, int request, void* argument)
    {
        int result = LibC.ioctl(fd, request, argument);
        return result >= 0 ? result : -Marshal.GetLastPInvokeError();
    }

    /// <summary>Closes an fd if it is open (fd &gt;= 0).</summary>
    public static void Close(int fd)
    {
        if (fd >= 0) LibC.close(fd);
    }

    /// <summary>geteuid().</summary>
    public static uint EffectiveUserId() => LibC.geteuid();
}
