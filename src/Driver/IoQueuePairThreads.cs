using System.Runtime.CompilerServices;

namespace PolledNvme.Driver;

/// <summary>
/// The owner thread of an I/O queue pair. The pair has no locks (one queue pair per thread,
/// SPDK's model), so submitting, polling, waiting and awaiting from a second thread would
/// corrupt its request table silently; instead every such entry compares the calling thread
/// with the owner (one int compare) and refuses with both threads named. The first thread that
/// uses the pair becomes its owner; <see cref="ReleaseThread"/> and
/// <see cref="BindToCurrentThread"/> hand it over explicitly.
/// </summary>
public sealed partial class IoQueuePair
{
    private readonly object _ownerLock = new();
    private Thread? _ownerThread;

    /// <summary>
    /// Makes the calling thread the owner of this queue pair: from now on only it may submit,
    /// poll (<see cref="ProcessCompletions"/>, <see cref="Wait(ValueTask, TimeSpan?)"/>, <see cref="Drain(TimeSpan?)"/>,
    /// <see cref="RingDoorbell"/>) and await its commands. Not needed when the thread that
    /// first uses the pair is the one that keeps it (that thread becomes the owner); call it to
    /// take over a pair that was released with <see cref="ReleaseThread"/> or whose owner
    /// thread has ended. Commands still outstanding complete on the new owner.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another thread that is still alive owns the pair.</exception>
    public void BindToCurrentThread()
    {
        ThrowIfDisposed();
        lock (_ownerLock)
        {
            if (_ownerThread is { IsAlive: true } owner && owner != Thread.CurrentThread)
                throw WrongThread(owner, "cannot be bound to", "Call ReleaseThread() on the owning thread first (hand it over), or keep using it there");
            Bind();
        }
    }

    /// <summary>
    /// Gives up the calling thread's ownership: the next thread that uses the pair (or calls
    /// <see cref="BindToCurrentThread"/>) becomes its owner. Call it on the owner before handing
    /// the pair to another thread (a <see cref="Queues.Poller"/> does this itself in Start).
    /// Does nothing while no thread owns the pair.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another thread that is still alive owns the pair.</exception>
    public void ReleaseThread()
    {
        lock (_ownerLock)
        {
            if (_ownerThread is { IsAlive: true } owner && owner != Thread.CurrentThread)
                throw WrongThread(owner, "cannot be released by", "Only the owning thread may hand it over");
            _ownerThread = null;
            _ownerThreadId = 0;
        }
    }

    /// <summary>Throws unless the calling thread owns the pair; binds it on first use (or when its owner thread has ended).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void CheckOwnerThread()
    {
        if (_ownerThreadId != Environment.CurrentManagedThreadId)
            BindOrThrow();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void BindOrThrow()
    {
        lock (_ownerLock)
        {
            if (_ownerThread is { IsAlive: true } owner && owner != Thread.CurrentThread)
                throw WrongThread(owner, "was used from", "Use one queue pair per thread, or hand it over: ReleaseThread() on the owner, then BindToCurrentThread() on the new thread");
            Bind();
        }
    }

    private void Bind()
    {
        _ownerThread = Thread.CurrentThread;
        _ownerThreadId = Environment.CurrentManagedThreadId;
    }

    private InvalidOperationException WrongThread(Thread owner, string what, string fix) => new(
        $"I/O queue pair {Id} belongs to thread {Describe(owner)} and {what} thread {Describe(Thread.CurrentThread)}. "
        + $"A queue pair has no locks: submit, poll (ProcessCompletions, Wait, Drain) and await its commands on its owning thread only. {fix}.");

    private static string Describe(Thread thread) => $"{thread.ManagedThreadId} ('{thread.Name ?? "unnamed"}')";
}
