using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>Guards of generated tuples against the 4 KiB known-answer table of PI.md §1 and QEMU's Write Zeroes constant (§5, §9.4).</summary>
public class PiKnownAnswerTests
{
    public enum Pattern { Zeros, Ones, Incrementing, Decrementing }

    private static byte[] Fill(Pattern pattern) => Enumerable.Range(0, 4096).Select(i => pattern switch
    {
        Pattern.Zeros => (byte)0,
        Pattern.Ones => (byte)0xFF,
        Pattern.Incrementing => (byte)i,
        _ => (byte)(0xFF - (i & 0xFF)),
    }).ToArray();

    // PI.md §1, "Known-answer values for a 4 KiB block with no metadata".
    private static IEnumerable<TestCaseData> Table()
    {
        (Pattern, ulong, ulong, ulong)[] rows =
        [
            (Pattern.Zeros, 0x0000, 0x98F94189, 0x6482D367EB22B64E),
            (Pattern.Ones, 0x8B5D, 0x25C1FE13, 0xC0DDBA7302ECA3AC),
            (Pattern.Incrementing, 0x8F6D, 0x9C71FE32, 0x3E729F5F6750449C),
            (Pattern.Decrementing, 0x0430, 0x214941A8, 0x9A2DF64B8E9E517E),
        ];
        foreach ((Pattern pattern, ulong g16, ulong g32, ulong g64) in rows)
        {
            yield return new TestCaseData(pattern, PiGuardFormat.Guard16, g16);
            yield return new TestCaseData(pattern, PiGuardFormat.Guard32, g32);
            yield return new TestCaseData(pattern, PiGuardFormat.Guard64, g64);
        }
    }

    [TestCaseSource(nameof(Table))]
    public void GeneratedGuardOfA4KiBBlockMatchesTheSpecTable(Pattern pattern, PiGuardFormat guard, ulong expected)
    {
        byte[] data = Fill(pattern);
        int tupleSize = guard == PiGuardFormat.Guard16 ? 8 : 16;
        // No metadata is covered with MS == tuple size, nor with the tuple first in larger metadata.
        foreach ((int metadataSize, PiLocation location) in new[] { (tupleSize, PiLocation.Last), (64, PiLocation.First) })
            foreach (MetadataLayout layout in new[] { MetadataLayout.Interleaved, MetadataLayout.Separate })
            {
                var c = new PiCase(guard, PiType.Type1, 4096, metadataSize, location, PiCases.StsValues(guard)[0], layout);
                var buffers = new PiBuffers(c, 2);
                data.CopyTo(buffers.BlockData(1));
                var context = new ProtectionContext(c.Format(), PiChecks.All, 0);
                buffers.Generate(context);
                Assert.That(buffers.Decode(1).Guard, Is.EqualTo(expected), $"{c}");
                Assert.That(buffers.Verify(context, out PiError error), Is.True, error.ToString());
            }
    }

    [TestCase(16, PiLocation.Last, 0x6482D367EB22B64EUL)]   // QEMU's hard-coded Write Zeroes guard (PI.md §5)
    [TestCase(64, PiLocation.First, 0x6482D367EB22B64EUL)]  // PI first: no metadata covered
    [TestCase(64, PiLocation.Last, 0x469A00D4FC907450UL)]   // CRC-64 of 4096+48 zero bytes (PI.md §1, §9.4)
    public void WriteZeroesGuardOf64bFormats(int metadataSize, PiLocation location, ulong expected)
    {
        foreach (MetadataLayout layout in new[] { MetadataLayout.Interleaved, MetadataLayout.Separate })
        {
            var format = new ProtectionFormat(4096, metadataSize, PiGuardFormat.Guard64, PiType.Type1, location, 0, layout);
            byte[] data = new byte[format.DataBytes(1)];
            byte[] metadata = new byte[format.MetadataBytes(1)];
            var context = new ProtectionContext(format, PiChecks.All, 0x1000);
            context.Generate(data, metadata, 1);
            ReadOnlySpan<byte> tuple = (layout == MetadataLayout.Interleaved ? data.AsSpan(4096) : metadata.AsSpan()).Slice(format.TupleOffset, 16);
            Assert.That(PiTuple.Read(tuple, PiGuardFormat.Guard64, 0).Guard, Is.EqualTo(expected), layout.ToString());
        }
    }

    [Test]
    public void Zero512ByteBlockHasZero16bGuard()
    {
        // QEMU keeps the 16b guard 0 for Write Zeroes: CRC-16/T10-DIF of zeros is 0 (PI.md §5).
        var format = new ProtectionFormat(512, 8, PiGuardFormat.Guard16, PiType.Type1);
        byte[] data = new byte[format.DataBytes(4)];
        new ProtectionContext(format, PiChecks.All, 10).Generate(data, default, 4);
        for (int i = 0; i < 4; i++)
            Assert.That(data[i * 520 + 512] | data[i * 520 + 513], Is.Zero);
    }
}
