using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>The streaming copy equals a plain copy at every length and alignment; large PI copies (which stream) equal small ones.</summary>
public class StreamingCopyTests
{
    [Test]
    public void CopiesEveryLengthAtEveryDestinationAlignment()
    {
        byte[] source = new byte[700];
        new Random(7).NextBytes(source);
        byte[] destination = new byte[800];
        foreach (int sourceOffset in new[] { 0, 1, 33 })
            for (int destinationOffset = 0; destinationOffset < 64; destinationOffset += 3)
                for (int length = 0; length <= 600; length += length < 140 ? 1 : 37)
                {
                    destination.AsSpan().Fill(0xEE);
                    StreamingCopy.Copy(source.AsSpan(sourceOffset, length), destination.AsSpan(destinationOffset));
                    StreamingCopy.Fence();
                    Assert.That(destination.AsSpan(destinationOffset, length).SequenceEqual(source.AsSpan(sourceOffset, length)), Is.True,
                        $"length {length}, source +{sourceOffset}, destination +{destinationOffset}");
                    Assert.That(destination.AsSpan(0, destinationOffset).IndexOfAnyExcept((byte)0xEE), Is.EqualTo(-1), "nothing before");
                    Assert.That(destination.AsSpan(destinationOffset + length).IndexOfAnyExcept((byte)0xEE), Is.EqualTo(-1), "nothing after");
                }
    }

    [Test]
    public void RejectsAShorterDestination()
        => Assert.That(() => StreamingCopy.Copy(new byte[65], new byte[64]),
            Throws.ArgumentException.With.Message.Contains("shorter than the source"));

    private static IEnumerable<PiCase> LargeCases()
    {
        foreach (MetadataLayout layout in new[] { MetadataLayout.Interleaved, MetadataLayout.Separate })
        {
            yield return new PiCase(PiGuardFormat.Guard16, PiType.Type1, 512, 8, PiLocation.Last, 0, layout);
            yield return new PiCase(PiGuardFormat.Guard64, PiType.Type2, 4096, 64, PiLocation.Last, 24, layout);
            yield return new PiCase(PiGuardFormat.Guard32, PiType.Type3, 4096, 16, PiLocation.First, 16, layout);
        }
    }

    [TestCaseSource(nameof(LargeCases))]
    public void LargeCopiesEqualTheSameWorkInSmallPieces(PiCase c)
    {
        int blocks = (2 << 20) / c.BlockSize + 3; // past the streaming threshold
        const int piece = 8;                       // far below it
        ProtectionContext context = PiContexts.For(c);
        ProtectionFormat format = context.Format;
        byte[] host = new byte[blocks * c.BlockSize];
        new Random(8).NextBytes(host);
        // Odd offsets, so the destination lines are not aligned to the buffers.
        byte[] dataWhole = new byte[format.DataBytes(blocks) + 5], metadataWhole = new byte[format.MetadataBytes(blocks) + 5];
        byte[] dataPieces = new byte[dataWhole.Length], metadataPieces = new byte[metadataWhole.Length];
        Span<byte> data = dataWhole.AsSpan(5), metadata = metadataWhole.AsSpan(5);

        context.GenerateCopy(host, data, metadata, blocks);
        for (int first = 0; first < blocks; first += piece)
        {
            int count = Math.Min(piece, blocks - first);
            context.WithInitialReferenceTag(context.ExpectedReferenceTag(first)).GenerateCopy(host.AsSpan(first * c.BlockSize),
                dataPieces.AsSpan(5 + format.DataBytes(first)), metadataPieces.AsSpan(5 + format.MetadataBytes(first)), count);
        }
        Assert.That(dataWhole.AsSpan().SequenceEqual(dataPieces), Is.True, "data");
        Assert.That(metadataWhole.AsSpan().SequenceEqual(metadataPieces), Is.True, "metadata");

        byte[] back = new byte[host.Length + 7];
        Assert.That(context.VerifyCopy(data, metadata, back.AsSpan(7), blocks, out PiError error), Is.True, error.ToString());
        Assert.That(back.AsSpan(7).SequenceEqual(host), Is.True);

        data[format.DataBytes(blocks - 2) + 100] ^= 0x20; // data of the last block but one
        Array.Clear(back);
        Assert.That(context.VerifyCopy(data, metadata, back.AsSpan(7), blocks, out error), Is.False);
        Assert.That((error.Kind, error.BlockIndex), Is.EqualTo((PiErrorKind.Guard, blocks - 2)));
        Assert.That(back.AsSpan(7, (blocks - 2) * c.BlockSize).SequenceEqual(host.AsSpan(0, (blocks - 2) * c.BlockSize)), Is.True);

        if (c.Layout == MetadataLayout.Interleaved)
        {
            byte[] extended = new byte[format.ExtendedBlockSize * blocks];
            context.Insert(host, extended, blocks);
            Assert.That(extended.AsSpan().SequenceEqual(dataPieces.AsSpan(5)), Is.True, "Insert == GenerateCopy");
            byte[] stripped = new byte[host.Length];
            context.Strip(extended, stripped, blocks);
            Assert.That(stripped.AsSpan().SequenceEqual(host), Is.True, "Strip of Insert");
        }
    }

    [TestCase(MetadataLayout.Interleaved)]
    [TestCase(MetadataLayout.Separate)]
    public void GenerateCopyCoversAZeroPrefixLongerThanOnePieceOfZeros(MetadataLayout layout)
    {
        var c = new PiCase(PiGuardFormat.Guard16, PiType.Type1, 512, 9000, PiLocation.Last, 0, layout);
        const int blocks = 3;
        var buffers = new PiBuffers(c, blocks, seed: 9);
        byte[] host = new byte[blocks * 512];
        new Random(10).NextBytes(host);
        ProtectionContext context = PiContexts.For(c);
        context.GenerateCopy(host, buffers.Data, buffers.Metadata, blocks);
        for (int i = 0; i < blocks; i++)
        {
            Assert.That(buffers.BlockData(i).SequenceEqual(host.AsSpan(i * 512, 512)), Is.True);
            Assert.That(buffers.Decode(i).Guard, Is.EqualTo(buffers.ExpectedGuard(i)), $"block {i}: CRC over data + 8992 zero bytes");
        }
        Assert.That(buffers.Verify(context, out PiError error), Is.True, error.ToString());
    }
}
