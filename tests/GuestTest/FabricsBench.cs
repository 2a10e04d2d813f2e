using System.Diagnostics;
using System.Globalization;
using PolledNvme.Driver;
using PolledNvme.Queues;

namespace PolledNvme.GuestTest;

/// <summary>
/// Our initiator's side of the in-guest benchmarks (scripts/fabrics-test.sh runs fio on the
/// kernel's NVMe/TCP initiator in the same boot against the same target; scripts/qemu-test.sh
/// with QEMU_BENCH_SECONDS compares shadow doorbells on and off through VFIO): 4 KiB random reads
/// at a queue depth, one queue pair polled by one pinned thread, for a fixed time; what the
/// completion handlers resubmit is sent once per poll (BatchDoorbells). Prints one
/// <c>bench-result</c> line: IOPS, mean latency (the queue pair spins, or sleeps on its completion
/// interrupt with poll=adaptive|interrupt), this process's CPU time per I/O and the whole
/// guest's busy CPU time per I/O (/proc/stat: initiator, target and network stack together).
/// </summary>
internal static class FabricsBench
{
    public static int Run(string device, int queueDepth, int seconds, int cpu, TextWriter output, bool batchDoorbells = true, PollMode poll = PollMode.Spin)
    {
        using NvmeController controller = NvmeController.Open(device);
        Namespace ns = controller.Namespaces[0];
        if (cpu >= 0)
            CoreAffinity.PinCurrentThread(cpu);
        using IoQueuePair qp = controller.CreateIoQueuePair(queueDepth + 1, poll);
        // Resubmissions from the completion handlers go out together: one send per poll, as SPDK's perf does.
        qp.BatchDoorbells = batchDoorbells;
        int blocksPerIo = 4096 / ns.BlockSize;
        long ios = (long)(ns.BlockCount / (ulong)blocksPerIo);
        var buffers = Enumerable.Range(0, queueDepth).Select(_ => controller.Memory.Allocate(4096)).ToArray();
        var state = new State { Pair = qp, Ns = ns, BlocksPerIo = blocksPerIo, Ios = ios, Random = new Random(42) };
        state.Slots = buffers.Select(b => new Slot { Owner = state, Buffer = b }).ToArray();
        state.Done = static (s, in result) =>
        {
            var slot = (Slot)s!;
            State st = slot.Owner;
            if (!result.IsSuccess)
                st.Errors++;
            st.Completed++;
            st.LatencyTicks += Stopwatch.GetTimestamp() - slot.Started;
            if (!st.Stop)
                st.Submit(slot);
        };

        RunFor(state, TimeSpan.FromSeconds(1));   // warm up (batch=0: every resubmission rings at once, as a per-command doorbell does)
        state.Reset();
        long doorbellsBefore = qp.MmioDoorbellWrites;
        (long busyBefore, long totalBefore) = ProcStat();
        TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        RunFor(state, TimeSpan.FromSeconds(seconds));
        double elapsed = clock.Elapsed.TotalSeconds;
        TimeSpan cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        long doorbells = qp.MmioDoorbellWrites - doorbellsBefore;
        (long busyAfter, long totalAfter) = ProcStat();
        double jiffy = 1e6 / 100;   // USER_HZ
        double n = Math.Max(1, state.Completed);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bench-result engine=polled-nvme device={device} dbbuf={(controller.ShadowDoorbellsEnabled ? 1 : 0)} batch={(batchDoorbells ? 1 : 0)} poll={poll.ToString().ToLowerInvariant()} qd={queueDepth} ios={state.Completed} errors={state.Errors} seconds={elapsed:0.00} iops={state.Completed / elapsed:0} "
            + $"lat_us={state.LatencyTicks * 1e6 / Stopwatch.Frequency / n:0.0} proc_cpu_us_per_io={cpuUsed.TotalMicroseconds / n:0.0} "
            + $"sys_cpu_us_per_io={(busyAfter - busyBefore) * jiffy / n:0.0} sys_cpu_total_us_per_io={(totalAfter - totalBefore) * jiffy / n:0.0} "
            + $"mmio_doorbells_per_io={doorbells / n:0.000} sleeps={qp.Sleeps}"));
        foreach (DmaBuffer b in buffers) b.Dispose();
        return state.Errors == 0 ? 0 : 1;
    }

    private static void RunFor(State state, TimeSpan time)
    {
        state.Stop = false;
        foreach (Slot slot in state.Slots)
            state.Submit(slot);
        state.Pair.RingDoorbell();
        long end = Stopwatch.GetTimestamp() + (long)(time.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < end)
        {
            state.Pair.PollOrSleep();   // spin: ProcessCompletions; adaptive/interrupt: may sleep on the completion interrupt
            state.Pair.RingDoorbell();
        }
        state.Stop = true;
        state.Pair.Drain(TimeSpan.FromSeconds(60));
    }

    /// <summary>Busy and total CPU time of all CPUs in jiffies (the first line of /proc/stat).</summary>
    private static (long Busy, long Total) ProcStat()
    {
        string[] f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long[] v = f.Skip(1).Take(8).Select(long.Parse).ToArray();
        long total = v.Sum();
        long idle = v[3] + v[4];
        return (total - idle, total);
    }

    private sealed class Slot
    {
        public State Owner = null!;
        public DmaBuffer Buffer = null!;
        public long Started;
    }

    private sealed class State
    {
        public IoQueuePair Pair = null!;
        public Namespace Ns = null!;
        public Slot[] Slots = [];
        public IoCompletionCallback Done = null!;
        public Random Random = null!;
        public int BlocksPerIo;
        public long Ios;
        public long Completed;
        public long Errors;
        public long LatencyTicks;
        public bool Stop;

        public void Reset() => Completed = Errors = LatencyTicks = 0;

        public void Submit(Slot slot)
        {
            ulong lba = (ulong)(Random.NextInt64(Ios) * BlocksPerIo);
            slot.Started = Stopwatch.GetTimestamp();
            Pair.Read(Ns, lba, BlocksPerIo, slot.Buffer, null, default, Done, slot);
        }
    }
}
