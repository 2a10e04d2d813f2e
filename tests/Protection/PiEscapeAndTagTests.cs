using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>Escapes, type 3 rules, reference tag increment and wrap, application and storage tag masks (PI.md §2, §5).</summary>
public class PiEscapeAndTagTests
{
    private const int BlockCount = 6;

    private static IEnumerable<PiCase> EscapeMatrix() => Matrix(PiCases.Types);

    private static IEnumerable<PiCase> Types1And2Matrix() => Matrix([PiType.Type1, PiType.Type2]);

    private static IEnumerable<PiCase> Type3Matrix() => Matrix([PiType.Type3]);

    private static IEnumerable<PiCase> Matrix(PiType[] types)
    {
        foreach (PiGuardFormat guard in PiCases.Guards)
            foreach (PiType type in types)
                foreach (MetadataLayout layout in new[] { MetadataLayout.Interleaved, MetadataLayout.Separate })
                    yield return new PiCase(guard, type, guard == PiGuardFormat.Guard16 ? 512 : 4096, 32, PiLocation.Last,
                        PiCases.MiddleSts(guard), layout);
    }

    private static void SetApplicationTag(PiBuffers buffers, int block, ushort tag)
    {
        Span<byte> tuple = buffers.Tuple(block);
        tuple[buffers.Case.GuardBytes] = (byte)(tag >> 8);
        tuple[buffers.Case.GuardBytes + 1] = (byte)tag;
    }

    /// <summary>Sets the reference tag bits (the low bits of the space) to ones.</summary>
    private static void SetReferenceTagAllOnes(PiBuffers buffers, int block)
    {
        PiCase c = buffers.Case;
        Span<byte> tuple = buffers.Tuple(block);
        for (int bit = 0; bit < c.ReferenceTagBits; bit++)
            tuple[c.TupleSize - 1 - bit / 8] |= (byte)(1 << (bit % 8));
    }

    private static void CorruptEverythingBut(PiBuffers buffers, int block, bool keepReferenceTag = false)
    {
        PiCase c = buffers.Case;
        buffers.BlockData(block)[1] ^= 0xFF;
        buffers.Tuple(block)[0] ^= 0xFF;                               // guard
        buffers.Tuple(block)[c.GuardBytes + 2] ^= 0x80;               // storage tag MSB
        if (!keepReferenceTag)
            buffers.Tuple(block)[c.TupleSize - 1] ^= 0x02;            // reference tag
    }

    [TestCaseSource(nameof(Types1And2Matrix))]
    public void ApplicationTagFfffDisablesChecksOfThatBlockOnlyForTypes1And2(PiCase c)
    {
        var buffers = new PiBuffers(c, BlockCount);
        ProtectionContext context = PiContexts.For(c);
        buffers.Generate(context);
        CorruptEverythingBut(buffers, 2);
        SetApplicationTag(buffers, 2, 0xFFFF);
        Assert.That(buffers.Verify(context, out PiError error), Is.True, error.ToString());

        buffers.BlockData(4)[0] ^= 1;
        Assert.That(buffers.Verify(context, out error), Is.False);
        Assert.That((error.Kind, error.BlockIndex), Is.EqualTo((PiErrorKind.Guard, 4)), "the escape of block 2 does not cover block 4");
    }

    [TestCaseSource(nameof(EscapeMatrix))]
    public void ReferenceTagAllOnesAloneIsNoEscape(PiCase c)
    {
        var buffers = new PiBuffers(c, BlockCount);
        ProtectionContext context = PiContexts.For(c);
        buffers.Generate(context);
        SetReferenceTagAllOnes(buffers, 2);
        buffers.BlockData(2)[0] ^= 1;
        Assert.That(buffers.Verify(context, out PiError error), Is.False);
        Assert.That((error.Kind, error.BlockIndex), Is.EqualTo((PiErrorKind.Guard, 2)));
    }

    [TestCaseSource(nameof(Type3Matrix))]
    public void Type3NeedsApplicationTagFfffAndReferenceTagAllOnes(PiCase c)
    {
        var buffers = new PiBuffers(c, BlockCount);
        ProtectionContext context = PiContexts.For(c);
        buffers.Generate(context);

        CorruptEverythingBut(buffers, 2, keepReferenceTag: true);
        SetApplicationTag(buffers, 2, 0xFFFF);
        Assert.That(buffers.Verify(context, out PiError error), Is.False, "app tag FFFFh alone does not escape type 3");
        Assert.That((error.Kind, error.BlockIndex), Is.EqualTo((PiErrorKind.Guard, 2)));

        SetReferenceTagAllOnes(buffers, 2);
        Assert.That(buffers.Verify(context, out error), Is.True, error.ToString());
    }

