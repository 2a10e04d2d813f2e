using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>Generate and verify over the full format matrix, and detection of every single corruption.</summary>
public class ProtectionContextTests
{
    private const int BlockCount = 7;
    private const int Middle = 3;

    private static IEnumerable<PiCase> FullMatrix() => PiCases.Full();

    [TestCaseSource(nameof(FullMatrix))]
    public void GenerateWritesTheSpecifiedTupleAndVerifyPasses(PiCase c)
    {
        var buffers = new PiBuffers(c, BlockCount);
        ProtectionContext context = PiContexts.For(c);
        byte[][] metadataBefore = Enumerable.Range(0, BlockCount).Select(i => buffers.BlockMetadata(i).ToArray()).ToArray();

        buffers.Generate(context);

        for (int i = 0; i < BlockCount; i++)
        {
            ulong expectedReference = c.Type == PiType.Type3
                ? PiContexts.InitialReferenceTag(c)
                : (PiContexts.InitialReferenceTag(c) + (ulong)i) & c.ReferenceTagMask;
            Assert.That(buffers.Decode(i), Is.EqualTo(new ReferenceTuple(buffers.ExpectedGuard(i), PiContexts.ApplicationTag,
                PiContexts.StorageTag(c), expectedReference)), $"tuple of block {i}");
            byte[] metadata = buffers.BlockMetadata(i).ToArray();
            for (int b = 0; b < c.MetadataSize; b++)
                if (b < c.TupleOffset || b >= c.TupleOffset + c.TupleSize)
                    Assert.That(metadata[b], Is.EqualTo(metadataBefore[i][b]), $"metadata byte {b} outside the tuple of block {i}");
        }
        Assert.That(buffers.Verify(context, out PiError error), Is.True, error.ToString());
        Assert.That(error, Is.EqualTo(default(PiError)));
    }

    public enum Corruption
    {
        DataBit,
        MetadataBeforeTuple,
        MetadataAfterTuple,
        GuardBit,
        ApplicationTagBit,
        ReferenceTagBit,
        StorageTagBit,
        BlockFromAnotherLba,
    }

    private static IEnumerable<TestCaseData> CorruptionMatrix()
    {
        foreach (PiCase c in PiCases.Representative())
            foreach (Corruption corruption in Enum.GetValues<Corruption>())
            {
                bool applies = corruption switch
                {
                    Corruption.MetadataBeforeTuple => c.Location == PiLocation.Last && c.MetadataSize > c.TupleSize,
                    Corruption.MetadataAfterTuple => c.Location == PiLocation.First && c.MetadataSize > c.TupleSize,
                    _ => true,
                };
                if (!applies)
                    continue;
                PiErrorKind expected = corruption switch
                {
                    Corruption.DataBit or Corruption.MetadataBeforeTuple or Corruption.GuardBit => PiErrorKind.Guard,
                    Corruption.MetadataAfterTuple => PiErrorKind.None, // not covered by the guard (PI.md §1)
                    Corruption.ApplicationTagBit => PiErrorKind.ApplicationTag,
                    Corruption.StorageTagBit => PiErrorKind.StorageTag,
                    _ => c.Type == PiType.Type3 ? PiErrorKind.None : PiErrorKind.ReferenceTag, // type 3 never checks it
                };
                yield return new TestCaseData(c, corruption, expected).SetArgDisplayNames(c.ToString(), corruption.ToString(), expected.ToString());
            }
    }

