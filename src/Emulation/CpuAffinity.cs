using System.ComponentModel;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PolledNvme.Driver.Emulated;

/// <summary>Pins the calling thread to one CPU (sched_setaffinity(2) on the thread's own id).</summary>
internal static unsafe class CpuAffinity
{
    public static void PinCurrentThread(int cpu)
    {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, (size_t)sizeof(cpu_set_t), &set) != 0)
            throw new Win32Exception(errno, $"sched_setaffinity to CPU {cpu} failed");
    }
}
