using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>The one-pass copy operations equal their two-step definitions; Strip and Insert round-trip.</summary>
public class PiCopyTests
{
    private static IEnumerable<PiCase> Matrix() => PiCases.Representative().Where(c => c.Type != PiType.Type2);

    private static byte[] RandomBytes(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [TestCaseSource(nameof(Matrix))]
    public void GenerateCopyEqualsCopyZeroMetadataThenGenerate(PiCase c)
    {
        const int blocks = 37; // crosses a copy batch for every block size used
        ProtectionContext context = PiContexts.For(c);
        byte[] host = RandomBytes(blocks * c.BlockSize, 11);
        var dma = new PiBuffers(c, blocks, seed: 12); // stale contents must not leak through

        context.GenerateCopy(host, dma.Data, dma.Metadata, blocks);

        var expected = new PiBuffers(c, blocks, seed: 13);
        for (int i = 0; i < blocks; i++)
        {
            host.AsSpan(i * c.BlockSize, c.BlockSize).CopyTo(expected.BlockData(i));
            expected.BlockMetadata(i).Clear();
        }
        expected.Generate(context);
        Assert.That(dma.Data, Is.EqualTo(expected.Data));
        Assert.That(dma.Metadata, Is.EqualTo(expected.Metadata));

        if (c.Layout == MetadataLayout.Interleaved)
        {
            byte[] inserted = RandomBytes(dma.Data.Length, 14);
            context.Insert(host, inserted, blocks);
            Assert.That(inserted, Is.EqualTo(dma.Data), "GenerateCopy == Insert for the interleaved layout");
        }
    }

    [TestCaseSource(nameof(Matrix))]
    public void VerifyCopyEqualsVerifyThenStrip(PiCase c)
    {
        const int blocks = 37;
        ProtectionContext context = PiContexts.For(c);
        var dma = new PiBuffers(c, blocks, seed: 21);
        dma.Generate(context);

        foreach (int corrupted in new[] { -1, 0, 20, blocks - 1 })
        {
            PiBuffers buffers = dma.Clone();
            if (corrupted >= 0)
                buffers.BlockData(corrupted)[5] ^= 0x40;
            byte[] host = RandomBytes(blocks * c.BlockSize, 22);

            bool copyPassed = context.VerifyCopy(buffers.Data, buffers.Metadata, host, blocks, out PiError copyError);

            bool passed = buffers.Verify(context, out PiError error);
            Assert.That((copyPassed, copyError), Is.EqualTo((passed, error)), $"corrupted block {corrupted}");
            Assert.That(passed, Is.EqualTo(corrupted < 0));
            Assert.That(host, Is.EqualTo(buffers.DataOnly()), "every block is copied, even after a failure");
            if (c.Layout == MetadataLayout.Interleaved)
            {
                byte[] stripped = new byte[host.Length];
                context.Strip(buffers.Data, stripped, blocks);
                Assert.That(host, Is.EqualTo(stripped));
            }
        }
    }

    [TestCaseSource(nameof(Matrix))]
    public void StripOfInsertReturnsTheDataAndInsertedBlocksVerify(PiCase c)
    {
        const int blocks = 5;
        ProtectionContext context = PiContexts.For(c);
        ProtectionFormat format = context.Format;
        byte[] host = RandomBytes(blocks * c.BlockSize, 31);
        byte[] extended = RandomBytes(blocks * format.ExtendedBlockSize, 32);

        context.Insert(host, extended, blocks);
        byte[] back = new byte[host.Length];
        context.Strip(extended, back, blocks);

        Assert.That(back, Is.EqualTo(host));
        var interleaved = c with { Layout = MetadataLayout.Interleaved };
        var check = new ProtectionContext(interleaved.Format(), PiChecks.All, context.InitialReferenceTag, context.ApplicationTag, 0xFFFF, context.StorageTag);
        Assert.That(check.Verify(extended, default, blocks, out PiError error), Is.True, error.ToString());
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<byte> metadata = extended.AsSpan(i * format.ExtendedBlockSize + c.BlockSize, c.MetadataSize);
            byte[] outsideTuple = [.. metadata[..c.TupleOffset], .. metadata[(c.TupleOffset + c.TupleSize)..]];
            Assert.That(outsideTuple, Is.All.Zero, $"metadata outside the tuple of block {i} is zeroed");
        }
    }

    [TestCase(MetadataLayout.Interleaved, 8)]
    [TestCase(MetadataLayout.Separate, 8)]
    [TestCase(MetadataLayout.Separate, 0)]
    [TestCase(MetadataLayout.Interleaved, 0)]
    public void WithoutPiTheOperationsOnlyMoveData(MetadataLayout layout, int metadataSize)
    {
        const int blocks = 9;
        var format = new ProtectionFormat(512, metadataSize, PiGuardFormat.Guard16, PiType.None, layout: layout);
        var context = new ProtectionContext(format, PiChecks.None, 0);
        byte[] host = RandomBytes(blocks * 512, 41);
        byte[] data = RandomBytes(format.DataBytes(blocks), 42);
        byte[] metadata = RandomBytes(format.MetadataBytes(blocks), 43);

        byte[] dataBefore = (byte[])data.Clone(), metadataBefore = (byte[])metadata.Clone();
        context.Generate(data, metadata, blocks);
        Assert.That((data, metadata), Is.EqualTo((dataBefore, metadataBefore)), "Generate writes nothing without PI");
        Assert.That(context.Verify(data, metadata, blocks, out PiError error), Is.True);
        Assert.That(error, Is.EqualTo(default(PiError)));

        context.GenerateCopy(host, data, metadata, blocks);
        Assert.That(metadata, Is.All.Zero);
        byte[] back = RandomBytes(host.Length, 44);
        Assert.That(context.VerifyCopy(data, metadata, back, blocks, out _), Is.True);
        Assert.That(back, Is.EqualTo(host));
        if (layout == MetadataLayout.Separate)
            Assert.That(data, Is.EqualTo(host));

        byte[] extended = RandomBytes(blocks * format.ExtendedBlockSize, 45);
        context.Insert(host, extended, blocks);
        for (int i = 0; i < blocks; i++)
        {
            Assert.That(extended.AsSpan(i * format.ExtendedBlockSize, 512).SequenceEqual(host.AsSpan(i * 512, 512)), Is.True, $"block {i} data");
            Assert.That(extended.AsSpan(i * format.ExtendedBlockSize + 512, metadataSize).ToArray(), Is.All.Zero, $"block {i} metadata");
        }
        byte[] stripped = RandomBytes(host.Length, 46);
        context.Strip(extended, stripped, blocks);
        Assert.That(stripped, Is.EqualTo(host));
    }
}