    [TestCaseSource(nameof(CorruptionMatrix))]
    public void EverySingleCorruptionIsFoundAtItsBlock(PiCase c, Corruption corruption, PiErrorKind expectedKind)
    {
        var buffers = new PiBuffers(c, BlockCount);
        ProtectionContext context = PiContexts.For(c);
        buffers.Generate(context);
        ReferenceTuple before = buffers.Decode(Middle);

        Corrupt(buffers, corruption);
        bool passed = buffers.Verify(context, out PiError error);
        bool copyPassed = context.VerifyCopy(buffers.Data, buffers.Metadata, new byte[BlockCount * c.BlockSize], BlockCount, out PiError copyError);

        if (expectedKind == PiErrorKind.None)
        {
            Assert.That(passed, Is.True, error.ToString());
            Assert.That(copyPassed, Is.True, copyError.ToString());
            return;
        }
        Assert.That(passed, Is.False);
        Assert.That((error.Kind, error.BlockIndex), Is.EqualTo((expectedKind, Middle)), error.ToString());
        Assert.That(copyError, Is.EqualTo(error), "VerifyCopy reports what Verify reports");
        ReferenceTuple after = buffers.Decode(Middle);
        (ulong expected, ulong actual) = expectedKind switch
        {
            PiErrorKind.Guard => (buffers.ExpectedGuard(Middle), after.Guard),
            PiErrorKind.ApplicationTag => (PiContexts.ApplicationTag, after.ApplicationTag),
            PiErrorKind.ReferenceTag => (before.ReferenceTag, after.ReferenceTag),
            _ => (PiContexts.StorageTag(c), after.StorageTag),
        };
        Assert.That((error.Expected, error.Actual), Is.EqualTo((expected, actual)));
        Assert.That(error.Expected, Is.Not.EqualTo(error.Actual));
    }

    private static void Corrupt(PiBuffers buffers, Corruption corruption)
    {
        PiCase c = buffers.Case;
        Span<byte> tuple = buffers.Tuple(Middle);
        switch (corruption)
        {
            case Corruption.DataBit: buffers.BlockData(Middle)[c.BlockSize / 2] ^= 0x10; break;
            case Corruption.MetadataBeforeTuple: buffers.BlockMetadata(Middle)[0] ^= 0x01; break;
            case Corruption.MetadataAfterTuple: buffers.BlockMetadata(Middle)[c.MetadataSize - 1] ^= 0x80; break;
            case Corruption.GuardBit: tuple[c.GuardBytes - 1] ^= 0x04; break;
            case Corruption.ApplicationTagBit: tuple[c.GuardBytes + 1] ^= 0x01; break;
            case Corruption.ReferenceTagBit: tuple[c.TupleSize - 1] ^= 0x01; break;   // LSB of the space = reference tag
            case Corruption.StorageTagBit: tuple[c.GuardBytes + 2] ^= 0x80; break;    // MSB of the space = storage tag
            case Corruption.BlockFromAnotherLba:
                // A misdirected write: block Middle+1, data and PI intact, lands at Middle.
                buffers.BlockData(Middle + 1).CopyTo(buffers.BlockData(Middle));
                buffers.BlockMetadata(Middle + 1).CopyTo(buffers.BlockMetadata(Middle));
                break;
        }
    }

    private static IEnumerable<PiCase> RepresentativeMatrix() => PiCases.Representative();

    [TestCaseSource(nameof(RepresentativeMatrix))]
    public void VerifyAtAnotherInitialReferenceTagFailsAtBlockZeroExceptType3(PiCase c)
    {
        var buffers = new PiBuffers(c, BlockCount);
        ProtectionContext context = PiContexts.For(c);
        buffers.Generate(context);
        ulong other = (context.InitialReferenceTag + 1) & c.ReferenceTagMask;

        bool passed = buffers.Verify(context.WithInitialReferenceTag(other), out PiError error);

        if (c.Type == PiType.Type3)
            Assert.That(passed, Is.True, "type 3 never checks the reference tag (PI.md §5)");
        else
            Assert.That(error, Is.EqualTo(new PiError(0, PiErrorKind.ReferenceTag, other, context.InitialReferenceTag)));
    }

