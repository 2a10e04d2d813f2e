using PolledNvme.Driver;
using PolledNvme.Emulation;
using PolledNvme.Protection;
using PolledNvme.Queues;

namespace PolledNvme.Tools.PiCrashWriter;

/// <summary>
/// pi-crash-writer FORMAT PATH BLOCKS FIRST_GENERATION: opens PATH through the driver as an
/// emulated controller (<see cref="CrashFormat"/>: PI type 1 with a 64b or 32b guard, so torn
/// blocks cannot pass by chance) and, generation after generation until killed: clears about a
/// quarter of the image (<see cref="CrashPattern.DeallocatedRanges"/>: Dataset Management
/// deallocate, Write Zeroes with DEAC=1, Write Zeroes with PRACT=1, in turn), then rewrites
/// every block in shuffled runs of up to 128 blocks (MDTS) with 32 commands in flight, the controller
/// inserting PI (PRACT=1) with the generation as application tag. Block contents are
/// <see cref="CrashPattern.Fill"/>(lba, generation), so a checker can tell old from new and
/// find data behind a deallocated tuple. Prints "generation N done" after each generation.
/// </summary>
internal static class Program
{
    private const int QueueDepth = 32;
    private const int MaxRun = 128;

    private static int Main(string[] args)
    {
        if (args.Length != 4)
        {
            Console.Error.WriteLine("usage: pi-crash-writer FORMAT PATH BLOCKS FIRST_GENERATION");
            return 2;
        }
        var format = CrashFormat.Named(args[0]);
        string path = args[1];
        int blocks = int.Parse(args[2]);
        int generation = int.Parse(args[3]);
        GC.KeepAlive(typeof(EmulatedController)); // the emulation package registers emu: when loaded
        using var controller = NvmeController.Open(format.DeviceString(path, blocks));
        Namespace ns = controller.Namespaces[0];
        using var qp = controller.CreateIoQueuePair(entries: QueueDepth + 1);
        // Host buffers carry metadata only when the format has more than the tuple (PRACT=1 keeps it, overwrites the PI):
        // interleaved in the data buffer (extended LBA) or in a buffer of its own (separate).
        bool interleaved = format.ExtendedLba && format.HostMetadata;
        bool separate = !format.ExtendedLba && format.HostMetadata;
        int hostBlock = interleaved ? CrashFormat.BlockSize + format.MetadataSize : CrashFormat.BlockSize;
        int maxRun = Math.Min(MaxRun, qp.MaxTransferBytes / hostBlock); // MDTS counts interleaved metadata
        var buffers = new Queue<(DmaBuffer Data, DmaBuffer? Metadata)>();
        for (int i = 0; i < QueueDepth; i++)
            buffers.Enqueue((controller.Memory.Allocate(maxRun * hostBlock), separate ? controller.Memory.Allocate(maxRun * format.MetadataSize) : null));
        int inFlight = 0;
        string? failure = null;
        Console.WriteLine("ready");
        while (true)
        {
            var ranges = CrashPattern.DeallocatedRanges(blocks, generation);
            for (int i = 0; i < ranges.Count; i++)
            {
                var (start, count) = ranges[i];
                qp.Wait(CrashPattern.ClearOf(i) switch
                {
                    CrashPattern.ClearKind.Deallocate => qp.DeallocateAsync(ns, (ulong)start, count),
                    CrashPattern.ClearKind.WriteZeroesDeallocate => qp.WriteZeroesAsync(ns, (ulong)start, count, deallocate: true),
                    _ => qp.WriteZeroesAsync(ns, (ulong)start, count, new IoProtectionOptions { Pract = true, ApplicationTag = CrashPattern.ZeroesTag }),
                });
            }
            var pi = new IoProtectionOptions { Pract = true, Checks = PiChecks.None, ApplicationTag = (ushort)generation };
            foreach (var (start, count) in CrashPattern.WriteRuns(blocks, generation, maxRun))
            {
                while (inFlight == QueueDepth)
                    qp.ProcessCompletions();
                var buffer = buffers.Dequeue();
                for (int b = 0; b < count; b++)
                {
                    Span<byte> block = buffer.Data.Span.Slice(b * hostBlock, hostBlock);
                    CrashPattern.Fill(block[..CrashFormat.BlockSize], start + b, generation);
                    block[CrashFormat.BlockSize..].Fill((byte)generation); // metadata the controller keeps beside the PI
                }
                buffer.Metadata?.Span[..(count * format.MetadataSize)].Fill((byte)generation);
                inFlight++;
                qp.Write(ns, (ulong)start, count, buffer.Data, buffer.Metadata, pi, (object? state, in IoResult result) =>
                {
                    inFlight--;
                    buffers.Enqueue(((DmaBuffer, DmaBuffer?))state!);
                    if (!result.IsSuccess)
                        failure ??= $"write of {result.BlockCount} blocks at {result.StartLba} failed: {result.Status} {result.Detail}";
                }, buffer);
            }
            while (inFlight != 0)
                qp.ProcessCompletions();
            if (failure is not null)
            {
                Console.Error.WriteLine(failure);
                return 1;
            }
            Console.WriteLine($"generation {generation} done");
            generation++;
        }
    }
}
