using NUnit.Framework;
using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>Context rules and buffer sizes: every bad input throws a specific message and leaves the buffers alone.</summary>
public class ProtectionContextValidationTests
{
    private static readonly ProtectionFormat s_interleaved = new(512, 16, PiGuardFormat.Guard16, PiType.Type1, PiLocation.Last, 8);
    private static readonly ProtectionFormat s_separate = new(4096, 16, PiGuardFormat.Guard64, PiType.Type2, PiLocation.Last, 24, MetadataLayout.Separate);
    private static readonly ProtectionFormat s_noPi = new(512, 8, PiGuardFormat.Guard16, PiType.None);

    private static IEnumerable<TestCaseData> InvalidContexts()
    {
        TestCaseData Case(string name, Func<ProtectionContext> create, string parameter, string rule)
            => new TestCaseData(create, parameter, rule).SetName($"Rejects {name}");
        yield return Case("null format", () => new(null!, PiChecks.All, 0), "format", "null");
        yield return Case("undefined check bits", () => new(s_interleaved, (PiChecks)0x10, 0), "checks", "outside PiChecks.All");
        yield return Case("checks without PI", () => new(s_noPi, PiChecks.Guard, 0), "checks", "no protection information");
        yield return Case("24-bit ref tag too wide", () => new(s_interleaved, PiChecks.All, 0x100_0000), "initialReferenceTag", "24-bit reference tag");
        yield return Case("ref tag without PI", () => new(s_noPi, PiChecks.None, 1), "initialReferenceTag", "0-bit reference tag");
        yield return Case("8-bit storage tag too wide", () => new(s_interleaved, PiChecks.All, 0, storageTag: 0x100), "storageTag", "8-bit storage tag");
        yield return Case("storage tag with STS 0", () => new(new ProtectionFormat(512, 8, PiGuardFormat.Guard16, PiType.Type1), PiChecks.All, 0, storageTag: 1),
            "storageTag", "0-bit storage tag");
        yield return Case("24-bit ref tag moved too far", () => new ProtectionContext(s_separate, PiChecks.All, 0).WithInitialReferenceTag(1UL << 24),
            "initialReferenceTag", "24-bit reference tag");
    }

    [TestCaseSource(nameof(InvalidContexts))]
    public void InvalidContextIsRejectedNamingTheRule(Func<ProtectionContext> create, string parameter, string rule)
        => Assert.That(() => create(), Throws.InstanceOf<ArgumentException>().With.Message.Contains(rule).And.Property("ParamName").EqualTo(parameter));

    [Test]
    public void WidestTagsAreAccepted()
    {
        var context = new ProtectionContext(s_separate, PiChecks.All, 0xFF_FFFF, 0xFFFF, 0xFFFF, 0xFF_FFFF);
        Assert.That((context.InitialReferenceTag, context.StorageTag), Is.EqualTo((0xFF_FFFFUL, 0xFF_FFFFUL)));
        var full = new ProtectionFormat(4096, 16, PiGuardFormat.Guard32, PiType.Type1, storageTagSize: 16);
        Assert.That(new ProtectionContext(full, PiChecks.All, ulong.MaxValue).ExpectedReferenceTag(1), Is.Zero);
    }

    private static IEnumerable<TestCaseData> BadBuffers()
    {
        TestCaseData Case(string name, ProtectionFormat format, Action<ProtectionContext, byte[], byte[]> call, string parameter, string message)
            => new TestCaseData(format, call, parameter, message).SetName($"Rejects {name}");
        // s_interleaved: 2 extended blocks of 528 bytes; s_separate: 2 x 4096 data, 2 x 16 metadata.
        yield return Case("Generate with short interleaved data", s_interleaved, (c, d, m) => c.Generate(d.AsSpan(0, 1055), default, 2), "data",
            "holds 1055 bytes; 2 extended blocks (512 data + 16 metadata) of 528 bytes need 1056");
        yield return Case("Verify with metadata for the interleaved layout", s_interleaved, (c, d, m) => c.Verify(d, m.AsSpan(0, 32), 2, out _), "metadata",
            "must be empty for the interleaved");
        yield return Case("Generate with short separate data", s_separate, (c, d, m) => c.Generate(d.AsSpan(0, 8191), m, 2), "data",
            "holds 8191 bytes; 2 data blocks (separate metadata layout) of 4096 bytes need 8192");
        yield return Case("Verify with short separate metadata", s_separate, (c, d, m) => c.Verify(d, m.AsSpan(0, 31), 2, out _), "metadata",
            "holds 31 bytes; 2 metadata entries of 16 bytes need 32");
        yield return Case("zero blocks", s_interleaved, (c, d, m) => c.Generate(d, default, 0), "blockCount", "at least 1");
        yield return Case("negative blocks", s_separate, (c, d, m) => c.Verify(d, m, -3, out _), "blockCount", "at least 1");
        yield return Case("Strip into a short buffer", s_interleaved, (c, d, m) => c.Strip(d, new byte[1023], 2), "dataOnly", "need 1024");
        yield return Case("Strip from a short buffer", s_interleaved, (c, d, m) => c.Strip(d.AsSpan(0, 600), new byte[1024], 2), "extended", "need 1056");
        yield return Case("Insert from a short buffer", s_interleaved, (c, d, m) => c.Insert(new byte[1000], d, 2), "dataOnly", "need 1024");
        yield return Case("Insert into a short buffer", s_interleaved, (c, d, m) => c.Insert(new byte[1024], d.AsSpan(0, 1000), 2), "extended", "need 1056");
        yield return Case("GenerateCopy from a short host buffer", s_separate, (c, d, m) => c.GenerateCopy(new byte[8000], d, m, 2), "hostData", "need 8192");
        yield return Case("GenerateCopy into short DMA metadata", s_separate, (c, d, m) => c.GenerateCopy(new byte[8192], d, m.AsSpan(0, 16), 2), "dmaMetadata", "need 32");
        yield return Case("VerifyCopy into a short host buffer", s_separate, (c, d, m) => c.VerifyCopy(d, m, new byte[4096], 2, out _), "hostData", "need 8192");
        yield return Case("VerifyCopy from short DMA data", s_interleaved, (c, d, m) => c.VerifyCopy(d.AsSpan(0, 528), default, new byte[1024], 2, out _), "dmaData", "need 1056");
    }

