using System.Diagnostics;
using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Emulation;
using PolledNvme.Examples.WriteAheadLog;
using PolledNvme.Examples.WriteAheadLog.Host;
using PolledNvme.Tests.Bench;
using PolledNvme.Tests.Driver;

namespace PolledNvme.Tests.Examples;

/// <summary>The write-ahead log example: group commit, recovery after SIGKILL, corruption reported.</summary>
public class WriteAheadLogTests
{
    private const string MemAddress = "mem:lbads=4096,ms=8,pi=1,size=4M";

    [Test]
    public void ManyAppendersShareGroupCommits()
    {
        using var controller = NvmeController.Open(MemAddress);
        const int Appenders = 16, PerAppender = 40;
        long writes;
        using (var log = WriteAheadLog.Open(controller, controller.Namespaces[0]))
        {
            Task[] tasks = new Task[Appenders];
            for (int a = 0; a < Appenders; a++)
            {
                int first = a * PerAppender;
                tasks[a] = Task.Run(async () =>
                {
                    for (int id = first; id < first + PerAppender; id++)
                        await log.AppendAsync(RecordPattern.TypeOf(id), RecordPattern.PayloadOf(id));
                });
            }
            Assert.That(Task.WaitAll(tasks, TimeSpan.FromSeconds(60)), Is.True, "appenders did not finish");
            Assert.That(log.CommittedRecords, Is.EqualTo(Appenders * PerAppender));
            writes = log.WriteCommands;
            TestContext.Out.WriteLine($"{Appenders * PerAppender} records in {writes} write+flush groups");
            // How many records share a group depends on scheduling; with 16 appenders waiting at once some always do.
            Assert.That(writes, Is.LessThan(Appenders * PerAppender), "group commit should put several records in one write");
        }
        using var reopened = WriteAheadLog.Open(controller, controller.Namespaces[0]);
        long[] ids = reopened.Recovery.Records.Select(RecordPattern.IdOf).Order().ToArray();
        Assert.That(ids, Is.EqualTo(Enumerable.Range(0, Appenders * PerAppender).Select(i => (long)i).ToArray()));
    }

    [Test]
    public void BurstOfAppendsIsPackedIntoFullBlocks()
    {
        // 8 threads hand over 100 records each without waiting: the committer packs what is
        // pending, up to MaxGroupBlocks blocks per write, so writes are far fewer than records.
        using var controller = NvmeController.Open(MemAddress);
        using var log = WriteAheadLog.Open(controller, controller.Namespaces[0]);
        var tasks = new Task<WalPosition>[800];
        Parallel.For(0, 8, t =>
        {
            for (int i = t * 100; i < t * 100 + 100; i++)
                tasks[i] = log.AppendAsync(RecordPattern.TypeOf(i), RecordPattern.PayloadOf(i));
        });
        Assert.That(Task.WaitAll(tasks, TimeSpan.FromSeconds(60)), Is.True);
        TestContext.Out.WriteLine($"800 records in {log.WriteCommands} write+flush groups");
        Assert.That(log.WriteCommands, Is.LessThan(800 / 4));
        WalPosition[] positions = tasks.Select(t => t.Result).ToArray();
        Assert.That(positions, Is.Unique);
    }

