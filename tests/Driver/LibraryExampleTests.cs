using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Protection;
using PolledNvme.Queues;
using PolledNvme.Tests.Scripts;

namespace PolledNvme.Tests.Driver;

/// <summary>Code blocks of docs/LIBRARY.md, kept compiling and true (the text between the markers is the block as printed).</summary>
public class LibraryExampleTests
{
    private sealed class Counter { public int Completed, Failed; }

    [Test]
    public void BackPressureAndLargeTransfersExampleRuns()
    {
        IoCompletionCallback done = static (state, in result) =>
        {
            var c = (Counter)state!;
            c.Completed++;
            if (!result.IsSuccess) c.Failed++;
        };
        var output = new StringWriter();
        TextWriter console = Console.Out;
        Console.SetOut(output);
        try
        {
            // --- docs/LIBRARY.md, "Back-pressure and large transfers" ---
            using var controller = NvmeController.Open("mem:lbads=4096,ms=8,pi=1,size=64M,mdts=2,noiob=8");
            Namespace ns = controller.Namespaces[0];          // MDTS 16 KiB: 4 blocks per command
            using IoQueuePair qp = controller.CreateIoQueuePair(new IoQueuePairOptions
            {
                Entries = 16,
                SoftwareQueueDepth = 64,
                SplitLargeTransfers = true,
            });
            using DmaBuffer buffer = controller.Memory.Allocate(64 * ns.BlockSize);
            var pi = IoProtectionOptions.ControllerInserts(PiChecks.Guard | PiChecks.ReferenceTag);

            // 256 KiB in one call: 16 commands of 4 blocks, reference tags continued, one completion.
            qp.Wait(qp.WriteAsync(ns, slba: 0, blocks: 64, buffer, null, pi));

            // Back-pressure without exceptions: false only when the slots and the software queue are full.
            var counter = new Counter();
            for (int i = 0; i < 100;)
            {
                if (qp.TryRead(ns, slba: (ulong)(i % 8) * 64, blocks: 64, buffer, null, pi, done, counter))
                    i++;
                else
                    qp.ProcessCompletions();
            }
            qp.Drain();
            Console.WriteLine($"{counter.Completed} reads, {counter.Failed} failed, {qp.QueueFullEvents} refusals");
            // --- end ---
            Assert.That((counter.Completed, counter.Failed), Is.EqualTo((100, 0)));
            Assert.That(qp.QueuedCommands, Is.Zero);
        }
        finally
        {
            Console.SetOut(console);
        }
        Assert.That(output.ToString(), Does.StartWith("100 reads, 0 failed, "));
    }

    [Test]
    public void TheDocumentedBlockIsTheTestedOne()
    {
        string doc = File.ReadAllText(Path.Combine(ScriptRunner.RepoRoot, "docs", "LIBRARY.md"));
        string test = File.ReadAllText(Path.Combine(ScriptRunner.RepoRoot, "tests", "Driver", "LibraryExampleTests.cs"));
        int start = test.IndexOf("\"Back-pressure and large transfers\" ---", StringComparison.Ordinal);
        start = test.IndexOf('\n', start) + 1;
        int end = test.IndexOf("// --- end ---", start, StringComparison.Ordinal);
        string[] lines = test[start..end].Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        string[] docLines = doc.Split('\n').Select(l => l.Trim()).ToArray();
        int at = Array.IndexOf(docLines, lines[0]);
        Assert.That(at, Is.GreaterThanOrEqualTo(0), "the block's first line is in LIBRARY.md");
        string[] block = docLines.Skip(at).Where(l => l.Length > 0).Take(lines.Length).ToArray();
        Assert.That(block, Is.EqualTo(lines), "LIBRARY.md shows the code this test runs");
    }
}
