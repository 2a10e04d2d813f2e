using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace PolledNvme.Queues;

/// <summary>
/// When a poller that found nothing stops spinning and sleeps (an Adaptive queue pair, a
/// <see cref="Poller"/>, the emulated device's idle loop): once a window has passed since its
/// first empty poll, or at once when the thread lost its CPU between two empty polls. A gap longer
/// than <see cref="LostCpuTicks"/> means another thread ran on this core: a CPU hog, or the very
/// thread we wait for (our host, our device) sharing the core. Spinning on would take the core
/// from whoever must produce our next event, while a sleeper that event wakes is scheduled ahead
/// of a hog. On a core of its own a poller never sees such a gap and spins its whole window.
/// A mutable struct of one thread; times are <see cref="Stopwatch"/> ticks.
/// </summary>
public struct SpinWindow
{
    /// <summary>
    /// A gap between two empty polls longer than this (20 µs) means the thread was descheduled: an
    /// empty poll takes about a microsecond, a timer interrupt a few.
    /// </summary>
    public static readonly long LostCpuTicks = Stopwatch.Frequency / 50_000;

    private long _since;      // first empty poll since the last activity; 0 while busy
    private long _lastPoll;   // the previous empty poll

    /// <summary>Activity (a completion, a command, a sleep that ended): the next empty poll opens a new window.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Reset()
    {
        _since = 0;
        _lastPoll = 0;
    }

    /// <summary>
    /// An empty poll at <paramref name="now"/>: true when the poller should sleep now, because
    /// <paramref name="length"/> ticks passed since the first empty poll of this window (0: sleep at
    /// once), or the thread lost its CPU since the previous empty poll.
    /// </summary>
    public bool ShouldSleep(long now, long length)
    {
        if (_since == 0)
        {
            _since = now;
            _lastPoll = now;
            return length <= 0;
        }
        bool lostCpu = now - _lastPoll > LostCpuTicks;
        _lastPoll = now;
        return lostCpu || now - _since >= length;
    }
}
