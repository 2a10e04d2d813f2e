using System.Runtime.InteropServices;
using NUnit.Framework;
using PolledNvme.Driver.Spec;
using PolledNvme.Emulation;

namespace PolledNvme.Tests.Emulation;

/// <summary>The controller's DMA address space (its IOMMU): mapping rules and what unmapping does to the device's reach.</summary>
public unsafe class DmaMappingTests
{
    [Test]
    public void IovasAreNotHostAddressesAndMappingsAreSeparatedByAGuardPage()
    {
        using var host = TestHost.Create();
        var a = host.Alloc(4096);
        var b = host.Alloc(8192);
        Assert.That(a.Iova, Is.GreaterThanOrEqualTo(DmaAddressSpace.IovaBase));
        Assert.That(a.Iova, Is.Not.EqualTo((ulong)a.Pointer));
        Assert.That(b.Iova, Is.EqualTo(a.Iova + 8192), "one unmapped page between mappings");
    }

    [Test]
    public void BadMapAndUnmapRequestsThrowWithTheRule()
    {
        using var host = TestHost.Create();
        var transport = host.Transport;
        var buffer = host.Alloc(8192);
        Assert.Multiple(() =>
        {
            Assert.That(Assert.Throws<ArgumentException>(() => transport.Map(0, 4096))!.Message, Does.Contain("null"));
            Assert.That(Assert.Throws<ArgumentException>(() => transport.Map((nint)buffer.Pointer + 8, 4096))!.Message, Does.Contain("4 KiB aligned"));
            Assert.That(Assert.Throws<ArgumentException>(() => transport.Map((nint)buffer.Pointer, 0))!.Message, Does.Contain("zero"));
            Assert.That(Assert.Throws<ArgumentException>(() => transport.Map((nint)buffer.Pointer + 4096, 4096))!.Message, Does.Contain("overlaps"));
            Assert.That(Assert.Throws<ArgumentException>(() => transport.Unmap(buffer.Iova + 4096, 4096))!.Message, Does.Contain("not the start of a mapping"));
            Assert.That(Assert.Throws<ArgumentException>(() => transport.Unmap(buffer.Iova, 4096))!.Message, Does.Contain("does not match"));
        });
    }

    [Test]
    public void UnmappedMemoryIsOutOfTheDevicesReach()
    {
        using var host = TestHost.Create();
        var q = host.Start();
        byte* memory = (byte*)NativeMemory.AlignedAlloc(4096, 4096);
        try
        {
            ulong iova = host.Transport.Map((nint)memory, 4096);
            TestHost.Expect(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 1, iova)), NvmeStatus.Success, "mapped");
            host.Transport.Unmap(iova, 4096);
            Assert.That(host.Execute(q, TestHost.Rw(NvmOpcode.Read, 0, 1, iova)).Status, Is.EqualTo(NvmeStatus.DataTransferError.Value));
        }
        finally
        {
            NativeMemory.AlignedFree(memory);
        }
    }
}
