using System.Runtime.InteropServices;

namespace PolledNvme.Uring;

/// <summary>CPU time (user and system) consumed by the calling thread: getrusage(RUSAGE_THREAD).</summary>
internal static unsafe partial class ThreadCpuTime
{
    private const int RusageThread = 1; // RUSAGE_THREAD (bits/resource.h)

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeVal { public long Seconds, Microseconds; }

    // struct rusage: two timevals, then fourteen longs (144 bytes on 64-bit Linux).
    [StructLayout(LayoutKind.Sequential, Size = 144)]
    private struct Rusage { public TimeVal User, System; }

    [LibraryImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static partial int GetRusage(int who, Rusage* usage);

    /// <summary>User and system CPU time of this thread so far.</summary>
    public static (TimeSpan User, TimeSpan System) Now()
    {
        Rusage usage;
        if (GetRusage(RusageThread, &usage) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new UringException("getrusage", errno, $"getrusage(RUSAGE_THREAD) failed with {Errno.Describe(errno)}.");
        }
        return (ToTimeSpan(usage.User), ToTimeSpan(usage.System));
    }

    private static TimeSpan ToTimeSpan(TimeVal t) => TimeSpan.FromTicks(t.Seconds * TimeSpan.TicksPerSecond + t.Microseconds * 10);
}
