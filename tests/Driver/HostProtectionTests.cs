using NUnit.Framework;
using PolledNvme.Driver;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Tests.Driver;

/// <summary>Host-side PI refuses dead buffers, wrong sizes and namespaces without PI before touching any byte.</summary>
public class HostProtectionTests
{
    private const int Blocks = 4;
    private static readonly IoProtectionOptions Pi = new() { Checks = PiChecks.Guard | PiChecks.ReferenceTag };

    /// <summary>The ParamName of the ArgumentException (or subclass) <paramref name="call"/> throws.</summary>
    private static string? ParamOf(TestDelegate call) => ((ArgumentException)Assert.Throws(Is.InstanceOf<ArgumentException>(), call)!).ParamName;

    [Test]
    public void DisposedBuffersAreRefusedNamingTheArgument()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,ms=8,pi=1,size=1M");
        Namespace ns = setup.Ns;
        DmaAllocator memory = setup.Controller.Memory;
        byte[] host = new byte[Blocks * ns.BlockSize];
        using DmaBuffer data = memory.Allocate(Blocks * ns.BlockSize);
        using DmaBuffer meta = memory.Allocate(Blocks * ns.MetadataSize);
        DmaBuffer deadData = memory.Allocate(Blocks * ns.BlockSize);
        DmaBuffer deadMeta = memory.Allocate(Blocks * ns.MetadataSize);
        deadData.Dispose();
        deadMeta.Dispose();

        Assert.That(Assert.Throws<ObjectDisposedException>(() => HostProtection.GenerateInto(ns, in Pi, 0, host, deadData, meta, Blocks))!.ObjectName, Is.EqualTo("data"));
        Assert.That(Assert.Throws<ObjectDisposedException>(() => HostProtection.GenerateInto(ns, in Pi, 0, host, data, deadMeta, Blocks))!.ObjectName, Is.EqualTo("metadata"));
        Assert.That(Assert.Throws<ObjectDisposedException>(() => HostProtection.VerifyFrom(ns, in Pi, 0, deadData, meta, host, Blocks))!.ObjectName, Is.EqualTo("data"));
        Assert.That(Assert.Throws<ObjectDisposedException>(() => HostProtection.TryVerifyFrom(ns, in Pi, 0, data, deadMeta, host, Blocks, out _))!.ObjectName, Is.EqualTo("metadata"));

        HostProtection.GenerateInto(ns, in Pi, 0, host, data, meta, Blocks);
        HostProtection.VerifyFrom(ns, in Pi, 0, data, meta, host, Blocks);
    }

    [Test]
    public void SizesAreCheckedAgainstTheBlocksInTheNamespacesLayout()
    {
        using var separate = EmulatedSetup.Open("mem:lbads=512,ms=8,pi=1,size=1M");
        Namespace ns = separate.Ns;
        DmaAllocator memory = separate.Controller.Memory;
        using DmaBuffer data = memory.Allocate(Blocks * 512);
        using DmaBuffer meta = memory.Allocate(Blocks * 8);
        using DmaBuffer shortData = memory.Allocate(Blocks * 512 - 1);
        using DmaBuffer shortMeta = memory.Allocate(Blocks * 8 - 1);
        byte[] host = new byte[Blocks * 512];

        Assert.That(ParamOf(() => HostProtection.GenerateInto(ns, in Pi, 0, host, shortData, meta, Blocks)), Is.EqualTo("data"));
        Assert.That(ParamOf(() => HostProtection.GenerateInto(ns, in Pi, 0, host, data, shortMeta, Blocks)), Is.EqualTo("metadata"));
        Assert.That(ParamOf(() => HostProtection.GenerateInto(ns, in Pi, 0, host, data, null, Blocks)), Is.EqualTo("metadata"));
        Assert.That(ParamOf(() => HostProtection.GenerateInto(ns, in Pi, 0, host.AsSpan(1), data, meta, Blocks)), Is.EqualTo("hostData"));
        Assert.That(ParamOf(() => HostProtection.VerifyFrom(ns, in Pi, 0, data, meta, host.AsSpan(1), Blocks)), Is.EqualTo("hostData"));
        Assert.That(ParamOf(() => HostProtection.GenerateInto(ns, in Pi, 0, host, data, meta, 0)), Is.EqualTo("blocks"));
        Assert.That(Assert.Throws<ArgumentException>(() => HostProtection.GenerateInto(ns, in Pi, 0, host, data, null, Blocks))!.Message,
            Does.Contain("separate metadata").And.Contain($"{Blocks * 8} bytes"));

        using var extended = EmulatedSetup.Open("mem:lbads=512,ms=8,mset=1,pi=1,size=1M");
        using DmaBuffer interleaved = extended.Controller.Memory.Allocate(Blocks * 520);
        using DmaBuffer stray = extended.Controller.Memory.Allocate(Blocks * 8);
        Assert.That(ParamOf(() => HostProtection.GenerateInto(extended.Ns, in Pi, 0, host, interleaved, stray, Blocks)), Is.EqualTo("metadata"), "extended LBAs take no metadata buffer");
        HostProtection.GenerateInto(extended.Ns, in Pi, 0, host, interleaved, null, Blocks);
    }

    [Test]
    public void ANamespaceWithoutPiOrNoNamespaceIsRefused()
    {
        using var setup = EmulatedSetup.Open("mem:lbads=512,size=1M");
        using DmaBuffer data = setup.Controller.Memory.Allocate(Blocks * 512);
        byte[] host = new byte[Blocks * 512];
        var e = Assert.Throws<InvalidOperationException>(() => HostProtection.GenerateInto(setup.Ns, in Pi, 0, host, data, null, Blocks))!;
        Assert.That(e.Message, Does.Contain("not formatted with protection information"));
        Assert.That(Assert.Throws<ArgumentNullException>(() => HostProtection.VerifyFrom(null!, in Pi, 0, data, null, host, Blocks))!.ParamName, Is.EqualTo("ns"));
    }
}
