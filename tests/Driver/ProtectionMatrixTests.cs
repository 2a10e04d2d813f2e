using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Emulation;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>
/// End to end through the public driver API against the emulated controller, for every
/// supported format and each host PI mode; PI read back raw is compared with the Protection
/// stage's own generation.
/// </summary>
[Parallelizable(ParallelScope.None)]
public class ProtectionMatrixTests
{
    private const ulong Slba = 37;
    private const int Blocks = 4;
    private const ushort AppTag = 0x1234;

    private static IEnumerable<TestCaseData> Formats()
        => NamespaceFormat.All().Select(f => new TestCaseData(f).SetName($"{{m}}({f})"));

    private static IoProtectionOptions Options(Namespace ns, bool pract, PiChecks checks)
    {
        if (ns.PiType == PiType.Type3)
            checks &= ~PiChecks.ReferenceTag;
        if (ns.StorageTagSize == 0)
            checks &= ~PiChecks.StorageTag;
        return new IoProtectionOptions
        {
            Pract = pract,
            Checks = checks,
            ApplicationTag = AppTag,
            ApplicationTagMask = 0xFFFF,
            StorageTag = ns.StorageTagSize == 0 ? 0 : 0x5A5A_5A5A_5A5A_5A5AUL & ((1UL << ns.StorageTagSize) - 1),
        };
    }

    private static byte[] HostData(Namespace ns, int seed)
    {
        var data = new byte[Blocks * ns.BlockSize];
        new Random(seed).NextBytes(data);
        return data;
    }

    [TestCaseSource(nameof(Formats))]
    public void ControllerInsertsAndStrips(NamespaceFormat format)
    {
        using var setup = EmulatedSetup.Open(format.Address(), o => o.Mode = EmulatedControllerMode.Inline);
        Namespace ns = setup.Ns;
        Assert.That((ns.GuardFormat, ns.PiType, ns.PiLocation, ns.IsExtended, ns.MetadataSize, ns.BlockSize, ns.StorageTagSize),
            Is.EqualTo((format.Guard, format.Type, format.Location, format.Extended, format.MetadataSize, format.BlockSize, format.StorageTagSize)),
            "the namespace reports the format it was created with");
        DmaAllocator memory = setup.Controller.Memory;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        IoProtectionOptions pi = Options(ns, pract: true, PiChecks.All);

        // Write with PRACT=1: data only when MS == PI size, else data and (non-PI) metadata.
        bool dropped = ns.MetadataDropped(true);
        Assert.That(dropped, Is.EqualTo(format.MetadataSize == format.PiSize));
        using DmaBuffer data = memory.Allocate((int)ns.DataBytes(Blocks, true));
        using DmaBuffer? meta = ns.MetadataBytes(Blocks, true) == 0 ? null : memory.Allocate((int)ns.MetadataBytes(Blocks, true));
        new Random(1).NextBytes(data.Span);
        meta?.Span.Fill(0x77);
        qp.Wait(qp.WriteAsync(ns, Slba, Blocks, data, meta, pi));

        // Read with PRACT=1 and every check: the controller checks and (when MS == PI size) strips.
        using DmaBuffer back = memory.Allocate(data.Length);
        using DmaBuffer? backMeta = meta is null ? null : memory.Allocate(meta.Length);
        qp.Wait(qp.ReadAsync(ns, Slba, Blocks, back, backMeta, pi));
        if (dropped)
            Assert.That(back.Span.SequenceEqual(data.Span), "data-only read returns what was written");

        // Raw read (PRACT=0, no checks) compared with the Protection stage's own generation.
        var raw = new IoProtectionOptions();
        using DmaBuffer rawData = memory.Allocate((int)ns.DataBytes(Blocks, false));
        using DmaBuffer? rawMeta = ns.MetadataBytes(Blocks, false) == 0 ? null : memory.Allocate((int)ns.MetadataBytes(Blocks, false));
        qp.Wait(qp.ReadAsync(ns, Slba, Blocks, rawData, rawMeta, raw));
        byte[] expectedData = rawData.Span.ToArray();
        byte[] expectedMeta = rawMeta?.Span.ToArray() ?? [];
        ProtectionContext context = HostProtection.CreateContext(ns, in pi, Slba);
        context.Generate(expectedData, expectedMeta, Blocks);
        Assert.That(rawData.Span.SequenceEqual(expectedData), "PI (and data) stored by the controller equal the host engine's generation");
        Assert.That((rawMeta is null ? [] : rawMeta.Span).SequenceEqual(expectedMeta), "separate metadata (PI) equals the host engine's generation");
        Assert.That(context.Verify(rawData.Span, rawMeta is null ? default : rawMeta.Span, Blocks, out PiError error), Is.True, error.ToString());
    }

