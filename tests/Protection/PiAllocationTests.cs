using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>The PI operations allocate nothing per call (DESIGN.md, hot path rules).</summary>
public class PiAllocationTests
{
    private static IEnumerable<PiCase> Formats()
    {
        foreach (PiGuardFormat guard in PiCases.Guards)
            foreach (MetadataLayout layout in new[] { MetadataLayout.Interleaved, MetadataLayout.Separate })
                yield return new PiCase(guard, PiType.Type1, 4096, 64, PiLocation.Last, PiCases.MiddleSts(guard), layout);
    }

    [TestCaseSource(nameof(Formats))]
    public void OperationsDoNotAllocate(PiCase c)
    {
        const int blocks = 40;
        var buffers = new PiBuffers(c, blocks);
        byte[] host = new byte[blocks * c.BlockSize];
        byte[] extended = new byte[blocks * (c.BlockSize + c.MetadataSize)];
        ProtectionContext context = PiContexts.For(c);

        void RunAll()
        {
            ProtectionContext moved = context.WithInitialReferenceTag(context.InitialReferenceTag);
            moved.Generate(buffers.Data, buffers.Metadata, blocks);
            moved.Verify(buffers.Data, buffers.Metadata, blocks, out _);
            moved.GenerateCopy(host, buffers.Data, buffers.Metadata, blocks);
            moved.VerifyCopy(buffers.Data, buffers.Metadata, host, blocks, out _);
            moved.Insert(host, extended, blocks);
            moved.Strip(extended, host, blocks);
            buffers.BlockData(3)[0] ^= 1;
            moved.Verify(buffers.Data, buffers.Metadata, blocks, out _); // the failure path too
        }

        for (int i = 0; i < 3; i++)
            RunAll(); // warm up: JIT, statics, tiering
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
            RunAll();
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
