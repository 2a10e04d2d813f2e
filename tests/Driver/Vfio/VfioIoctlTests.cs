using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NUnit.Framework;
using PolledNvme.Driver.Vfio;

namespace PolledNvme.Tests.Driver.Vfio;

/// <summary>ioctl numbers and argument layouts against linux/vfio.h (as strace decodes them).</summary>
public class VfioIoctlTests
{
    // Known values of _IO(';', 100 + n) from linux/vfio.h.
    [TestCase(nameof(VfioIoctl.GetApiVersion), 0x3B64)]
    [TestCase(nameof(VfioIoctl.CheckExtension), 0x3B65)]
    [TestCase(nameof(VfioIoctl.SetIommu), 0x3B66)]
    [TestCase(nameof(VfioIoctl.GroupGetStatus), 0x3B67)]
    [TestCase(nameof(VfioIoctl.GroupSetContainer), 0x3B68)]
    [TestCase(nameof(VfioIoctl.GroupUnsetContainer), 0x3B69)]
    [TestCase(nameof(VfioIoctl.GroupGetDeviceFd), 0x3B6A)]
    [TestCase(nameof(VfioIoctl.DeviceGetInfo), 0x3B6B)]
    [TestCase(nameof(VfioIoctl.DeviceGetRegionInfo), 0x3B6C)]
    [TestCase(nameof(VfioIoctl.DeviceReset), 0x3B6F)]
    [TestCase(nameof(VfioIoctl.IommuGetInfo), 0x3B70)]
    [TestCase(nameof(VfioIoctl.IommuMapDma), 0x3B71)]
    [TestCase(nameof(VfioIoctl.IommuUnmapDma), 0x3B72)]
    public void RequestNumbersMatchLinuxVfioH(string name, int expected)
    {
        int actual = (int)typeof(VfioIoctl).GetField(name)!.GetValue(null)!;
        Assert.That(actual, Is.EqualTo(expected), $"{name} = 0x{actual:X}");
    }

    [Test]
    public void ArgumentStructSizes()
    {
        Assert.That(Unsafe.SizeOf<VfioGroupStatus>(), Is.EqualTo(8));
        Assert.That(Unsafe.SizeOf<VfioDeviceInfo>(), Is.EqualTo(16));
        Assert.That(Unsafe.SizeOf<VfioRegionInfo>(), Is.EqualTo(32));
        Assert.That(Unsafe.SizeOf<VfioIommuType1Info>(), Is.EqualTo(24));
        Assert.That(Unsafe.SizeOf<VfioInfoCapHeader>(), Is.EqualTo(8));
        Assert.That(Unsafe.SizeOf<VfioIovaRange>(), Is.EqualTo(16));
        Assert.That(Unsafe.SizeOf<VfioIommuType1DmaMap>(), Is.EqualTo(32));
        Assert.That(Unsafe.SizeOf<VfioIommuType1DmaUnmap>(), Is.EqualTo(24));
    }

    [TestCase(typeof(VfioRegionInfo), nameof(VfioRegionInfo.Index), 8)]
    [TestCase(typeof(VfioRegionInfo), nameof(VfioRegionInfo.Size), 16)]
    [TestCase(typeof(VfioRegionInfo), nameof(VfioRegionInfo.Offset), 24)]
    [TestCase(typeof(VfioIommuType1DmaMap), nameof(VfioIommuType1DmaMap.Vaddr), 8)]
    [TestCase(typeof(VfioIommuType1DmaMap), nameof(VfioIommuType1DmaMap.Iova), 16)]
    [TestCase(typeof(VfioIommuType1DmaMap), nameof(VfioIommuType1DmaMap.Size), 24)]
    [TestCase(typeof(VfioIommuType1DmaUnmap), nameof(VfioIommuType1DmaUnmap.Iova), 8)]
    [TestCase(typeof(VfioIommuType1Info), nameof(VfioIommuType1Info.CapOffset), 16)]
    public void FieldOffsets(Type type, string field, int offset)
        => Assert.That((int)Marshal.OffsetOf(type, field), Is.EqualTo(offset));

    [Test]
    public unsafe void IovaRangeCapabilityIsFoundAlongTheChain()
    {
        // vfio_iommu_type1_info (24 B), then a foreign capability (id 3, 16 B), then IOVA ranges
        // as the kernel reports them with interrupt remapping: the MSI window is a hole.
        byte[] buffer = new byte[24 + 16 + 16 + 2 * 16];
        fixed (byte* p = buffer)
        {
            *(VfioInfoCapHeader*)(p + 24) = new VfioInfoCapHeader { Id = 3, Version = 1, Next = 40 };
            *(VfioInfoCapHeader*)(p + 40) = new VfioInfoCapHeader { Id = VfioIoctl.IommuCapIovaRange, Version = 1, Next = 0 };
            *(uint*)(p + 48) = 2;
            ((VfioIovaRange*)(p + 56))[0] = new VfioIovaRange { Start = 0, End = 0xFEDF_FFFF };
            ((VfioIovaRange*)(p + 56))[1] = new VfioIovaRange { Start = 0xFEF0_0000, End = 0x7F_FFFF_FFFF };
            var ranges = new List<(ulong, ulong)>();
            VfioContainer.ReadIovaRanges(p, buffer.Length, 24, ranges);
            Assert.That(ranges, Is.EqualTo(new[] { (0ul, 0xFEDF_FFFFul), (0xFEF0_0000ul, 0x7F_FFFF_FFFFul) }));

            // A count that runs past the buffer is ignored rather than read out of bounds.
            *(uint*)(p + 48) = 1000;
            ranges.Clear();
            VfioContainer.ReadIovaRanges(p, buffer.Length, 24, ranges);
            Assert.That(ranges, Is.Empty);
        }
    }
}