    [TestCase(MetadataLayout.Interleaved)]
    [TestCase(MetadataLayout.Separate)]
    public void Type3WithoutReferenceTagBitsEscapesOnApplicationTagAlone(MetadataLayout layout)
    {
        var c = new PiCase(PiGuardFormat.Guard16, PiType.Type3, 512, 8, PiLocation.Last, 32, layout);
        var buffers = new PiBuffers(c, BlockCount);
        ProtectionContext context = PiContexts.For(c);
        buffers.Generate(context);
        CorruptEverythingBut(buffers, 2, keepReferenceTag: true);
        Assert.That(buffers.Verify(context, out _), Is.False);
        SetApplicationTag(buffers, 2, 0xFFFF);
        Assert.That(buffers.Verify(context, out PiError error), Is.True, error.ToString());
    }

    [TestCase(PiGuardFormat.Guard64)]
    [TestCase(PiGuardFormat.Guard32)]
    public void Type3GeneratesTheInitialReferenceTagInEveryBlockAndIgnoresItsCheck(PiGuardFormat guard)
    {
        var c = new PiCase(guard, PiType.Type3, 4096, 16, PiLocation.Last, PiCases.MiddleSts(guard), MetadataLayout.Interleaved);
        var buffers = new PiBuffers(c, BlockCount);
        var context = new ProtectionContext(c.Format(), PiChecks.All, 0x12_3456, 0x0042);
        buffers.Generate(context);
        for (int i = 0; i < BlockCount; i++)
        {
            Assert.That(buffers.Decode(i).ReferenceTag, Is.EqualTo(0x12_3456UL));
            Assert.That(context.ExpectedReferenceTag(i), Is.EqualTo(0x12_3456UL));
        }
        Assert.That(buffers.Verify(context.WithInitialReferenceTag(7), out PiError error), Is.True, error.ToString());
        Assert.That(buffers.Verify(new ProtectionContext(c.Format(), PiChecks.ReferenceTag, 9), out error), Is.True, error.ToString());
    }

