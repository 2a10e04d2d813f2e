namespace PolledNvme.Queues;

/// <summary>
/// A dedicated polling thread pinned to one core (SPDK's reactor, reduced to its core): it
/// owns the queue pairs it polls — create and submit on them only from
/// the <c>onIteration</c> callback or from completion handlers, which run on this thread — and calls
/// their ProcessCompletions in a loop until stopped. <see cref="Start"/> hands the pollables
/// over (<see cref="IPollable.ReleaseThread"/> on the starting thread, then
/// <see cref="IPollable.BindToCurrentThread"/> on the poller thread); when the loop ends the
/// poller thread releases them again, so after <see cref="Stop"/> any one thread may take them
/// back (drain, dispose). For apps that want a thread per core rather than polling inline.
/// When every pollable is an <see cref="Driver.IoQueuePair"/> created with a sleeping
/// <see cref="Driver.PollMode"/>, an idle poller sleeps on their completion interrupts (a
/// <see cref="CompletionWaitSet"/>): after the pairs' adaptive spin time with Adaptive pairs, at
/// once with Interrupt pairs. It wakes on a completion, on <see cref="Wake"/> (call it after
/// giving the poller's <c>onIteration</c> new work from another thread), and at least every 100 ms.
/// </summary>
public sealed class Poller : IDisposable
{
    private readonly int _cpu;
    private readonly IPollable[] _pollables;
    private readonly Func<int>? _onIteration;
    private readonly Thread _thread;
    private volatile bool _stop;
    private volatile CompletionWaitSet? _waitSet;   // while the loop runs with sleeping pairs
    private Exception? _failure;

    /// <summary>
    /// Creates (but does not start) a poller for <paramref name="pollables"/> pinned to
    /// <paramref name="cpu"/>. <paramref name="onIteration"/>, if given, runs once per loop on
    /// the poller thread (submit work there) and returns how much work it did.
    /// </summary>
    public Poller(int cpu, IReadOnlyList<IPollable> pollables, Func<int>? onIteration = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(pollables);
        _cpu = cpu;
        _pollables = pollables.ToArray();
        _onIteration = onIteration;
        _thread = new Thread(Run) { IsBackground = true, Name = name ?? $"nvme-poller-{cpu}" };
    }

    /// <summary>Number of loop iterations that found no completion and did no work.</summary>
    public long IdleIterations { get; private set; }

    /// <summary>Total completions reaped.</summary>
    public long Completions { get; private set; }

    /// <summary>Times the loop slept on its queue pairs' completion interrupts.</summary>
    public long Sleeps => _waitSet?.Sleeps ?? 0;

    /// <summary>Wakes the loop if it sleeps (any thread): new work for <c>onIteration</c>.</summary>
    public void Wake() => _waitSet?.Wake();

    /// <summary>True while the thread runs.</summary>
    public bool IsRunning => _thread.IsAlive;

    /// <summary>
    /// Hands the pollables over to the poller thread and starts it. Call it on the thread that
    /// owns them (or while no thread does): <see cref="InvalidOperationException"/> when
    /// another live thread still owns one.
    /// </summary>
    public void Start()
    {
        foreach (IPollable pollable in _pollables)
            pollable.ReleaseThread();
        _thread.Start();
    }

    /// <summary>Asks the loop to stop and waits for it; rethrows what a handler threw on the poller thread.</summary>
    public void Stop()
    {
        _stop = true;
        Wake();
        if (_thread.IsAlive)
            _thread.Join();
        if (_failure is { } f)
        {
            _failure = null;
            throw new InvalidOperationException($"The poller on CPU {_cpu} stopped because a completion handler threw: {f.Message}", f);
        }
    }

    private void Run()
    {
        IPollable[] pollables = _pollables;
        int bound = 0;
        try
        {
            CoreAffinity.PinCurrentThread(_cpu);
            for (; bound < pollables.Length; bound++)
                pollables[bound].BindToCurrentThread();
            CompletionWaitSet? waitSet = SleepingPairs(pollables, out long spinTicks);
            _waitSet = waitSet;
            var spin = new SpinWindow();
            while (!_stop)
            {
                int work = _onIteration?.Invoke() ?? 0;
                int reaped = 0;
                for (int i = 0; i < pollables.Length; i++)
                    reaped += pollables[i].ProcessCompletions();
                if (work + reaped == 0)
                {
                    IdleIterations++;
                    if (waitSet is not null && spin.ShouldSleep(System.Diagnostics.Stopwatch.GetTimestamp(), spinTicks))
                    {
                        reaped += waitSet.SleepUntilCompletion(TimeSpan.FromMilliseconds(Driver.IoQueuePair.SleepSliceMs));
                        if (reaped != 0)
                            spin.Reset();   // woken by completions: their callbacks likely submit more, spin again
                    }
                }
                else
                {
                    spin.Reset();
                }
                Completions += reaped;
            }
        }
        catch (Exception e)
        {
            _failure = e;
        }
        finally
        {
            // Give the pollables up so whoever stopped the poller can drain or dispose them.
            for (int i = 0; i < bound; i++)
            {
                try
                {
                    pollables[i].ReleaseThread();
                }
                catch (InvalidOperationException e)
                {
                    _failure ??= e;
                }
            }
        }
    }

    /// <summary>A wait set over the pollables when all are sleeping queue pairs (else null), and how long to spin first.</summary>
    private static CompletionWaitSet? SleepingPairs(IPollable[] pollables, out long spinTicks)
    {
        spinTicks = 0;
        if (pollables.Length == 0)
            return null;
        foreach (IPollable p in pollables)
            if (p is not Driver.IoQueuePair { PollMode: not Driver.PollMode.Spin })
                return null;
        var set = new CompletionWaitSet();
        try
        {
            foreach (IPollable p in pollables)
            {
                var pair = (Driver.IoQueuePair)p;
                set.Add(pair);
                if (pair.PollMode == Driver.PollMode.Adaptive)
                    spinTicks = Math.Max(spinTicks, (long)(pair.Controller.Options.AdaptiveSpinTime.TotalSeconds * System.Diagnostics.Stopwatch.Frequency));
            }
        }
        catch
        {
            set.Dispose();
            throw;
        }
        return set;
    }

    /// <summary>Stops the thread and closes its wait set (do not call <see cref="Wake"/> concurrently).</summary>
    public void Dispose()
    {
        _stop = true;
        Wake();
        if (_thread.IsAlive)
            _thread.Join();
        // Only after the loop ended: a Wake racing the close could write into a reused fd.
        _waitSet?.Dispose();
    }
}
