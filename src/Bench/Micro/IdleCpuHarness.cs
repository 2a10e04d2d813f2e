using System.Diagnostics;
using System.Globalization;
using PolledNvme.Driver;
using PolledNvme.Emulation;
using PolledNvme.Queues;

namespace PolledNvme.Bench.Micro;

/// <summary>
/// `idle [device] [spin|adaptive|interrupt] [seconds]`: the CPU an open controller with one I/O
/// queue pair costs while nothing happens. A <see cref="Poller"/> thread owns the pair (an
/// application's reactor, waiting for work); after one flush and a settling second the process
/// CPU time (every thread: the poller, the emulated device thread, the runtime) is measured over
/// the interval. A report, not a test: run it on an idle machine.
/// </summary>
public static class IdleCpuHarness
{
    /// <summary>Runs the measurement and prints one line.</summary>
    public static void Run(TextWriter output, string device, PollMode mode, double seconds)
    {
        using NvmeController controller = NvmeController.Open(device, new NvmeControllerOptions { PollMode = mode });
        using IoQueuePair qp = controller.CreateIoQueuePair(32);
        qp.Wait(qp.FlushAsync(controller.Namespaces[0]));
        qp.ReleaseThread();
        using var poller = new Poller(CoreAffinity.AllowedCpus()[0], [qp], name: "idle-poller");
        poller.Start();
        Thread.Sleep(1000);   // past every spin window
        using Process self = Process.GetCurrentProcess();
        self.Refresh();
        TimeSpan cpuBefore = self.TotalProcessorTime;
        long idleBefore = poller.IdleIterations, sleepsBefore = poller.Sleeps;
        EmulatedController? emulated = EmulatedController.FromTransport(controller.Transport);
        long deviceSleepsBefore = emulated?.Sleeps ?? 0;
        long start = Stopwatch.GetTimestamp();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        double wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
        self.Refresh();
        TimeSpan cpu = self.TotalProcessorTime - cpuBefore;
        long idle = poller.IdleIterations - idleBefore, sleeps = poller.Sleeps - sleepsBefore;
        poller.Stop();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"idle {device} poll={mode.ToString().ToLowerInvariant()}: {cpu.TotalSeconds:F3} s CPU in {wall:F2} s = {100 * cpu.TotalSeconds / wall:F2} % of one core; "
            + $"poller: {idle} empty iterations, {sleeps} sleeps{(emulated is null ? "" : $"; emulated device thread: {emulated.Sleeps - deviceSleepsBefore} sleeps")}"));
    }
}
