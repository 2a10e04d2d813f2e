using PolledNvme.Driver;

namespace PolledNvme.Queues;

/// <summary>
/// Several sleeping I/O queue pairs waited on from one thread (an epoll set): their completion
/// fds, plus one eventfd that <see cref="Wake"/> signals from any thread (new work for the thread,
/// or a stop). Used by <see cref="Poller"/>; usable by any thread that owns several queue pairs
/// created with <see cref="PollMode.Adaptive"/> or <see cref="PollMode.Interrupt"/>.
/// </summary>
public sealed unsafe class CompletionWaitSet : IDisposable
{
    private const ulong WakeToken = ulong.MaxValue;

    private readonly int _epoll;
    private readonly EventFd _wake = new();
    private readonly List<IoQueuePair> _pairs = [];
    private bool _disposed;

    /// <summary>Creates an empty set.</summary>
    /// <exception cref="IOException">epoll_create1 failed (errno in the message).</exception>
    public CompletionWaitSet()
    {
        int fd = WaitSyscalls.EpollCreate();
        if (fd < 0)
        {
            _wake.Dispose();
            throw new IOException($"epoll_create1 failed with errno {-fd}: the process may have run out of file descriptors (ulimit -n).");
        }
        _epoll = fd;
        Control(WaitSyscalls.EpollCtlAdd, _wake.Descriptor, WakeToken, "its wake-up eventfd");
    }

    /// <summary>The queue pairs in the set.</summary>
    public IReadOnlyList<IoQueuePair> Pairs => _pairs;

    /// <summary>Adds a queue pair created with a sleeping <see cref="PollMode"/>.</summary>
    /// <exception cref="ArgumentException">The pair spins (its completion queue has no interrupt), or is in the set already.</exception>
    public void Add(IoQueuePair pair)
    {
        ArgumentNullException.ThrowIfNull(pair);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (pair.PollMode == PollMode.Spin || pair.CompletionWaitFd < 0)
            throw new ArgumentException($"I/O queue pair {pair.Id} was created with PollMode.Spin: its completion queue raises no interrupt to wait on. Create it with PollMode.Adaptive or PollMode.Interrupt.", nameof(pair));
        if (_pairs.Contains(pair))
            throw new ArgumentException($"I/O queue pair {pair.Id} is in this wait set already.", nameof(pair));
        Control(WaitSyscalls.EpollCtlAdd, pair.CompletionWaitFd, (ulong)_pairs.Count, $"queue pair {pair.Id}");
        _pairs.Add(pair);
    }

    /// <summary>Removes a queue pair (before it is disposed); false when it was not in the set.</summary>
    public bool Remove(IoQueuePair pair)
    {
        ArgumentNullException.ThrowIfNull(pair);
        if (!_pairs.Remove(pair))
            return false;
        WaitSyscalls.EpollControl(_epoll, WaitSyscalls.EpollCtlDel, pair.CompletionWaitFd, 0);
        return true;
    }

    /// <summary>Wakes the thread sleeping in <see cref="SleepUntilCompletion"/> (any thread; a wake before the sleep makes the next sleep return at once).</summary>
    public void Wake() => _wake.Signal();

    /// <summary>
    /// Arms every pair and re-checks it (<see cref="IoQueuePair"/>'s lost-wakeup ordering); when
    /// none had a completion and none must keep polling, sleeps until a completion interrupt, a
    /// <see cref="Wake"/> or <paramref name="timeout"/>, then reaps every pair. Returns the
    /// completions reaped. Call it on the thread that owns the pairs.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from a thread that does not own a pair.</exception>
    public int SleepUntilCompletion(TimeSpan timeout)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int reaped = 0;
        bool keepPolling = false;
        foreach (IoQueuePair pair in _pairs)
        {
            reaped += pair.ArmAndRecheck();
            keepPolling |= pair.MustKeepPolling;
        }
        if (reaped != 0 || keepPolling)
        {
            foreach (IoQueuePair pair in _pairs)
                pair.DisarmCompletionWait();
            return reaped;
        }
        int ms = timeout < TimeSpan.Zero ? -1 : (int)Math.Min(int.MaxValue, Math.Ceiling(timeout.TotalMilliseconds));
        WaitSyscalls.EpollEvent* events = stackalloc WaitSyscalls.EpollEvent[8];
        Sleeps++;
        WaitSyscalls.EpollWait(_epoll, events, 8, ms);
        _wake.Consume();
        foreach (IoQueuePair pair in _pairs)
        {
            pair.DisarmCompletionWait();
            reaped += pair.ProcessCompletions();
        }
        return reaped;
    }

    /// <summary>Times <see cref="SleepUntilCompletion"/> went to sleep.</summary>
    public long Sleeps { get; private set; }

    private void Control(int op, int fd, ulong token, string what)
    {
        int result = WaitSyscalls.EpollControl(_epoll, op, fd, token);
        if (result < 0)
            throw new IOException($"epoll_ctl for {what} (fd {fd}) failed with errno {-result}.");
    }

    /// <summary>Closes the epoll set and its wake-up eventfd (not the pairs).</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        WaitSyscalls.Close(_epoll);
        _wake.Dispose();
    }
}
