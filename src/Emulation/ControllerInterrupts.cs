using PolledNvme.Queues;

namespace PolledNvme.Emulation;

/// <summary>
/// Completion interrupts and the idle device thread's sleep. The controller has one interrupt
/// vector per queue id (like an MSI-X table of MaxIoQueuePairs + 1 entries); the host binds an
/// eventfd to a vector (<see cref="InterruptVector"/>), and a CQ created with IEN signals its
/// vector's eventfd at the end of a device pass that posted entries the host has not consumed yet,
/// if the host armed it (<see cref="EmulatedCompletionQueue.RaiseInterrupt"/>). A vector without an eventfd drops its
/// interrupts, as an unbound MSI-X vector would. Interrupt Coalescing (Set Features 08h) is stored
/// and reported but not applied.
/// </summary>
internal sealed unsafe partial class ControllerCore
{
    private EmulatedCompletionQueue[] _interruptQueues = [];
    private EventFd?[]? _vectors;
    private readonly Lock _vectorLock = new();

    /// <summary>Interrupt vectors the controller has (0 = the admin queue's).</summary>
    public int InterruptVectorCount => Options.MaxIoQueuePairs + 1;

    /// <summary>What wakes the sleeping device thread (threaded mode; null inline).</summary>
    public DoorbellWake? DeviceWake { get; set; }

    /// <summary>
    /// The eventfd interrupt vector <paramref name="vector"/> signals, created on first use and
    /// kept (across controller resets, as an MSI-X table is) until the controller is disposed.
    /// </summary>
    public EventFd InterruptVector(ushort vector)
    {
        if (vector >= InterruptVectorCount)
            throw new NotSupportedException($"The emulated controller has interrupt vectors 0..{InterruptVectorCount - 1} (one per queue id); vector {vector} asked.");
        lock (_vectorLock)
        {
            var vectors = _vectors ?? new EventFd?[InterruptVectorCount];
            EventFd fd = vectors[vector] ??= new EventFd();
            Volatile.Write(ref _vectors, vectors);   // the device thread reads the table without the lock
            return fd;
        }
    }

    /// <summary>IEN and IV of completion queue <paramref name="qid"/>, or null when it does not exist (tests).</summary>
    public (bool Enabled, ushort Vector)? CompletionQueueInterrupt(ushort qid)
        => qid < _completionQueues.Length && _completionQueues[qid] is { } cq ? (cq.InterruptsEnabled, cq.InterruptVector) : null;

    private void RaiseInterrupts()
    {
        var queues = _interruptQueues;
        var vectors = Volatile.Read(ref _vectors);
        for (int i = 0; i < queues.Length; i++)
            queues[i].RaiseInterrupt(vectors?[queues[i].InterruptVector]);
    }

    /// <summary>Whether the device thread may sleep until a host write: nothing in flight that completes by itself.</summary>
    public bool CanSleep => !HasMediaInFlight && _deferred.Count == 0 && !_shutdownCompletePending;

    /// <summary>EventIdx updates of every queue so far: a pass that changed one must be followed by another before the device sleeps.</summary>
    public long EventIndexWrites()
    {
        long total = 0;
        foreach (var sq in _submissionQueues)
            if (sq is not null)
                total += sq.EventIndexWrites;
        foreach (var cq in _completionQueues)
            if (cq is not null)
                total += cq.EventIndexWrites;
        return total;
    }

    private void DisposeInterruptVectors()
    {
        lock (_vectorLock)
        {
            if (_vectors is { } vectors)
                foreach (EventFd? fd in vectors)
                    fd?.Dispose();
            _vectors = null;
        }
    }
}
