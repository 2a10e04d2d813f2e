using System.Runtime.CompilerServices;

namespace PolledNvme.Queues;

/// <summary>
/// Lets a software device (the emulated controller's thread) sleep while idle and be woken by
/// the host's doorbell and register writes, instead of spinning on its register page. The host
/// side (<see cref="AfterHostWrite"/>) costs a full fence and one load per doorbell write while
/// the device is awake, and a write(2) only when it sleeps; real hardware has no such object.
/// <para>
/// Ordering (a Dekker pair): the device stores "sleeping", fences, then re-reads every doorbell
/// (<see cref="PrepareToSleep"/>, then its own re-check); the host stores its doorbell, fences,
/// then reads "sleeping". Either the device's re-check sees the new doorbell, or the host sees
/// "sleeping" and signals the eventfd, so no doorbell is lost.
/// </para>
/// </summary>
public sealed class DoorbellWake : IDisposable
{
    private readonly EventFd _event = new();
    private int _sleeping;

    /// <summary>Host side, after a doorbell or register store: wakes the device if it sleeps (or is about to).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AfterHostWrite()
    {
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _sleeping) != 0)
            Wake();
    }

    /// <summary>Wakes the device if it sleeps (any thread).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Wake()
    {
        if (Interlocked.Exchange(ref _sleeping, 0) != 0)
            _event.Signal();
    }

    /// <summary>Wakes the device whatever it is doing (stop).</summary>
    public void WakeAlways()
    {
        Volatile.Write(ref _sleeping, 0);
        _event.Signal();
    }

    /// <summary>Device side: announces the sleep (with a full fence); the device must then re-check its doorbells before <see cref="Sleep"/>.</summary>
    public void PrepareToSleep() => Interlocked.Exchange(ref _sleeping, 1);

    /// <summary>Device side: the re-check found work, no sleep.</summary>
    public void CancelSleep() => Volatile.Write(ref _sleeping, 0);

    /// <summary>
    /// Device side: sleeps until a host write wakes it (or <paramref name="timeoutMs"/>, -1: no limit;
    /// 0: no wait), then clears the signal. True when a host write (or a stop) woke it, before or
    /// during the sleep; false when the time ran out.
    /// </summary>
    public bool Sleep(int timeoutMs = -1)
    {
        bool woken = Volatile.Read(ref _sleeping) == 0 || _event.Wait(timeoutMs);
        Volatile.Write(ref _sleeping, 0);
        _event.Consume();
        return woken;
    }

    /// <summary>Whether the device announced a sleep and no host write woke it yet (tests: the device thread is blocked).</summary>
    public bool IsSleeping => Volatile.Read(ref _sleeping) != 0;

    /// <summary>Closes the eventfd.</summary>
    public void Dispose() => _event.Dispose();
}
