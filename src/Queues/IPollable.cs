namespace PolledNvme.Queues;

/// <summary>Something a poller drives: reaps completions on the calling thread.</summary>
public interface IPollable
{
    /// <summary>Reaps up to <paramref name="max"/> completions; returns how many.</summary>
    int ProcessCompletions(int max = int.MaxValue);
}
