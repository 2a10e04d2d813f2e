using System.Runtime.InteropServices;

namespace PolledNvme.Bench.Run;

/// <summary>Thread-level Linux calls the runner needs: pinning and per-thread CPU time.</summary>
internal static unsafe partial class NativeThread
{
    private const int RusageThread = 1;   // RUSAGE_THREAD, linux/resource.h

    [StructLayout(LayoutKind.Sequential)]
    private struct RUsage
    {
        public long UtimeSec, UtimeUsec, StimeSec, StimeUsec;
        public long MaxRss, IxRss, IdRss, IsRss, MinFlt, MajFlt, NSwap, InBlock, OuBlock, MsgSnd, MsgRcv, NSignals, NvCsw, NivCsw;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrusage(int who, RUsage* usage);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_setaffinity(int pid, nint cpusetsize, ulong* mask);

    /// <summary>User time, system time and context switches of the calling thread.</summary>
    public static CpuSample SampleThread()
    {
        if (!OperatingSystem.IsLinux()) return default;
        RUsage u;
        if (getrusage(RusageThread, &u) != 0) return default;
        return new CpuSample(
            TimeSpan.FromMicroseconds(u.UtimeSec * 1_000_000 + u.UtimeUsec),
            TimeSpan.FromMicroseconds(u.StimeSec * 1_000_000 + u.StimeUsec),
            u.NvCsw + u.NivCsw);
    }

    /// <summary>Pins the calling thread to <paramref name="cpu"/>; returns false when the kernel refuses.</summary>
    public static bool PinCurrentThread(int cpu)
    {
        if (!OperatingSystem.IsLinux() || cpu < 0 || cpu >= 64 * 16) return false;
        ulong* mask = stackalloc ulong[16];
        new Span<ulong>(mask, 16).Clear();
        mask[cpu / 64] = 1UL << (cpu % 64);
        return sched_setaffinity(0, 16 * sizeof(ulong), mask) == 0;
    }
}

/// <summary>CPU time of a thread at one moment.</summary>
public readonly record struct CpuSample(TimeSpan User, TimeSpan System, long ContextSwitches)
{
    /// <summary>The difference <paramref name="end"/> − <paramref name="start"/>.</summary>
    public static CpuSample operator -(CpuSample end, CpuSample start)
        => new(end.User - start.User, end.System - start.System, end.ContextSwitches - start.ContextSwitches);
}