    [TestCaseSource(nameof(Formats))]
    public void HostGeneratesControllerChecksHostVerifies(NamespaceFormat format)
    {
        using var setup = EmulatedSetup.Open(format.Address(), o => o.Mode = EmulatedControllerMode.Inline);
        Namespace ns = setup.Ns;
        DmaAllocator memory = setup.Controller.Memory;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        IoProtectionOptions pi = Options(ns, pract: false, PiChecks.All);
        byte[] host = HostData(ns, 2);

        using DmaBuffer data = memory.Allocate((int)ns.DataBytes(Blocks, false));
        using DmaBuffer? meta = ns.MetadataBytes(Blocks, false) == 0 ? null : memory.Allocate((int)ns.MetadataBytes(Blocks, false));
        HostProtection.GenerateInto(ns, in pi, Slba, host, data, meta, Blocks);
        qp.Wait(qp.WriteAsync(ns, Slba, Blocks, data, meta, pi));   // the controller checks what the host generated

        using DmaBuffer back = memory.Allocate(data.Length);
        using DmaBuffer? backMeta = meta is null ? null : memory.Allocate(meta.Length);
        qp.Wait(qp.ReadAsync(ns, Slba, Blocks, back, backMeta, pi));
        var copy = new byte[host.Length];
        HostProtection.VerifyFrom(ns, in pi, Slba, back, backMeta, copy, Blocks);
        Assert.That(copy.AsSpan().SequenceEqual(host), "host data survives the round trip");
        Assert.That(back.Span.SequenceEqual(data.Span), "stored PI is exactly what the host generated");

        // Verify and Compare with the same PI settings succeed on the stored blocks.
        qp.Wait(qp.VerifyAsync(ns, Slba, Blocks, Options(ns, pract: false, PiChecks.All)));
        qp.Wait(qp.CompareAsync(ns, Slba, Blocks, data, meta, new IoProtectionOptions()));
    }

    [TestCaseSource(nameof(Formats))]
    public void ControllerInsertsHostVerifiesOnRead(NamespaceFormat format)
    {
        using var setup = EmulatedSetup.Open(format.Address(), o => o.Mode = EmulatedControllerMode.Inline);
        Namespace ns = setup.Ns;
        DmaAllocator memory = setup.Controller.Memory;
        using IoQueuePair qp = setup.Controller.CreateIoQueuePair(16);
        IoProtectionOptions insert = Options(ns, pract: true, PiChecks.None);
        byte[] host = HostData(ns, 3);

        using DmaBuffer data = memory.Allocate((int)ns.DataBytes(Blocks, true));
        using DmaBuffer? meta = ns.MetadataBytes(Blocks, true) == 0 ? null : memory.Allocate((int)ns.MetadataBytes(Blocks, true));
        if (ns.MetadataDropped(true))
            host.CopyTo(data.Span);
        else
            HostProtection.GenerateInto(ns, in insert, Slba, host, data, meta, Blocks);   // lays out data+metadata; the controller overwrites the PI
        qp.Wait(qp.WriteAsync(ns, Slba, Blocks, data, meta, insert));

        IoProtectionOptions verify = Options(ns, pract: false, PiChecks.All);
        using DmaBuffer back = memory.Allocate((int)ns.DataBytes(Blocks, false));
        using DmaBuffer? backMeta = ns.MetadataBytes(Blocks, false) == 0 ? null : memory.Allocate((int)ns.MetadataBytes(Blocks, false));
        qp.Wait(qp.ReadAsync(ns, Slba, Blocks, back, backMeta, new IoProtectionOptions()));
        var copy = new byte[host.Length];
        HostProtection.VerifyFrom(ns, in verify, Slba, back, backMeta, copy, Blocks);
        Assert.That(copy.AsSpan().SequenceEqual(host), "host data survives the round trip");

        // A host check with the wrong application tag must fail and name the block and values.
        IoProtectionOptions wrongApp = verify with { ApplicationTag = AppTag ^ 0x0F00 };
        var e = Assert.Throws<ProtectionException>(() => HostProtection.VerifyFrom(ns, in wrongApp, Slba, back, backMeta, copy, Blocks));
        Assert.That(e!.Error.Kind, Is.EqualTo(PiErrorKind.ApplicationTag));
        Assert.That(e.Error.BlockIndex, Is.Zero);
        Assert.That((e.Error.Expected, e.Error.Actual), Is.EqualTo(((ulong)(AppTag ^ 0x0F00), (ulong)AppTag)));
    }
}
