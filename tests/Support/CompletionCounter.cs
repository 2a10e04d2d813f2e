using PolledNvme.Driver;

namespace PolledNvme.Tests.Support;

/// <summary>Counts callback completions: pass the counter as the state of <see cref="Callback"/>.</summary>
internal sealed class CompletionCounter
{
    public int Completed;
    public int Failed;

    /// <summary>A static callback (no allocation per I/O) that counts into its <see cref="CompletionCounter"/> state.</summary>
    public static readonly IoCompletionCallback Callback = static (state, in result) =>
    {
        var c = (CompletionCounter)state!;
        c.Completed++;
        if (!result.IsSuccess)
            c.Failed++;
    };

    /// <summary>
    /// Submits <paramref name="count"/> commands with <paramref name="submit"/>(i) as slots free,
    /// polling between bursts, then drains: the steady-state loop of the allocation tests.
    /// </summary>
    public static void RunCallbackLoop(IoQueuePair qp, int count, Action<int> submit)
    {
        int submitted = 0;
        while (submitted < count)
        {
            while (submitted < count && qp.AvailableSlots > 0)
                submit(submitted++);
            qp.ProcessCompletions();
        }
        qp.Drain();
    }
}