    [Test]
    public void RecoveryReturnsRecordsInOrderAndAppendsAfterThem()
    {
        using var controller = NvmeController.Open(MemAddress);
        using (var log = WriteAheadLog.Open(controller, controller.Namespaces[0]))
        {
            Assert.That(log.Recovery.Records, Is.Empty);
            Assert.That(log.Recovery.EndLba, Is.Zero);
            for (int id = 0; id < 30; id++)
                Assert.That(log.AppendAsync(RecordPattern.TypeOf(id), RecordPattern.PayloadOf(id)).Wait(TimeSpan.FromSeconds(10)), Is.True);
        }
        using (var log = WriteAheadLog.Open(controller, controller.Namespaces[0]))
        {
            Assert.That(log.Recovery.Records.Select(RecordPattern.IdOf), Is.EqualTo(Enumerable.Range(0, 30).Select(i => (long)i)));
            Assert.That(log.Recovery.LastEpoch, Is.EqualTo(1u));
            log.AppendAsync(9, [1, 2, 3]).Wait(TimeSpan.FromSeconds(10));
        }
        using var third = WriteAheadLog.Open(controller, controller.Namespaces[0]);
        Assert.That(third.Recovery.Records, Has.Count.EqualTo(31));
        Assert.That(third.Recovery.Records[^1].Payload, Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(third.Recovery.LastEpoch, Is.EqualTo(2u));
    }

    [TestCase(CorruptionTarget.Data)]
    [TestCase(CorruptionTarget.Guard)]
    [TestCase(CorruptionTarget.ApplicationTag)]
    [TestCase(CorruptionTarget.ReferenceTag)]
    public void CorruptedBlockInTheMiddleIsReportedWithItsLba(CorruptionTarget target)
    {
        using var setup = EmulatedSetup.Open(MemAddress);
        AppendGroups(setup.Controller, groups: 4, recordsPerGroup: 20);
        setup.Device.Faults.CorruptBlock(1, lba: 1, target);
        var e = Assert.Throws<WalCorruptionException>(() => WriteAheadLog.Open(setup.Controller, setup.Ns))!;
        Assert.That(e.Lba, Is.EqualTo(1UL));
        Assert.That(e.Message, Does.Contain("LBA 1"));
    }

    [Test]
    public void CorruptedFirstBlockOfAMultiBlockGroupIsReported()
    {
        using var setup = EmulatedSetup.Open(MemAddress);
        using (var log = WriteAheadLog.Open(setup.Controller, setup.Ns))
        {
            // One group of 3 blocks (records of ~1.3 KiB, 3 per block), then a one-record group.
            Task[] group = Enumerable.Range(0, 9).Select(i => (Task)log.AppendAsync(1, new byte[1300])).ToArray();
            Assert.That(Task.WaitAll(group, TimeSpan.FromSeconds(10)), Is.True);
            log.AppendAsync(2, [7]).Wait(TimeSpan.FromSeconds(10));
        }
        using (var log = WriteAheadLog.Open(setup.Controller, setup.Ns))
            Assert.That(log.Recovery.EndLba, Is.GreaterThanOrEqualTo(4UL));
        setup.Device.Faults.CorruptBlock(1, lba: 0, CorruptionTarget.Data);
        var e = Assert.Throws<WalCorruptionException>(() => WriteAheadLog.Open(setup.Controller, setup.Ns))!;
        Assert.That(e.Lba, Is.Zero);
    }

    [Test]
    public void DamagedLastBlockEndsTheLogLikeATornWrite()
    {
        // The last group cannot be told apart from a torn, never-acknowledged write: it ends the log.
        using var setup = EmulatedSetup.Open(MemAddress);
        ulong end = AppendGroups(setup.Controller, groups: 3, recordsPerGroup: 1);
        setup.Device.Faults.CorruptBlock(1, lba: (long)end - 1, CorruptionTarget.Guard);
        using var log = WriteAheadLog.Open(setup.Controller, setup.Ns);
        Assert.That(log.Recovery.EndLba, Is.EqualTo(end - 1));
        Assert.That(log.Recovery.EndReason, Does.Contain("EndToEndGuardCheckError"));
        Assert.That(log.Recovery.Records, Has.Count.EqualTo(2));
    }

    [Test]
    public void DeallocatedTailIsNotReturnedAsData()
    {
        // Deallocated blocks read back with all-FF PI, which disables the checks: the magic ends the log.
        using var setup = EmulatedSetup.Open(MemAddress);
        ulong end = AppendGroups(setup.Controller, groups: 3, recordsPerGroup: 1);
        using (var qp = setup.Controller.CreateIoQueuePair(8))
            qp.Wait(qp.DeallocateAsync(setup.Ns, end - 1, 1));
        using var log = WriteAheadLog.Open(setup.Controller, setup.Ns);
        Assert.That(log.Recovery.EndLba, Is.EqualTo(end - 1));
        Assert.That(log.Recovery.Records, Has.Count.EqualTo(2));
    }

    [Test]
    public void BadInputIsRefusedWithSpecificMessages()
    {
        using var controller = NvmeController.Open(MemAddress);
        using (var log = WriteAheadLog.Open(controller, controller.Namespaces[0]))
        {
            var e = Assert.Throws<ArgumentException>(() => log.AppendAsync(1, new byte[log.MaxPayload + 1]))!;
            Assert.That(e.Message, Does.Contain("at most 4064 bytes"));
        }
        Assert.That(() => WriteAheadLog.Open(controller, controller.Namespaces[0], new WriteAheadLogOptions { MaxGroupBlocks = 0 }),
            Throws.ArgumentException.With.Message.Contains("MaxGroupBlocks must be 1..256"));
        using var noPi = NvmeController.Open("mem:lbads=4096,ms=8,pi=0,size=1M");
        Assert.That(() => WriteAheadLog.Open(noPi, noPi.Namespaces[0]), Throws.ArgumentException.With.Message.Contains("PI Type 1"));
        using var wideMetadata = NvmeController.Open("mem:lbads=4096,ms=16,pi=1,size=1M");
        Assert.That(() => WriteAheadLog.Open(wideMetadata, wideMetadata.Namespaces[0]), Throws.ArgumentException.With.Message.Contains("metadata of exactly the PI tuple"));
    }

    [Test]
    public void FullNamespaceFailsTheGroupAndEveryLaterAppend()
    {
        using var controller = NvmeController.Open("mem:lbads=4096,ms=8,pi=1,size=16K"); // 4 blocks
        using var log = WriteAheadLog.Open(controller, controller.Namespaces[0], new WriteAheadLogOptions { MaxGroupBlocks = 1 });
        for (int block = 0; block < 4; block++)
            Assert.That(log.AppendAsync(1, new byte[4000]).Wait(TimeSpan.FromSeconds(10)), Is.True);
        var full = Assert.Throws<AggregateException>(() => log.AppendAsync(1, new byte[10]).Wait(TimeSpan.FromSeconds(10)))!;
        Assert.That(full.InnerException, Is.TypeOf<WalFullException>().With.Message.Contains("at LBA 4 do not fit"));
        Assert.That(log.AppendAsync(1, [1]).Exception?.InnerException, Is.TypeOf<WalFullException>());
    }

    [Test]
    public void AppendAfterDisposeIsRefused()
    {
        using var controller = NvmeController.Open(MemAddress);
        var log = WriteAheadLog.Open(controller, controller.Namespaces[0]);
        Task<WalPosition> last = log.AppendAsync(1, [42]);
        log.Dispose();
        Assert.That(last.IsCompletedSuccessfully, Is.True, "Dispose commits what is pending");
        Assert.Throws<ObjectDisposedException>(() => log.AppendAsync(1, [43]));
    }

    [TestCase(new[] { "frobnicate" }, 2, "usage: WalHost")]
    [TestCase(new[] { "append", "mem:lbads=4096,ms=8,pi=1,size=1M", "zero" }, 1, "argument 2 must be a positive integer; got 'zero'")]
    [TestCase(new[] { "recover", "mem:lbads=4096,ms=8,pi=0,size=1M" }, 1, "needs a PI Type 1 namespace")]
    public void HostRefusesBadArgumentsWithAMessage(string[] args, int exitCode, string message)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.That(WalHostCommands.Run(args, output, error), Is.EqualTo(exitCode));
        Assert.That(error.ToString(), Does.Contain(message));
    }

