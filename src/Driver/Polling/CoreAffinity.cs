using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace PolledNvme.Queues;

/// <summary>Pins the calling thread to one CPU with sched_setaffinity (pid 0 = this thread).</summary>
public static unsafe class CoreAffinity
{
    /// <summary>
    /// The CPUs this process may run on (the main thread's affinity: taskset, cgroup cpusets), in
    /// ascending order. Not 0..ProcessorCount-1: under `taskset -c 2,3` ProcessorCount is 2 but
    /// CPUs 0 and 1 are not allowed.
    /// </summary>
    public static int[] AllowedCpus()
    {
        cpu_set_t set;
        CPU_ZERO(&set);
        if (sched_getaffinity(Environment.ProcessId, (size_t)sizeof(cpu_set_t), &set) != 0)
            return Enumerable.Range(0, Environment.ProcessorCount).ToArray();
        var cpus = new List<int>();
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
            if (CPU_ISSET(cpu, &set))
                cpus.Add(cpu);
        return cpus.ToArray();
    }

    /// <summary>CPU numbers are 0..CpuSetSize-1 (the kernel's cpu_set_t).</summary>
    public static int CpuSetSize => CPU_SETSIZE;

    /// <summary>The highest-numbered CPU this process may run on (where a device thread goes while jobs start from the lowest).</summary>
    public static int LastAllowedCpu() => AllowedCpus()[^1];

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
