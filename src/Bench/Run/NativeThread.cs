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

    /// <summary>User time, system time, context switches and page faults of the calling thread.</summary>
    public static CpuSample SampleThread()
    {
        if (!OperatingSystem.IsLinux()) return default;
        RUsage u;
        if (getrusage(RusageThread, &u) != 0) return default;
        return new CpuSample(
            TimeSpan.FromMicroseconds(u.UtimeSec * 1_000_000 + u.UtimeUsec),
            TimeSpan.FromMicroseconds(u.StimeSec * 1_000_000 + u.StimeUsec),
            u.NvCsw + u.NivCsw, u.MajFlt, u.MinFlt);
    }

    /// <summary>Pins the calling thread to <paramref name="cpu"/>; returns false when the kernel refuses.</summary>
    public static bool PinCurrentThread(int cpu) => SetAffinity([cpu]);

    /// <summary>Lets the calling thread run only on <paramref name="cpus"/> (fio's cpus_allowed); returns false when the kernel refuses.</summary>
    public static bool SetAffinity(ReadOnlySpan<int> cpus)
    {
        if (!OperatingSystem.IsLinux() || cpus.IsEmpty) return false;
        ulong* mask = stackalloc ulong[16];
        new Span<ulong>(mask, 16).Clear();
        foreach (int cpu in cpus)
        {
            if (cpu < 0 || cpu >= 64 * 16) return false;
            mask[cpu / 64] |= 1UL << (cpu % 64);
        }
        return sched_setaffinity(0, 16 * sizeof(ulong), mask) == 0;
    }
}

/// <summary>CPU time, context switches and page faults (major, minor) of a thread at one moment.</summary>
public readonly record struct CpuSample(TimeSpan User, TimeSpan System, long ContextSwitches, long MajorFaults = 0, long MinorFaults = 0)
{
    /// <summary>The difference <paramref name="end"/> − <paramref name="start"/>.</summary>
    public static CpuSample operator -(CpuSample end, CpuSample start)
        => new(end.User - start.User, end.System - start.System, end.ContextSwitches - start.ContextSwitches,
            end.MajorFaults - start.MajorFaults, end.MinorFaults - start.MinorFaults);

    /// <summary>The sum of two samples (a group's jobs).</summary>
    public static CpuSample operator +(CpuSample a, CpuSample b)
        => new(a.User + b.User, a.System + b.System, a.ContextSwitches + b.ContextSwitches, a.MajorFaults + b.MajorFaults, a.MinorFaults + b.MinorFaults);
}
