using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Emulation;
using PolledNvme.Examples.WriteAheadLog;
using PolledNvme.Examples.WriteAheadLog.Host;
using PolledNvme.Queues;
using PolledNvme.Tests.Driver;

namespace PolledNvme.Tests.Examples;

/// <summary>
/// The recovery scan's decision between "end of log" and "corruption", on hand-written groups
/// (so group boundaries are exact): group A = LBA 0-2 in one command, group B = LBA 3.
/// </summary>
public class WalRecoveryTests
{
    private EmulatedSetup _setup = null!;
    private IoQueuePair _qp = null!;
    private DmaBuffer _buffer = null!;

    [SetUp]
    public void SetUp()
    {
        _setup = EmulatedSetup.Open("mem:lbads=4096,ms=8,pi=1,size=1M");
        _qp = _setup.Controller.CreateIoQueuePair(8);
        _buffer = _setup.Controller.Memory.Allocate(4 * 4096);
    }

    [TearDown]
    public void TearDown()
    {
        _buffer.Dispose();
        _qp.Dispose();
        _setup.Dispose();
    }

    [Test]
    public void IntactGroupsAreReadInOrder()
    {
        WriteGroup(0, 3, epoch: 1);
        WriteGroup(3, 1, epoch: 1);
        WalRecoveryResult r = Scan();
        Assert.That(r.EndLba, Is.EqualTo(4UL));
        Assert.That(r.Records.Select(RecordPattern.IdOf), Is.EqualTo(new long[] { 0, 1, 2, 3 }));
        Assert.That(r.Records.Select(x => x.Position), Is.EqualTo(new[] { new WalPosition(0, 0), new WalPosition(1, 0), new WalPosition(2, 0), new WalPosition(3, 0) }));
    }

    [TestCase(0L)]
    [TestCase(1L)]
    [TestCase(2L)]
    public void DamageInsideAGroupFollowedByAnotherGroupIsCorruption(long lba)
    {
        WriteGroup(0, 3, epoch: 1);
        WriteGroup(3, 1, epoch: 1);
        _setup.Device.Faults.CorruptBlock(1, lba, CorruptionTarget.Data);
        var e = Assert.Throws<WalCorruptionException>(() => Scan())!;
        Assert.That(e.Lba, Is.EqualTo((ulong)lba));
        Assert.That(e.Message, Does.Contain("EndToEndGuardCheckError"));
    }

    [TestCase(0L)]
    [TestCase(1L)]
    [TestCase(2L)]
    public void DamageInTheLastGroupIsATornTailAndEndsTheLog(long lba)
    {
        WriteGroup(0, 3, epoch: 1);
        _setup.Device.Faults.CorruptBlock(1, lba, CorruptionTarget.ReferenceTag);
        WalRecoveryResult r = Scan();
        Assert.That(r.EndLba, Is.EqualTo((ulong)lba));
        Assert.That(r.Records, Has.Count.EqualTo((int)lba), "only the blocks before the damage are returned");
        Assert.That(r.EndReason, Does.Contain("EndToEndReferenceTagCheckError"));
    }

    [Test]
    public void BlocksLeftFromBeforeACrashAreNotPartOfTheLog()
    {
        // Epoch 1 wrote LBA 0-2 (torn at 0: the log restarted there), epoch 2 rewrote LBA 0 only.
        WriteGroup(0, 3, epoch: 1);
        WriteGroup(0, 1, epoch: 2);
        WalRecoveryResult r = Scan();
        Assert.That(r.EndLba, Is.EqualTo(1UL));
        Assert.That(r.LastEpoch, Is.EqualTo(2u));
        Assert.That(r.EndReason, Does.Contain("epoch 1 is older"));
    }

    [Test]
    public void NeverWrittenBlocksEndTheLogByTheMagic()
    {
        WriteGroup(0, 2, epoch: 1);
        WalRecoveryResult r = Scan();
        Assert.That(r.EndLba, Is.EqualTo(2UL));
        // The emulated controller returns never-written blocks as deallocated: all-FF PI, the
        // escape that turns the checks off, so the read succeeds and the missing magic ends the log.
        Assert.That(r.EndReason, Does.Contain("no log block magic"));
        Assert.That(r.Records, Has.Count.EqualTo(2));
    }

    [Test]
    public void BlockWithIntactPiButImpossibleRecordLengthIsCorruption()
    {
        WriteGroup(0, 1, epoch: 1, payloadLength: 5000);
        var e = Assert.Throws<WalCorruptionException>(() => Scan())!;
        Assert.That(e.Lba, Is.Zero);
        Assert.That(e.Message, Does.Contain("claims 5000 payload bytes"));
    }

    private WalRecoveryResult Scan() => WalRecovery.Scan(_qp, _setup.Ns, lookaheadBlocks: 4);

    /// <summary>Writes one group of <paramref name="blocks"/> blocks with one command, one pattern record per block (id = LBA).</summary>
    private void WriteGroup(ulong startLba, int blocks, uint epoch, int? payloadLength = null)
    {
        _buffer.Clear();
        for (int i = 0; i < blocks; i++)
        {
            Span<byte> block = _buffer.Span.Slice(i * 4096, 4096);
            ulong lba = startLba + (ulong)i;
            WalBlock.WriteHeader(block, new WalBlockHeader(epoch, lba, 1, blocks, i));
            byte[] payload = RecordPattern.PayloadOf((long)lba);
            WalBlock.WriteRecord(block, WalBlock.HeaderSize, RecordPattern.TypeOf((long)lba), payload);
            if (payloadLength is int claimed)
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(block[WalBlock.HeaderSize..], (uint)claimed);
        }
        _qp.Wait(_qp.WriteAsync(_setup.Ns, startLba, blocks, _buffer, null, new IoProtectionOptions { Pract = true, ApplicationTag = WalBlock.ApplicationTag }));
    }
}
