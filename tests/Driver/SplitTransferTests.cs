using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;
using PolledNvme.Protection;
using PolledNvme.Queues;
using PolledNvme.Tests.Support;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// IoQueuePairOptions.SplitLargeTransfers: transfers beyond MDTS, across NOIOB or over 65536
/// blocks go out as several commands with one completion; the emulated controller checks the PI
/// of every part, so a part with a wrong reference tag, offset or length fails.
/// </summary>
[TestFixture]
public class SplitTransferTests
{
    private static readonly IoQueuePairOptions Split = new() { SplitLargeTransfers = true };

    private static IEnumerable<TestCaseData> PiFormats()
    {
        foreach (int pi in new[] { 1, 2, 3 })
            foreach (int pif in new[] { 0, 1, 2 })
                foreach (bool extended in new[] { false, true })
                    yield return new TestCaseData(pi, pif, extended).SetName($"SplitAndUnsplitAgree_Type{pi}_{16 << pif}bGuard_{(extended ? "Extended" : "Separate")}");
    }

    /// <summary>
    /// Written split (MDTS 16 KiB, NOIOB 6) and read back by a controller that takes it in one
    /// command (MDTS 512 KiB) on the same image, and the other way round: the same bytes, and the
    /// device accepted every part's PI with guard, application and (types 1/2) reference tag checks.
    /// </summary>
    [TestCaseSource(nameof(PiFormats))]
    public void SplitAndUnsplitTransfersAgree(int piType, int pif, bool extended)
    {
        string path = Path.Combine(Path.GetTempPath(), $"pnvme-split-{Guid.NewGuid():N}.img");
        string format = $"lbads=4096,ms={(pif == 0 ? 8 : 16)},mset={(extended ? 1 : 0)},pi={piType},pif={pif}{(pif == 1 ? ",sts=16" : "")},size=1M";
        const int Blocks = 11;
        const ulong SplitLba = 5, PlainLba = 40;
        byte[] hostSplit = Pattern(Blocks * 4096, 3), hostPlain = Pattern(Blocks * 4096, 7);
        try
        {
            byte[] storedSplit, storedPlain;
            using (var setup = EmulatedSetup.Open($"emu:{path},{format},mdts=2,noiob=6"))
            using (IoQueuePair qp = setup.Controller.CreateIoQueuePair(Split))
            {
                Namespace ns = setup.Ns;
                Assert.That(qp.MaxTransferBytes, Is.EqualTo(16384));
                Assert.That(ns.OptimalIoBoundary, Is.EqualTo(6));
                var pi = Options(ns, piType, SplitLba);
                using var io = new Buffers(setup.Controller, ns, Blocks);
                HostProtection.GenerateInto(ns, in pi, SplitLba, hostSplit, io.Data, io.Metadata, Blocks);
                storedSplit = io.Bytes();
                qp.Wait(qp.WriteAsync(ns, SplitLba, Blocks, io.Data, io.Metadata, in pi));
            }
            using (var setup = EmulatedSetup.Open($"emu:{path},{format}"))
            using (IoQueuePair qp = setup.Controller.CreateIoQueuePair())
            {
                Namespace ns = setup.Ns;
                Assert.That(ns.DataBytes(Blocks, false), Is.LessThanOrEqualTo(qp.MaxTransferBytes), "one command here");
                var pi = Options(ns, piType, SplitLba);
                using var io = new Buffers(setup.Controller, ns, Blocks);
                qp.Wait(qp.ReadAsync(ns, SplitLba, Blocks, io.Data, io.Metadata, in pi));
                Assert.That(io.Bytes(), Is.EqualTo(storedSplit), "written split, read in one command");
                var back = new byte[hostSplit.Length];
                HostProtection.VerifyFrom(ns, in pi, SplitLba, io.Data, io.Metadata, back, Blocks);
                Assert.That(back, Is.EqualTo(hostSplit));

                var plainPi = Options(ns, piType, PlainLba);
                HostProtection.GenerateInto(ns, in plainPi, PlainLba, hostPlain, io.Data, io.Metadata, Blocks);
                storedPlain = io.Bytes();
                qp.Wait(qp.WriteAsync(ns, PlainLba, Blocks, io.Data, io.Metadata, in plainPi));
            }
            using (var setup = EmulatedSetup.Open($"emu:{path},{format},mdts=2,noiob=6"))
            using (IoQueuePair qp = setup.Controller.CreateIoQueuePair(Split))
            {
                Namespace ns = setup.Ns;
                var pi = Options(ns, piType, PlainLba);
                using var io = new Buffers(setup.Controller, ns, Blocks);
                qp.Wait(qp.ReadAsync(ns, PlainLba, Blocks, io.Data, io.Metadata, in pi));
                Assert.That(io.Bytes(), Is.EqualTo(storedPlain), "written in one command, read split");
                var back = new byte[hostPlain.Length];
                HostProtection.VerifyFrom(ns, in pi, PlainLba, io.Data, io.Metadata, back, Blocks);
                Assert.That(back, Is.EqualTo(hostPlain));
                // Verify is not bounded by MDTS: one command, checked by the device.
                qp.Wait(qp.VerifyAsync(ns, SplitLba, Blocks, Options(ns, piType, SplitLba)));
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// The device checks each part's reference tag: PI generated as if every part restarted at the
    /// command's initial tag (what a split that does not continue the tag would send) fails on
    /// the second part, and the failure names that part's blocks.
    /// </summary>
    [TestCase(1)]
    [TestCase(2)]
    public void APartWhoseReferenceTagDoesNotContinueFails(int piType)
    {
        using var setup = EmulatedSetup.Open($"mem:lbads=4096,ms=8,pi={piType},size=1M,mdts=1");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(Split);
        const ulong Slba = 10;
        var pi = new IoProtectionOptions { Checks = PiChecks.Guard | PiChecks.ReferenceTag, ReferenceTag = Slba };
        using var io = new Buffers(setup.Controller, ns, 6);
        byte[] host = Pattern(6 * 4096, 1);
        for (int part = 0; part < 3; part++)   // MDTS 8 KiB: parts of 2 blocks, each generated from the initial tag
        {
            using DmaBuffer data = io.Data.Slice(part * 2 * 4096, 2 * 4096);
            using DmaBuffer metadata = io.Metadata!.Slice(part * 2 * 8, 2 * 8);
            HostProtection.GenerateInto(ns, in pi, Slba, host.AsSpan(part * 2 * 4096, 2 * 4096), data, metadata, 2);
        }
        var e = Assert.Throws<NvmeException>(() => qp.Wait(qp.WriteAsync(ns, Slba, 6, io.Data, io.Metadata, in pi)))!;
        Assert.That(e.Status.Value & 0x7FF, Is.EqualTo(0x284), "Reference Tag Check Error: " + e.Message);
        Assert.That((e.StartLba, e.BlockCount), Is.EqualTo((Slba + 2, 2)), "the second part, the lowest failing LBA");
        Assert.That(e.Detail, Does.Contain("split into commands of at most 2 blocks").And.Contain("3 went out"));
    }

    [Test]
    public void AnErrorInTheMiddlePartCompletesTheCommandOnceWithThatPartsLba()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,ms=8,pi=1,size=1M,mdts=1");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(Split);
        using DmaBuffer data = setup.Controller.Memory.Allocate(8 * 4096);
        var pract = IoProtectionOptions.ControllerInserts(PiChecks.Guard | PiChecks.ReferenceTag);
        Pattern(8 * 4096, 5).CopyTo(data.Span);
        qp.Wait(qp.WriteAsync(ns, 16, 8, data, null, in pract));
        setup.Device.Faults.CorruptBlock(ns.Id, 16 + 5, CorruptionTarget.Guard);   // in the third part, [20, 22)
        setup.Device.Faults.CorruptBlock(ns.Id, 16 + 7, CorruptionTarget.Guard);   // and in the fourth

        var seen = new List<(NvmeStatus Status, ulong Lba, int Blocks, int InFlight, string? Detail)>();
        var state = (qp, seen);
        qp.Read(ns, 16, 8, data, null, in pract, static (object? s, in IoResult r) =>
        {
            var (pair, list) = ((IoQueuePair, List<(NvmeStatus, ulong, int, int, string?)>))s!;
            list.Add((r.Status, r.StartLba, r.BlockCount, pair.InFlight, r.Detail));
        }, state);
        Assert.That(qp.InFlight, Is.EqualTo(4), "four parts of 2 blocks on the wire");
        qp.Drain();
        Assert.That(seen, Has.Count.EqualTo(1), "one completion for the command");
        var (status, lba, blocks, inFlight, detail) = seen[0];
        Assert.That(status.Value & 0x7FF, Is.EqualTo(0x282), "End-to-end Guard Check Error");
        Assert.That((lba, blocks), Is.EqualTo((20UL, 2)), "the failed part with the lowest LBA");
        Assert.That(inFlight, Is.Zero, "completed after its last part");
        Assert.That(detail, Does.Contain("LBAs 20..21"));
        Assert.That(data.Leases, Is.Zero, "the leases end with the command");

        // Awaited: the same rule through NvmeException.
        var e = Assert.Throws<NvmeException>(() => qp.Wait(qp.ReadAsync(ns, 16, 8, data, null, in pract)))!;
        Assert.That((e.StartLba, e.BlockCount), Is.EqualTo((20UL, 2)));
        // The parts before the failure carried good data.
        Assert.That(data.Span[..(4 * 4096)].ToArray(), Is.EqualTo(Pattern(8 * 4096, 5)[..(4 * 4096)]));
    }

    [Test]
    public void PartsEndAtTheOptimalIoBoundary()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,ms=8,pi=1,size=1M,noiob=8", o => o.Mode = EmulatedControllerMode.Inline);
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(Split);
        using DmaBuffer data = setup.Controller.Memory.Allocate(20 * 512);
        var pract = IoProtectionOptions.ControllerInserts(PiChecks.Guard | PiChecks.ReferenceTag);
        var counter = new CompletionCounter();
        qp.Write(ns, 6, 20, data, null, in pract, CompletionCounter.Callback, counter);
        Assert.That(qp.InFlight, Is.EqualTo(4), "[6,8) [8,16) [16,24) [24,26)");
        qp.Drain();
        Assert.That((counter.Completed, counter.Failed), Is.EqualTo((1, 0)));

        setup.Device.Faults.CorruptBlock(ns.Id, 10, CorruptionTarget.Guard);
        var e = Assert.Throws<NvmeException>(() => qp.Wait(qp.ReadAsync(ns, 6, 20, data, null, in pract)))!;
        Assert.That((e.StartLba, e.BlockCount), Is.EqualTo((8UL, 8)), "the part from boundary 8 to boundary 16");

        // Without the option NOIOB is only a hint: one command.
        using IoQueuePair plain = setup.Controller.CreateIoQueuePair();
        plain.Write(ns, 30, 20, data, null, in pract, CompletionCounter.Callback, counter);
        Assert.That(plain.InFlight, Is.EqualTo(1));
        plain.Drain();
    }

    [Test]
    public void VerifyAndWriteZeroesBeyond65536BlocksAreSplitAtNlb()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=40M", o => o.Mode = EmulatedControllerMode.Inline);
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(Split);
        using IoQueuePair plain = setup.Controller.CreateIoQueuePair();
        using DmaBuffer block = setup.Controller.Memory.Allocate(512);
        block.Span.Fill(0xEE);
        qp.Wait(qp.WriteAsync(ns, 70_000, 1, block));
        var counter = new CompletionCounter();
        qp.WriteZeroes(ns, 0, 70_001, default, false, CompletionCounter.Callback, counter);
        Assert.That(qp.InFlight, Is.EqualTo(2), "65536 + 4465 blocks");
        qp.Drain();
        qp.Wait(qp.ReadAsync(ns, 70_000, 1, block));
        Assert.That(block.Span.IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "the second part zeroed the last block");
        qp.Wait(qp.VerifyAsync(ns, 0, 70_001));
        Assert.That((counter.Completed, counter.Failed), Is.EqualTo((1, 0)));

        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => plain.WriteZeroes(ns, 0, 70_001, default, false, CompletionCounter.Callback, counter))!.Message,
            Does.Contain("SplitLargeTransfers"));
    }

    [Test]
    public void WithoutTheOptionATransferBeyondMdtsIsStillRefused()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,size=1M,mdts=1");
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(new IoQueuePairOptions { SoftwareQueueDepth = 4 });
        using DmaBuffer data = setup.Controller.Memory.Allocate(3 * 4096);
        var e = Assert.Throws<ArgumentException>(() => qp.ReadAsync(setup.Ns, 0, 3, data))!;
        Assert.That(e.ParamName, Is.EqualTo("blocks"));
        Assert.That(e.Message, Does.Contain("MDTS").And.Contain("SplitLargeTransfers"));
        Assert.That(data.Leases, Is.Zero);
    }

    [Test]
    public void WithoutSlotsForEveryPartNothingIsSubmitted()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,ms=8,pi=1,size=1M,mdts=1", o => o.Mode = EmulatedControllerMode.Inline);
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(Split with { Entries = 4 });   // depth 3
        using DmaBuffer small = setup.Controller.Memory.Allocate(4096);
        using DmaBuffer big = setup.Controller.Memory.Allocate(4 * 4096);
        var pract = IoProtectionOptions.ControllerInserts();
        var counter = new CompletionCounter();
        qp.Write(ns, 0, 1, small, null, in pract, CompletionCounter.Callback, counter);
        qp.Write(ns, 1, 1, small, null, in pract, CompletionCounter.Callback, counter);
        Assert.That(qp.AvailableSlots, Is.EqualTo(1));

        Assert.That(qp.TryWrite(ns, 8, 4, big, null, in pract, CompletionCounter.Callback, counter), Is.False, "two parts, one slot");
        Assert.Throws<QueueFullException>(() => qp.Write(ns, 8, 4, big, null, in pract, CompletionCounter.Callback, counter));
        Assert.Throws<QueueFullException>(() => qp.WriteAsync(ns, 8, 4, big, null, in pract));
        Assert.That(qp.InFlight, Is.EqualTo(2), "no part went out");
        Assert.That(big.Leases, Is.Zero);
        Assert.That(qp.QueueFullEvents, Is.EqualTo(3));

        // More parts than the queue pair holds can never go out at once: a clear error, not QueueFull forever.
        using DmaBuffer huge = setup.Controller.Memory.Allocate(8 * 4096);
        var e = Assert.Throws<ArgumentException>(() => qp.TryWrite(ns, 8, 8, huge, null, in pract, CompletionCounter.Callback, counter))!;
        Assert.That(e.Message, Does.Contain("needs 4 commands").And.Contain("SoftwareQueueDepth"));

        qp.Drain();
        Assert.That(qp.TryWrite(ns, 8, 4, big, null, in pract, CompletionCounter.Callback, counter), Is.True);
        Assert.That(qp.InFlight, Is.EqualTo(2));
        qp.Drain();
        Assert.That((counter.Completed, counter.Failed), Is.EqualTo((3, 0)));
    }

    [Test]
    public void ReferenceTagsContinueAcrossPartsAndWrapAtTheirWidth()
    {
        // Type 2, 16b guard: a 32-bit reference tag starting 3 below its wrap, split into parts of
        // 2 blocks: the third part's tags are FFFFFFFF, 0 (the device checks each block).
        using var setup = EmulatedSetup.Open("mem:lbads=4096,ms=8,pi=2,size=1M,mdts=1");
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(Split);
        var pi = new IoProtectionOptions { Pract = true, Checks = PiChecks.Guard | PiChecks.ReferenceTag, ReferenceTag = 0xFFFF_FFFD };
        using DmaBuffer data = setup.Controller.Memory.Allocate(6 * 4096);
        qp.Wait(qp.WriteAsync(ns, 3, 6, data, null, in pi));
        qp.Wait(qp.ReadAsync(ns, 3, 6, data, null, in pi));
        // Read back unstripped and check the stored tags on the host.
        using DmaBuffer raw = setup.Controller.Memory.Allocate(6 * 4096);
        using DmaBuffer meta = setup.Controller.Memory.Allocate(6 * 8);
        qp.Wait(qp.ReadAsync(ns, 3, 6, raw, meta));
        for (int i = 0; i < 6; i++)
            Assert.That(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(meta.Span.Slice(i * 8 + 4, 4)), Is.EqualTo(unchecked(0xFFFF_FFFDu + (uint)i)), $"block {i}");
    }

    [Test]
    public void SplitIoAllocatesNothingPerCommand()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=4096,ms=8,pi=1,size=1M,mdts=1", o => o.Mode = EmulatedControllerMode.Inline);
        Namespace ns = setup.Ns;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(Split with { Entries = 32 });
        using DmaBuffer data = setup.Controller.Memory.Allocate(6 * 4096);
        var pract = IoProtectionOptions.ControllerInserts();
        var counter = new CompletionCounter();
        void Callbacks(int commands)
        {
            for (int done = 0; done < commands;)
            {
                if (qp.TryWrite(ns, (ulong)(done % 32) * 6, 6, data, null, in pract, CompletionCounter.Callback, counter))
                    done++;
                else
                    qp.ProcessCompletions();
            }
            qp.Drain();
        }
        void Awaits(int commands)
        {
            for (int i = 0; i < commands; i++)
                qp.Wait(qp.ReadAsync(ns, (ulong)(i % 32) * 6, 6, data, null, in pract));
        }
        const int Commands = 4096;
        long callbacks = SteadyState.AllocatedBytes(Callbacks, Commands);
        long awaits = SteadyState.AllocatedBytes(Awaits, Commands);
        Assert.That(callbacks, Is.LessThan(Commands), $"{callbacks} bytes over {Commands} split writes (3 parts each)");
        Assert.That(awaits, Is.LessThan(Commands), $"{awaits} bytes over {Commands} awaited split reads");
        Assert.That(counter.Failed, Is.Zero);
    }

    private static IoProtectionOptions Options(Namespace ns, int piType, ulong slba)
    {
        ulong mask = ns.ReferenceTagBits >= 64 ? ulong.MaxValue : (1UL << ns.ReferenceTagBits) - 1;
        PiChecks checks = PiChecks.Guard | PiChecks.ApplicationTag;
        return piType switch
        {
            1 => new IoProtectionOptions { Checks = checks | PiChecks.ReferenceTag, ApplicationTag = 0x1234 },   // ILBRT = SLBA
            2 => new IoProtectionOptions { Checks = checks | PiChecks.ReferenceTag, ApplicationTag = 0x1234, ReferenceTag = mask - 3 },   // wraps inside
            _ => new IoProtectionOptions { Checks = checks, ApplicationTag = 0x1234, ReferenceTag = 0x5A5A & mask },
        };
    }

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Data (and separate metadata) buffers for <c>blocks</c> blocks of the namespace as stored (PRACT = 0).</summary>
    private sealed class Buffers : IDisposable
    {
        public Buffers(NvmeController controller, Namespace ns, int blocks)
        {
            Data = controller.Memory.Allocate((int)ns.DataBytes(blocks, false));
            long metadata = ns.MetadataBytes(blocks, false);
            Metadata = metadata == 0 ? null : controller.Memory.Allocate((int)metadata);
        }

        public DmaBuffer Data { get; }
        public DmaBuffer? Metadata { get; }

        public byte[] Bytes()
        {
            byte[] data = Data.Span.ToArray();
            return Metadata is null ? data : [.. data, .. Metadata.Span.ToArray()];
        }

        public void Dispose()
        {
            Data.Dispose();
            Metadata?.Dispose();
        }
    }
}