    private static IEnumerable<TestCaseData> ChecksOffMatrix()
    {
        foreach (PiCase c in PiCases.Representative().Where(c => c.Layout == MetadataLayout.Interleaved && c.Location == PiLocation.Last))
        {
            yield return new TestCaseData(c, Corruption.DataBit, PiChecks.Guard).SetArgDisplayNames(c.ToString(), "data", "no guard check");
            yield return new TestCaseData(c, Corruption.ApplicationTagBit, PiChecks.ApplicationTag).SetArgDisplayNames(c.ToString(), "app", "no app check");
            yield return new TestCaseData(c, Corruption.ReferenceTagBit, PiChecks.ReferenceTag).SetArgDisplayNames(c.ToString(), "ref", "no ref check");
            yield return new TestCaseData(c, Corruption.StorageTagBit, PiChecks.StorageTag).SetArgDisplayNames(c.ToString(), "storage", "no storage check");
        }
    }

    [TestCaseSource(nameof(ChecksOffMatrix))]
    public void ACorruptionPassesWhenItsCheckIsOff(PiCase c, Corruption corruption, PiChecks disabled)
    {
        var buffers = new PiBuffers(c, BlockCount);
        buffers.Generate(PiContexts.For(c));
        Corrupt(buffers, corruption);

        Assert.That(buffers.Verify(PiContexts.For(c, PiChecks.All & ~disabled), out PiError error), Is.True, error.ToString());
        Assert.That(buffers.Verify(PiContexts.For(c, PiChecks.None), out error), Is.True, error.ToString());
    }

    [Test]
    public void ChecksRunInTheOrderGuardApplicationReferenceStorage()
    {
        var c = new PiCase(PiGuardFormat.Guard64, PiType.Type1, 4096, 16, PiLocation.Last, 24, MetadataLayout.Interleaved);
        var buffers = new PiBuffers(c, BlockCount);
        ProtectionContext context = PiContexts.For(c);
        buffers.Generate(context);
        Corruption[] inReverse = [Corruption.StorageTagBit, Corruption.ReferenceTagBit, Corruption.ApplicationTagBit, Corruption.DataBit];
        PiErrorKind[] reported = [PiErrorKind.StorageTag, PiErrorKind.ReferenceTag, PiErrorKind.ApplicationTag, PiErrorKind.Guard];
        for (int i = 0; i < inReverse.Length; i++)
        {
            Corrupt(buffers, inReverse[i]);
            buffers.Verify(context, out PiError error);
            Assert.That(error.Kind, Is.EqualTo(reported[i]), $"after adding {inReverse[i]}");
        }
    }

    [TestCase(PiGuardFormat.Guard16, 512, 8, 70, 50)]
    [TestCase(PiGuardFormat.Guard32, 4096, 16, 40, 33)]
    [TestCase(PiGuardFormat.Guard64, 4096, 64, 65, 64)]
    public void ManyBlocksAcrossBatchesAreAllProtected(PiGuardFormat guard, int blockSize, int metadataSize, int blockCount, int corrupted)
    {
        foreach (MetadataLayout layout in new[] { MetadataLayout.Interleaved, MetadataLayout.Separate })
        {
            var c = new PiCase(guard, PiType.Type1, blockSize, metadataSize, PiLocation.Last, PiCases.MiddleSts(guard), layout);
            var buffers = new PiBuffers(c, blockCount);
            ProtectionContext context = PiContexts.For(c);
            buffers.Generate(context);
            for (int i = 0; i < blockCount; i++)
                Assert.That(buffers.Decode(i).Guard, Is.EqualTo(buffers.ExpectedGuard(i)), $"{layout} block {i}");
            Assert.That(buffers.Verify(context, out PiError error), Is.True, error.ToString());

            buffers.BlockData(corrupted)[7] ^= 1;
            Assert.That(buffers.Verify(context, out error), Is.False);
            Assert.That((error.Kind, error.BlockIndex), Is.EqualTo((PiErrorKind.Guard, corrupted)), layout.ToString());
        }
    }
}
