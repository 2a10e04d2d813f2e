using System.Runtime.InteropServices;
using PolledNvme.Driver.Spec;
using PolledNvme.Driver.Vfio;
using Tmds.Linux;

namespace PolledNvme.GuestTest;

/// <summary>
/// First-milestone checks: the VFIO chain works end to end (BAR0 is QEMU's NVMe register
/// file, and memory can be mapped for DMA and unmapped again).
/// </summary>
internal static unsafe class TransportChecks
{
    public static void Run(VfioTransport transport, GuestLog log)
    {
        var cap = new ControllerCapabilities(transport.Registers.Read64(ControllerRegisters.Cap));
        uint vs = transport.Registers.Read32(ControllerRegisters.Vs);
        uint csts = transport.Registers.Read32(ControllerRegisters.Csts);
        log.Info($"CAP=0x{cap.Value:x16} (MQES {cap.Mqes + 1}, TO {cap.To * 500} ms, DSTRD {cap.Dstrd}, CSS 0x{cap.Css:x2}, MPSMIN {4096 << cap.Mpsmin}) VS=0x{vs:x8} CSTS=0x{csts:x8}");
        // NVMe Base §3.1.4.2: VS is MJR[31:16] MNR[15:8]; QEMU 7.2 reports 1.4. CSS bit 0: NVM command set.
        if (vs >> 16 >= 1 && (cap.Css & 1) != 0 && cap.Value != ulong.MaxValue)
            log.Pass("bar0-registers", $"NVMe {vs >> 16}.{(vs >> 8) & 0xFF} controller, CSTS.RDY={csts & 1}");
        else
            log.Fail("bar0-registers", $"BAR0 does not look like NVMe registers (CAP 0x{cap.Value:x}, VS 0x{vs:x})");

        const int length = 2 << 20;
        void* memory = LibC.mmap(null, length, LibC.PROT_READ | LibC.PROT_WRITE,
            LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_HUGETLB | LibC.MAP_POPULATE, -1, 0);
        if (memory == LibC.MAP_FAILED)
        {
            log.Fail("dma-map", $"mmap of a 2 MiB hugepage failed (errno {Marshal.GetLastPInvokeError()}): reserve hugepages in the guest");
            return;
        }
        try
        {
            ulong iova = transport.Map((nint)memory, length);
            bool mapped = transport.MappingCount == 1 && iova != 0 && iova % (2 << 20) == 0;
            transport.Unmap(iova, length);
            if (mapped && transport.MappingCount == 0)
                log.Pass("dma-map", $"2 MiB hugepage mapped at IOVA 0x{iova:x} and unmapped");
            else
                log.Fail("dma-map", $"IOVA 0x{iova:x}, mappings {transport.MappingCount}");
        }
        finally
        {
            LibC.munmap(memory, length);
        }
    }
}
