namespace PolledNvme.Tests.Support;

/// <summary>
/// Allocation in steady state: a warm-up run (JIT, tiering, pools), then two measured runs on the
/// same thread, and the smaller of the two. Code that first runs during a measured run allocates
/// once, in that run only (its stubs and statics): on a busy machine a wait can first reach the
/// slow-poll branch there. A per-I/O allocation shows in both runs.
/// </summary>
internal static class SteadyState
{
    /// <summary>Bytes the calling thread allocated in the quieter of two measured <paramref name="run"/>(<paramref name="count"/>) calls after a warm-up call.</summary>
    public static long AllocatedBytes(Action<int> run, int count)
    {
        run(count);
        long first = Measure(run, count);
        return first == 0 ? 0 : Math.Min(first, Measure(run, count));
    }

    private static long Measure(Action<int> run, int count)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        run(count);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