    // Reference tag width = space bits - STS (PI.md §2); it rolls over from all ones to 0 (PI.md §5).
    [TestCase(PiGuardFormat.Guard16, 0, 0xFFFF_FFFEUL, new ulong[] { 0xFFFF_FFFE, 0xFFFF_FFFF, 0, 1 })]
    [TestCase(PiGuardFormat.Guard16, 16, 0xFFFEUL, new ulong[] { 0xFFFE, 0xFFFF, 0, 1 })]
    [TestCase(PiGuardFormat.Guard16, 32, 0UL, new ulong[] { 0, 0, 0, 0 })]
    [TestCase(PiGuardFormat.Guard64, 0, 0xFFFF_FFFF_FFFEUL, new ulong[] { 0xFFFF_FFFF_FFFE, 0xFFFF_FFFF_FFFF, 0, 1 })]
    [TestCase(PiGuardFormat.Guard64, 18, 0x3FFF_FFFEUL, new ulong[] { 0x3FFF_FFFE, 0x3FFF_FFFF, 0, 1 })]
    [TestCase(PiGuardFormat.Guard64, 16, 0xFFFF_FFFFUL, new ulong[] { 0xFFFF_FFFF, 0, 1, 2 })]
    [TestCase(PiGuardFormat.Guard32, 16, 0xFFFF_FFFF_FFFF_FFFEUL, new ulong[] { 0xFFFF_FFFF_FFFF_FFFE, 0xFFFF_FFFF_FFFF_FFFF, 0, 1 })]
    [TestCase(PiGuardFormat.Guard32, 48, 0xFFFF_FFFFUL, new ulong[] { 0xFFFF_FFFF, 0, 1, 2 })]
    [TestCase(PiGuardFormat.Guard32, 16, 5UL, new ulong[] { 5, 6, 7, 8 })]
    public void ReferenceTagIncrementsAndWrapsAtItsWidth(PiGuardFormat guard, int sts, ulong initial, ulong[] expected)
    {
        foreach (PiType type in new[] { PiType.Type1, PiType.Type2 })
        {
            var c = new PiCase(guard, type, 4096, 16, PiLocation.Last, sts, MetadataLayout.Separate);
            var buffers = new PiBuffers(c, expected.Length);
            var context = new ProtectionContext(c.Format(), PiChecks.All, initial);
            buffers.Generate(context);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.That(buffers.Decode(i).ReferenceTag, Is.EqualTo(expected[i]), $"{type} block {i}");
                Assert.That(context.ExpectedReferenceTag(i), Is.EqualTo(expected[i]), $"{type} ExpectedReferenceTag({i})");
            }
            Assert.That(buffers.Verify(context, out PiError error), Is.True, error.ToString());
        }
    }

    // (actual & mask) == (expected & mask) (PI.md §5).
    [TestCase((ushort)0x12FF, (ushort)0x1200, (ushort)0xFF00, true)]
    [TestCase((ushort)0x12FF, (ushort)0x1200, (ushort)0xFFFF, false)]
    [TestCase((ushort)0x12FF, (ushort)0x1300, (ushort)0xFF00, false)]
    [TestCase((ushort)0x0001, (ushort)0x8000, (ushort)0x0000, true)]
    [TestCase((ushort)0xABCD, (ushort)0xABCD, (ushort)0xFFFF, true)]
    [TestCase((ushort)0xABCD, (ushort)0xABCC, (ushort)0x0001, false)]
    public void ApplicationTagIsComparedUnderTheMask(ushort written, ushort expected, ushort mask, bool passes)
    {
        foreach (PiGuardFormat guard in PiCases.Guards)
        {
            var c = new PiCase(guard, PiType.Type1, 4096, 16, PiLocation.Last, PiCases.MiddleSts(guard), MetadataLayout.Interleaved);
            var buffers = new PiBuffers(c, 3);
            buffers.Generate(new ProtectionContext(c.Format(), PiChecks.All, 100, written));
            var context = new ProtectionContext(c.Format(), PiChecks.All, 100, expected, mask);
            Assert.That(buffers.Verify(context, out PiError error), Is.EqualTo(passes), $"{guard}: {error}");
            if (!passes)
                Assert.That(error, Is.EqualTo(new PiError(0, PiErrorKind.ApplicationTag, expected, written)));
        }
    }

    // A 0 bit in the storage tag mask ignores that bit (PI.md §2).
    [TestCase(PiGuardFormat.Guard64, 24, 0xABCDEFUL, 0xABCD00UL, 0xFFFF00UL, true)]
    [TestCase(PiGuardFormat.Guard64, 24, 0xABCDEFUL, 0xABCD00UL, 0xFFFFFFUL, false)]
    [TestCase(PiGuardFormat.Guard64, 24, 0xABCDEFUL, 0x000000UL, 0x000000UL, true)]
    [TestCase(PiGuardFormat.Guard64, 48, 0x8000_0000_0001UL, 0x0000_0000_0001UL, 0x7FFF_FFFF_FFFFUL, true)]
    [TestCase(PiGuardFormat.Guard64, 48, 0x8000_0000_0001UL, 0x0000_0000_0001UL, 0xFFFF_FFFF_FFFFUL, false)]
    [TestCase(PiGuardFormat.Guard32, 64, 0xFEDC_BA98_7654_3210UL, 0xFEDC_BA98_7654_3211UL, 0xFFFF_FFFF_FFFF_FFFEUL, true)]
    [TestCase(PiGuardFormat.Guard32, 64, 0xFEDC_BA98_7654_3210UL, 0xFEDC_BA98_7654_3211UL, ulong.MaxValue, false)]
    [TestCase(PiGuardFormat.Guard16, 8, 0x5AUL, 0x5BUL, 0xFEUL, true)]
    [TestCase(PiGuardFormat.Guard16, 8, 0x5AUL, 0x5BUL, 0x01UL, false)]
    public void StorageTagIsComparedUnderTheMask(PiGuardFormat guard, int sts, ulong written, ulong expected, ulong mask, bool passes)
    {
        var c = new PiCase(guard, PiType.Type2, 4096, 16, PiLocation.First, sts, MetadataLayout.Separate);
        var buffers = new PiBuffers(c, 3);
        buffers.Generate(new ProtectionContext(c.Format(), PiChecks.All, 0, 7, 0xFFFF, written));
        Assert.That(buffers.Decode(1).StorageTag, Is.EqualTo(written));
        var context = new ProtectionContext(c.Format(), PiChecks.All, 0, 7, 0xFFFF, expected, mask);
        Assert.That(buffers.Verify(context, out PiError error), Is.EqualTo(passes), error.ToString());
        if (!passes)
            Assert.That(error, Is.EqualTo(new PiError(0, PiErrorKind.StorageTag, expected, written)));
    }
}