    [Test]
    public void HostRecoverPrintsWhatItFound()
    {
        var output = new StringWriter();
        Assert.That(WalHostCommands.Run(["recover", "mem:lbads=4096,ms=8,pi=1,size=1M"], output, TextWriter.Null), Is.Zero);
        Assert.That(output.ToString(), Does.StartWith("0 records in 0 blocks, epoch 0; end: no log block magic"));
    }

    [Test]
    public void KilledAppenderLosesNoAcknowledgedRecordAndReturnsNoTornOne()
    {
        using var files = new TempFiles();
        string image = CliRunner.TempImage(files);
        string address = $"emu:{image},lbads=4096,ms=8,pi=1,size=16M,direct=1";
        var acknowledged = new HashSet<long>();
        for (int round = 0; round < 2; round++)
        {
            int acks = RunAppenderAndKill(address, acknowledged);
            using var controller = NvmeController.Open(address);
            using var log = WriteAheadLog.Open(controller, controller.Namespaces[0]);
            WalRecoveryResult recovery = log.Recovery;
            long[] ids = recovery.Records.Select(RecordPattern.IdOf).ToArray();
            Assert.That(ids, Does.Not.Contain(-1L), "a recovered record does not match what was appended (torn)");
            Assert.That(ids, Is.Unique);
            lock (acknowledged)
            {
                long[] lost = acknowledged.Where(id => !ids.Contains(id)).ToArray();
                Assert.That(lost, Is.Empty, "acknowledged records missing after recovery");
                TestContext.Out.WriteLine($"round {round}: {acks} acknowledged this run, {acknowledged.Count} in total; recovered {ids.Length} " +
                    $"({ids.Length - acknowledged.Count} written but not yet acknowledged when killed); end at LBA {recovery.EndLba}: {recovery.EndReason}");
            }
        }
    }

