using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PolledNvme.Queues;

/// <summary>Pins the calling thread to one CPU with sched_setaffinity (pid 0 = this thread).</summary>
public static unsafe class CoreAffinity
{
    /// <summary>Restricts the calling OS thread to CPU <paramref name="cpu"/>.</summary>
    public static void PinCurrentThread(int cpu)
    {
        int cpus = Environment.ProcessorCount;
        if (cpu < 0 || cpu >= CPU_SETSIZE)
            throw new ArgumentOutOfRangeException(nameof(cpu), $"CPU {cpu} is outside 0..{CPU_SETSIZE - 1} (this machine reports {cpus} processors).");
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, (size_t)sizeof(cpu_set_t), &set) != 0)
        {
            int e = errno;
            throw new InvalidOperationException($"sched_setaffinity to CPU {cpu} failed (errno {e}); the CPU may be offline or outside this process's cpuset ({cpus} processors available).");
        }
    }

    /// <summary>The CPU the calling thread is running on now.</summary>
    public static int CurrentCpu => sched_getcpu();
}
