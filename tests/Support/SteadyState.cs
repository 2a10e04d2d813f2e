namespace PolledNvme.Tests.Support;

/// <summary>Allocation in steady state: a warm-up run (JIT, tiering, pools), then the measured one on the same thread.</summary>
internal static class SteadyState
{
    /// <summary>Bytes the calling thread allocated during the second of two <paramref name="run"/>(<paramref name="count"/>) calls.</summary>
    public static long AllocatedBytes(Action<int> run, int count)
    {
        run(count);
        long before = GC.GetAllocatedBytesForCurrentThread();
        run(count);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
