namespace PolledNvme.Queues;

/// <summary>
/// Something a poller drives: reaps completions on the calling thread. A pollable may belong
/// to one thread (an I/O queue pair has no locks); <see cref="Poller"/> hands its pollables
/// over to its thread when it starts and gives them up when its loop ends.
/// </summary>
public interface IPollable
{
    /// <summary>Reaps up to <paramref name="max"/> completions; returns how many.</summary>
    int ProcessCompletions(int max = int.MaxValue);

    /// <summary>
    /// Makes the calling thread the owner (for pollables that have one; the default does
    /// nothing). Throws <see cref="InvalidOperationException"/> while another live thread owns it.
    /// </summary>
    void BindToCurrentThread()
    {
    }

    /// <summary>
    /// Gives up the calling thread's ownership so the next thread that uses the pollable owns
    /// it (the default does nothing). Throws <see cref="InvalidOperationException"/> when
    /// another live thread owns it.
    /// </summary>
    void ReleaseThread()
    {
    }
}