    /// <summary>Starts WalHost appending to <paramref name="address"/>, kills it (SIGKILL) after it has acknowledged some records.</summary>
    private static int RunAppenderAndKill(string address, HashSet<long> acknowledged)
    {
        string host = Path.Combine(AppContext.BaseDirectory, "WalHost.dll");
        string dotnet = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in (string[])[host, "append", address, "4"])
            start.ArgumentList.Add(arg);
        using var child = Process.Start(start)!;
        int acks = 0;
        var enough = new TaskCompletionSource();
        child.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.StartsWith("ack ", StringComparison.Ordinal))
            {
                lock (acknowledged)
                    acknowledged.Add(long.Parse(line.AsSpan(4)));
                if (Interlocked.Increment(ref acks) == 300)
                    enough.TrySetResult();
            }
        };
        var errors = new System.Text.StringBuilder();
        child.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (errors) errors.AppendLine(e.Data); };
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        try
        {
            bool started = enough.Task.Wait(TimeSpan.FromSeconds(60));
            Assert.That(started && !child.HasExited, Is.True, $"WalHost did not acknowledge 300 records: exit={(child.HasExited ? child.ExitCode : -1)} {errors}");
            Thread.Sleep(100);
        }
        finally
        {
            if (!child.HasExited)
                child.Kill(); // SIGKILL: mid-write, mid-flush, no cleanup
            child.WaitForExit();
        }
        return Volatile.Read(ref acks);
    }

    /// <summary>Appends <paramref name="groups"/> groups one after another; returns the end LBA of the log.</summary>
    private static ulong AppendGroups(NvmeController controller, int groups, int recordsPerGroup)
    {
        using (var log = WriteAheadLog.Open(controller, controller.Namespaces[0]))
        {
            int id = 0;
            for (int g = 0; g < groups; g++)
            {
                var group = new List<Task<WalPosition>>();
                for (int r = 0; r < recordsPerGroup; r++, id++)
                    group.Add(log.AppendAsync(RecordPattern.TypeOf(id), RecordPattern.PayloadOf(id)));
                Assert.That(Task.WaitAll([.. group], TimeSpan.FromSeconds(10)), Is.True);
            }
        }
        using var qp = controller.CreateIoQueuePair(8);
        return WalRecovery.Scan(qp, controller.Namespaces[0], lookaheadBlocks: 16).EndLba;
    }
}
