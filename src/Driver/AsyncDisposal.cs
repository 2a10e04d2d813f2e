namespace PolledNvme.Driver;

// Disposal that performs admin I/O, without blocking the caller: `await using`. The admin
// queue is synchronous (one locked queue, polled by the thread that submits), so the work runs
// on a thread-pool thread while the caller's thread (an event loop, a request handler) goes on.

public sealed partial class NvmeController : IAsyncDisposable
{
    /// <summary>
    /// <see cref="Dispose"/> off the calling thread: deleting the I/O queues (admin commands), the
    /// normal shutdown (CC.SHN, then up to CAP.TO waiting for CSTS.SHST) and freeing the memory run
    /// on a thread-pool thread. The rules of <see cref="Dispose"/> hold: no thread may be using
    /// the controller's queue pairs; callbacks of commands that the disposal fails run on that
    /// thread-pool thread.
    /// </summary>
    public ValueTask DisposeAsync() => _disposed ? ValueTask.CompletedTask : new ValueTask(Task.Run(Dispose));
}

public sealed partial class IoQueuePair : IAsyncDisposable
{
    /// <summary>
    /// <see cref="Dispose"/> off the calling thread: Delete I/O SQ and CQ (admin commands; on
    /// <c>tcp:</c> closing the connection), failing what is still outstanding and freeing the
    /// rings run on a thread-pool thread. The rules of <see cref="Dispose"/> hold: no thread may
    /// be using the pair (do not poll it while this runs); callbacks and continuations of the
    /// commands it fails run on that thread-pool thread.
    /// </summary>
    public ValueTask DisposeAsync() => _disposed ? ValueTask.CompletedTask : new ValueTask(Task.Run(Dispose));
}