    [TestCaseSource(nameof(BadBuffers))]
    public void WrongBufferSizesAreRejectedAndNothingIsWritten(ProtectionFormat format, Action<ProtectionContext, byte[], byte[]> call,
        string parameter, string message)
    {
        var context = new ProtectionContext(format, PiChecks.All, 3, 0x42, 0xFFFF, 5);
        byte[] data = new byte[format.DataBytes(2)];
        byte[] metadata = new byte[Math.Max(32, format.MetadataBytes(2))];
        new Random(3).NextBytes(data);
        byte[] dataBefore = (byte[])data.Clone(), metadataBefore = (byte[])metadata.Clone();

        Assert.That(() => call(context, data, metadata), Throws.InstanceOf<ArgumentException>().With.Message.Contains(message).And.Property("ParamName").EqualTo(parameter));
        Assert.That(data, Is.EqualTo(dataBefore));
        Assert.That(metadata, Is.EqualTo(metadataBefore));
    }

    [Test]
    public void LongerBuffersAreAcceptedAndOnlyTheirBlocksTouched()
    {
        var context = new ProtectionContext(s_interleaved, PiChecks.All, 3);
        byte[] data = new byte[3 * 528];
        data.AsSpan(2 * 528).Fill(0xAB);
        context.Generate(data, default, 2);
        Assert.That(data[(2 * 528)..], Is.All.EqualTo(0xAB));
        Assert.That(context.Verify(data, default, 2, out _), Is.True);
    }

    [Test]
    public void DefaultContextThrowsInvalidOperation()
    {
        ProtectionContext context = default;
        Assert.That(() => context.Generate(new byte[600], default, 1), Throws.InvalidOperationException.With.Message.Contains("default(ProtectionContext)"));
        Assert.That(() => context.Strip(new byte[600], new byte[600], 1), Throws.InvalidOperationException);
        Assert.That(() => context.WithInitialReferenceTag(1), Throws.InvalidOperationException);
        Assert.That(() => new ProtectionContext(s_interleaved, PiChecks.All, 0).ExpectedReferenceTag(-1), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void PropertiesReturnTheParameters()
    {
        var context = new ProtectionContext(s_separate, PiChecks.Guard | PiChecks.StorageTag, 77, 0x1111, 0x0F0F, 0x123, 0xFF);
        Assert.That(context.Format, Is.SameAs(s_separate));
        Assert.That((context.Checks, context.InitialReferenceTag, context.ApplicationTag, context.ApplicationTagMask, context.StorageTag, context.StorageTagMask),
            Is.EqualTo((PiChecks.Guard | PiChecks.StorageTag, 77UL, (ushort)0x1111, (ushort)0x0F0F, 0x123UL, 0xFFUL)));
        ProtectionContext moved = context.WithInitialReferenceTag(1000);
        Assert.That((moved.InitialReferenceTag, moved.ApplicationTag, moved.StorageTagMask), Is.EqualTo((1000UL, (ushort)0x1111, 0xFFUL)));
    }

    [Test]
    public void VerifyOrThrowThrowsTheFirstFailure()
    {
        var context = new ProtectionContext(s_interleaved, PiChecks.All, 3, 0x42);
        byte[] data = new byte[s_interleaved.DataBytes(4)];
        context.Generate(data, default, 4);
        Assert.That(() => context.VerifyOrThrow(data, default, 4), Throws.Nothing);
        data[2 * 528 + 528 - 5] ^= 1; // block 2, last byte of the application tag (tuple = last 8 of 16 metadata bytes)
        Assert.That(() => context.VerifyOrThrow(data, default, 4), Throws.TypeOf<ProtectionException>()
            .With.Message.EqualTo("PI application tag check failed at block 2: expected 0x42, actual 0x43")
            .And.Property("Error").EqualTo(new PiError(2, PiErrorKind.ApplicationTag, 0x42, 0x43)));
    }

    [Test]
    public void ErrorsDescribeThemselvesLikeSpdk()
    {
        var error = new PiError(3, PiErrorKind.Guard, 0x1234, 0x5678);
        var exception = new ProtectionException(error);
        Assert.That(exception.Message, Is.EqualTo("PI guard check failed at block 3: expected 0x1234, actual 0x5678"));
        Assert.That(exception.Error, Is.EqualTo(error));
        Assert.That(new PiError(0, PiErrorKind.ReferenceTag, 0xA, 0xB).ToString(), Is.EqualTo("PI reference tag check failed at block 0: expected 0xA, actual 0xB"));
        Assert.That(new[] { PiErrorKind.Guard, PiErrorKind.ApplicationTag, PiErrorKind.ReferenceTag, PiErrorKind.StorageTag, PiErrorKind.None }
            .Select(k => new PiError(0, k, 0, 0).NvmeStatusCode), Is.EqualTo(new byte[] { 0x82, 0x83, 0x84, 0x88, 0 }));
    }
}
