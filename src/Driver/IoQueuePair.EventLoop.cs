using System.Diagnostics;
using System.Runtime.CompilerServices;
using PolledNvme.Queues;

namespace PolledNvme.Driver;

/// <summary>
/// The queue pair's event loop (SPDK's reactor for one queue pair): <see cref="Run"/> makes a
/// plain <c>await qp.ReadAsync(...)</c> complete without a hand-written polling loop. It runs
/// the body on the owner thread with an <see cref="EventLoopContext"/> installed, polls the
/// pair, runs the continuations of its commands inline as their completions are reaped, and
/// runs work posted to the context (other awaits that resume on the loop) between polls.
/// </summary>
public sealed partial class IoQueuePair
{
    private EventLoopContext? _loopContext;
    private bool _loopStopping;
    private CancellationToken _loopToken;

    /// <summary>
    /// Runs <paramref name="body"/> on the calling thread (which becomes the pair's owner) as
    /// this queue pair's event loop, and returns when the body has completed and no command is
    /// outstanding. While it runs, the thread's <see cref="SynchronizationContext"/> is the
    /// loop's: awaits of this pair's commands resume on this thread as their completions are
    /// polled (allocation-free per I/O), and other awaits (a <c>Task</c>, <c>Task.Yield</c>)
    /// resume here too, between polls. The body's exception is rethrown once its commands have
    /// drained. Cancelling <paramref name="cancellationToken"/> stops the loop: submissions on the
    /// pair throw <see cref="OperationCanceledException"/> from then on, the commands in flight are
    /// polled to completion (their buffers are never released early; pass the same token to them
    /// to have them aborted), and then <see cref="OperationCanceledException"/> is thrown (a body
    /// still suspended on something else is abandoned). Never hangs on a dead controller: fatal
    /// status (CSTS.CFS) throws <see cref="NvmeControllerException"/>, and 30 s with commands
    /// outstanding and none completing throws <see cref="TimeoutException"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another thread owns the pair, or a loop already runs on it.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the body completed.</exception>
    public void Run(Func<IoQueuePair, ValueTask> body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ThrowIfDisposed();
        CheckOwnerThread();
        EventLoopContext loop = _loopContext ??= new EventLoopContext(this);
        if (loop.Running)
            throw new InvalidOperationException($"I/O queue pair {Id} already runs an event loop on this thread: await inside the running body instead of calling Run again.");
        SynchronizationContext? previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(loop);
        loop.Enter();
        _loopToken = cancellationToken;   // submissions check it (Enter)
        try
        {
            ValueTask task;
            try
            {
                task = body(this);
            }
            catch (Exception e)
            {
                task = ValueTask.FromException(e);   // drain what it submitted before it threw, then rethrow
            }
            RunLoop(loop, task, cancellationToken);
            task.GetAwaiter().GetResult();
        }
        finally
        {
            _loopStopping = false;
            _loopToken = default;
            loop.Exit();
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    /// <summary>
    /// <see cref="Run"/> on a new dedicated thread (pinned to <paramref name="cpu"/> when given):
    /// hands the pair over to it (releasing the calling thread's ownership, as
    /// <see cref="Poller.Start"/> does) and releases it again when the loop ends, so the awaiting
    /// thread can drain or dispose it afterwards. The task ends as <see cref="Run"/> does
    /// (faulted with the body's exception, cancelled by the token).
    /// </summary>
    /// <exception cref="InvalidOperationException">Another live thread owns the pair.</exception>
    public Task RunAsync(Func<IoQueuePair, ValueTask> body, CancellationToken cancellationToken = default, int? cpu = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        ThrowIfDisposed();
        ReleaseThread();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            Exception? failure = null;
            try
            {
                if (cpu is int c)
                    CoreAffinity.PinCurrentThread(c);
                Run(body, cancellationToken);
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                try
                {
                    ReleaseThread();   // before the task completes: its awaiter may take the pair back at once
                }
                catch (InvalidOperationException e)
                {
                    failure ??= e;
                }
            }
            if (failure is null)
                done.SetResult();
            else if (failure is OperationCanceledException oce && cancellationToken.IsCancellationRequested)
                done.SetCanceled(oce.CancellationToken);
            else
                done.SetException(failure);
        })
        {
            IsBackground = true,
            Name = $"nvme-loop-q{Id}",
        };
        thread.Start();
        return done.Task;
    }

    private void RunLoop(EventLoopContext loop, ValueTask body, CancellationToken cancellationToken)
    {
        int idle = 0;
        long lastProgress = Stopwatch.GetTimestamp();
        while (true)
        {
            int work = loop.RunPosted();
            if (_wire.InFlight == 0 && loop.IsEmpty)
            {
                if (body.IsCompleted)
                    return;
                if (_loopStopping)
                    throw new OperationCanceledException($"The event loop of I/O queue pair {Id} was cancelled; its commands have completed.", _loopToken);
            }
            if (!_loopStopping && cancellationToken.IsCancellationRequested)
            {
                _loopToken = cancellationToken;
                _loopStopping = true;   // from now on submissions throw; what is in flight drains
                continue;
            }
            work += ProcessCompletions();
            if (work != 0)
            {
                idle = 0;
                lastProgress = Stopwatch.GetTimestamp();
                continue;
            }
            if ((++idle & 1023) != 0)
                continue;
            uint csts = ThrowIfControllerFatal();
            if (_wire.InFlight == 0)
                lastProgress = Stopwatch.GetTimestamp();   // waiting on something else, not on the device
            else if (Stopwatch.GetElapsedTime(lastProgress) > TimeSpan.FromSeconds(30))
                throw new TimeoutException($"Event loop of I/O queue pair {Id}: nothing completed within 30 s with {_wire.InFlight} commands outstanding (CSTS = 0x{csts:X8}). "
                    + "The completion may have been lost: abort the command or reset the controller.");
            if ((idle & 0xFFFF) == 0)
                Thread.Yield();
        }
    }

    /// <summary>A submit on a disposed pair, or on a pair whose event loop is stopping.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowClosed()
    {
        ThrowIfDisposed();
        throw new OperationCanceledException(
            $"The event loop of I/O queue pair {Id} is stopping (its token was cancelled): it takes no new commands and ends once the commands in flight have completed.", _loopToken);
    }
}
