using System.Diagnostics;
using System.Runtime;

namespace PolledNvme.Bench.Commands;

/// <summary>
/// The warm-up of <c>pnvme crc --bench</c>: every cell runs until the JIT has stopped
/// compiling. The CRC entry points (the dispatch, the span wrappers, the hybrid's length
/// split) start as tier-0 code, which costs tens of nanoseconds per call, and are promoted
/// only after the runtime's call-counting delay has passed with no new tier-0 code: 100 ms,
/// ten times that when the process may run on one CPU (<c>taskset -c 1</c>), restarted by
/// every method the warm-up itself compiles. Cells measured before the promotion ran at a
/// fraction of their speed, which is what made the 512-bit hybrid look bimodal (46 or
/// 73 GB/s at 4 KiB) between runs of the same build.
/// </summary>
internal static unsafe partial class CrcBenchTable
{
    /// <summary>Pause after each warm-up pass: longer than the runtime's call-counting delay (1 s on one CPU).</summary>
    private static TimeSpan WarmUpPause => TimeSpan.FromMilliseconds(Environment.ProcessorCount == 1 ? 1200 : 250);

    /// <summary>Passes with no method compiled before the warm-up counts as settled (one for promotion to instrumented tier 0, one for tier 1).</summary>
    private const int QuietPasses = 2;

    /// <summary>
    /// Calls of every cell per warm-up pass: each path runs at three sizes, so 48 calls per
    /// pass, over the runtime's call-count threshold (30) for each promotion, and the table
    /// paths at 1 MiB stay affordable. Multi-block cells (one size) get twice as many.
    /// </summary>
    private const int WarmUpCalls = 16;

    /// <summary>
    /// Calls every cell <see cref="WarmUpCalls"/> times, then pauses, until
    /// <see cref="QuietPasses"/> passes in a row compiled nothing, or the warm-up has taken
    /// half of <paramref name="budget"/> (at least 10 s); returns a line for the header saying
    /// which. Budgets under 5 s (smoke runs) get one pass.
    /// </summary>
    private static string WarmUp(List<Row> rows, List<Row> multi, byte* buffer, byte* blocks, TimeSpan budget)
    {
        bool settle = budget.TotalSeconds >= 5;
        double limit = Math.Max(10, budget.TotalSeconds * 0.5);
        var clock = Stopwatch.StartNew();
        long compiled = -1;
        int passes = 0, quiet = 0;
        while (quiet < QuietPasses)
        {
            foreach (Row row in rows)
            {
                s_kernel = row.Kernel;
                var run = (delegate*<byte*, int, ulong>)row.Run;
                foreach (int size in s_sizes)
                    for (int i = 0; i < WarmUpCalls; i++)
                        run(buffer, size);
            }
            foreach (Row row in multi)
                for (int i = 0; i < 2 * WarmUpCalls; i++)
                    ((delegate*<byte*, ulong>)row.Run)(blocks);
            Thread.Sleep(settle ? WarmUpPause : TimeSpan.FromMilliseconds(250));
            passes++;
            if (!settle)
                return $"Warm-up: 1 pass (a run under 5 s does not wait for the JIT to promote every path; figures may include tier-0 code).";
            long now = JitInfo.GetCompiledMethodCount();
            quiet = now == compiled ? quiet + 1 : 0;
            compiled = now;
            if (clock.Elapsed.TotalSeconds >= limit && quiet < QuietPasses)
                return $"Warm-up: the JIT was still compiling after {passes} passes ({clock.Elapsed.TotalSeconds:F1} s); "
                    + "some cells may include tier-0 code: give more --seconds.";
        }
        return $"Warm-up: {passes} passes ({clock.Elapsed.TotalSeconds:F1} s), until the JIT had promoted every path (nothing compiled in the last {QuietPasses}).";
    }
}
