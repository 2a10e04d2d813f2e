using PolledNvme.Driver;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.GuestTest;

/// <summary>
/// Completion interrupts through VFIO against QEMU's controller: I/O queue pairs whose CQ is
/// created with IEN and an MSI-X vector bound to an eventfd (VFIO_DEVICE_SET_IRQS), through the
/// vIOMMU with interrupt remapping on. Interrupt and Adaptive pairs write and read back random
/// blocks, before and after a controller reset (the MSI-X binding outlives it).
/// </summary>
internal static class InterruptChecks
{
    public static void Run(NvmeController controller, int msixVectors, GuestLog log)
    {
        foreach (PollMode mode in new[] { PollMode.Interrupt, PollMode.Adaptive })
        {
            string name = $"msix-{mode.ToString().ToLowerInvariant()}-round-trips";
            try
            {
                using IoQueuePair qp = controller.CreateIoQueuePair(16, mode);
                int trips = RoundTrips(controller, qp, seed: (int)mode, count: 64);
                controller.Reset();
                trips += RoundTrips(controller, qp, seed: 10 + (int)mode, count: 64);
                if (mode == PollMode.Interrupt && qp.Sleeps == 0)
                    log.Fail(name, $"{trips} write/read round trips, but the pair never slept on its MSI-X eventfd");
                else
                    log.Pass(name, $"{trips} write/read round trips on queue pair {qp.Id} (MSI-X vector {qp.Id} of {msixVectors}), across a controller reset; slept {qp.Sleeps} times on the eventfd");
            }
            catch (Exception e)
            {
                log.Fail(name, $"{e.GetType().Name}: {e.Message}");
            }
        }
    }

    /// <summary>Writes random blocks (PRACT = 1 on a PI namespace: the controller generates PI) and reads them back; returns the round trips.</summary>
    private static int RoundTrips(NvmeController controller, IoQueuePair qp, int seed, int count)
    {
        Namespace ns = controller.Namespaces[0];
        bool pract = ns.PiType != PiType.None;
        var pi = new IoProtectionOptions { Pract = pract };
        var random = new Random(seed);
        const int maxBlocks = 8;
        int stride = (int)ns.DataBytes(1, pract);
        using DmaBuffer write = controller.Memory.Allocate((int)ns.DataBytes(maxBlocks, pract));
        using DmaBuffer read = controller.Memory.Allocate((int)ns.DataBytes(maxBlocks, pract));
        long metaBytes = ns.MetadataBytes(maxBlocks, pract);
        using DmaBuffer? writeMeta = metaBytes > 0 ? controller.Memory.Allocate((int)metaBytes) : null;
        using DmaBuffer? readMeta = metaBytes > 0 ? controller.Memory.Allocate((int)metaBytes) : null;
        long capacity = (long)ns.BlockCount;
        for (int i = 0; i < count; i++)
        {
            int blocks = random.Next(1, maxBlocks + 1);
            ulong lba = (ulong)random.NextInt64(0, capacity - blocks);
            random.NextBytes(write.Span);
            writeMeta?.Span.Clear();
            qp.Wait(qp.WriteAsync(ns, lba, blocks, write, writeMeta, in pi));
            read.Span.Clear();
            qp.Wait(qp.ReadAsync(ns, lba, blocks, read, readMeta, in pi));
            for (int b = 0; b < blocks; b++)
                if (!read.Span.Slice(b * stride, ns.BlockSize).SequenceEqual(write.Span.Slice(b * stride, ns.BlockSize)))
                    throw new InvalidDataException($"LBA {lba + (ulong)b} read back different data than was written ({blocks} blocks at LBA {lba}, {qp.PollMode} pair)");
        }
        return count;
    }
}
