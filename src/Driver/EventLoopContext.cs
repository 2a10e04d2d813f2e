using System.Threading.Tasks.Sources;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// The <see cref="SynchronizationContext"/> of a queue pair's event loop (<see cref="IoQueuePair.Run"/>):
/// work posted to it from any thread (continuations of non-I/O awaits, <c>Task.Yield</c>) goes
/// into a preallocated ring that the loop thread drains between polls. Continuations of the
/// pair's own commands never go through it: they already complete on the loop thread, inside
/// ProcessCompletions, so <see cref="Inline"/> lets the request run them there directly
/// (posting them would allocate a work item per I/O).
/// </summary>
internal sealed class EventLoopContext : SynchronizationContext
{
    private const int RingSize = 1024;

    private readonly IoQueuePair _pair;
    private readonly BoundedHandoffQueue<WorkItem> _posted = new(RingSize);
    private readonly System.Collections.Concurrent.ConcurrentQueue<WorkItem> _overflow = new();   // only when the ring is full
    private int _overflowCount;
    private int _threadId;

    private readonly struct WorkItem(SendOrPostCallback callback, object? state)
    {
        public void Run() => callback(state);
    }

    public EventLoopContext(IoQueuePair pair) => _pair = pair;

    /// <summary>True while a loop runs on this context (re-entrant Run is refused).</summary>
    public bool Running => _threadId != 0;

    /// <summary>The loop starts on the calling thread.</summary>
    public void Enter() => _threadId = Environment.CurrentManagedThreadId;

    /// <summary>The loop ended.</summary>
    public void Exit() => _threadId = 0;

    /// <summary>
    /// The flags with which a request of <paramref name="pair"/> registers an await: without the
    /// scheduling context when the awaiting code runs on that pair's loop, so the continuation
    /// runs inline when the completion is reaped (same thread, same place it would be posted to).
    /// </summary>
    public static ValueTaskSourceOnCompletedFlags Inline(ValueTaskSourceOnCompletedFlags flags, IoQueuePair pair)
        => (flags & ValueTaskSourceOnCompletedFlags.UseSchedulingContext) != 0 && Current is EventLoopContext loop && loop._pair == pair
            ? flags & ~ValueTaskSourceOnCompletedFlags.UseSchedulingContext
            : flags;

    /// <summary>True when nothing posted waits to run.</summary>
    public bool IsEmpty => _posted.IsEmpty && Volatile.Read(ref _overflowCount) == 0;

    /// <inheritdoc/>
    public override void Post(SendOrPostCallback d, object? state)
    {
        ArgumentNullException.ThrowIfNull(d);
        if (_posted.TryEnqueue(new WorkItem(d, state)))
            return;
        Interlocked.Increment(ref _overflowCount);
        _overflow.Enqueue(new WorkItem(d, state));
    }

    /// <inheritdoc/>
    public override void Send(SendOrPostCallback d, object? state)
    {
        ArgumentNullException.ThrowIfNull(d);
        if (Environment.CurrentManagedThreadId == _threadId)
        {
            d(state);
            return;
        }
        // Another thread: run it on the loop and wait (the rare Send; Post is the common path).
        using var done = new ManualResetEventSlim();
        Exception? failure = null;
        Post(_ =>
        {
            try
            {
                d(state);
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                done.Set();
            }
        }, null);
        done.Wait();
        if (failure is not null)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
    }

    /// <inheritdoc/>
    public override SynchronizationContext CreateCopy() => this;

    /// <summary>
    /// Runs what was posted, at most one ring's worth per call (so work that keeps re-posting
    /// itself cannot starve polling); returns how many ran. A posted item that throws (an
    /// <c>async void</c> method's exception) ends the loop with that exception.
    /// </summary>
    public int RunPosted()
    {
        int ran = 0;
        int limit = RingSize;
        while (ran < limit && _posted.TryDequeue(out WorkItem item))
        {
            ran++;
            item.Run();
        }
        while (Volatile.Read(ref _overflowCount) != 0 && ran < 2 * limit && _overflow.TryDequeue(out WorkItem late))
        {
            Interlocked.Decrement(ref _overflowCount);
            ran++;
            late.Run();
        }
        return ran;
    }
}
