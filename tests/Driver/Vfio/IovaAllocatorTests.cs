using NUnit.Framework;
using PolledNvme.Driver.Vfio;

namespace PolledNvme.Tests.Driver.Vfio;

public class IovaAllocatorTests
{
    private const ulong Mib = 1 << 20;
    // The ranges VT-d reports with interrupt remapping: the MSI window 0xFEE00000..0xFEEFFFFF is excluded.
    private static readonly (ulong, ulong)[] IntelRanges = { (0, 0xFEDF_FFFF), (0xFEF0_0000, 0x7F_FFFF_FFFF) };

    [Test]
    public void NeverHandsOutPageZeroAndAlignsLargeMappings()
    {
        var iovas = new IovaAllocator(IntelRanges);
        ulong small = iovas.Allocate(100);
        Assert.That(small, Is.EqualTo(0x1000ul));
        ulong huge = iovas.Allocate(2 * Mib, 2 * Mib);
        Assert.That(huge % (2 * Mib), Is.Zero);
        Assert.That(huge, Is.EqualTo(2 * Mib));
        // The gap left by alignment is used by the next small request.
        Assert.That(iovas.Allocate(4096), Is.EqualTo(0x2000ul));
    }

    [Test]
    public void SkipsTheMsiWindow()
    {
        var iovas = new IovaAllocator(IntelRanges);
        ulong below = iovas.Allocate(0xFEE0_0000 - 0x1000);
        Assert.That(below, Is.EqualTo(0x1000ul));
        ulong next = iovas.Allocate(2 * Mib, 2 * Mib);
        Assert.That(next, Is.GreaterThanOrEqualTo(0xFEF0_0000ul));
        Assert.That(next % (2 * Mib), Is.Zero);
    }

    [Test]
    public void FreedRangesCoalesce()
    {
        var iovas = new IovaAllocator(new[] { (0x1000ul, 0x4FFFul) });
        ulong a = iovas.Allocate(4096), b = iovas.Allocate(4096), c = iovas.Allocate(4096), d = iovas.Allocate(4096);
        Assert.That(iovas.FreeBytes, Is.Zero);
        iovas.Free(b, 4096);
        iovas.Free(d, 4096);
        iovas.Free(c, 4096);   // joins b and d
        Assert.That(iovas.Allocate(3 * 4096), Is.EqualTo(b));
        iovas.Free(a, 1);      // rounded to the page it came from
        Assert.That(iovas.FreeBytes, Is.EqualTo(4096ul));
    }

    [Test]
    public void ExhaustionSaysWhatIsLeft()
    {
        var iovas = new IovaAllocator(new[] { (0x1000ul, 0x2FFFul) });
        var e = Assert.Throws<InvalidOperationException>(() => iovas.Allocate(3 * 4096))!;
        Assert.That(e.Message, Does.Contain("12288 bytes").And.Contain("8192 bytes free"));
    }

    [Test]
    public void DoubleFreeAndForeignAddressesAreRejected()
    {
        var iovas = new IovaAllocator(IntelRanges);
        ulong a = iovas.Allocate(8192);
        iovas.Free(a, 8192);
        Assert.That(Assert.Throws<ArgumentException>(() => iovas.Free(a, 8192))!.Message, Does.Contain("already free"));
        Assert.That(Assert.Throws<ArgumentException>(() => iovas.Free(0x1234, 4096))!.Message, Does.Contain("not page aligned"));
    }

    [Test]
    public void BadArgumentsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => _ = new IovaAllocator(new[] { (0x2000ul, 0x1000ul) }));
        Assert.Throws<ArgumentException>(() => _ = new IovaAllocator(new[] { (0ul, 0xFFFul) }));
        Assert.Throws<ArgumentException>(() => _ = new IovaAllocator(new[] { (0ul, 0xFFFFul), (0x8000ul, 0x1FFFFul) }));
        var iovas = new IovaAllocator(IntelRanges);
        Assert.Throws<ArgumentOutOfRangeException>(() => iovas.Allocate(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => iovas.Allocate(4096, 3 * 4096));
        Assert.Throws<ArgumentOutOfRangeException>(() => iovas.Allocate(4096, 2048));
    }
}
