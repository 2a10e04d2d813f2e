using PolledNvme.Driver;
using PolledNvme.Protection;

namespace PolledNvme.Examples.Hello;

/// <summary>
/// Opens an emulated namespace (4 KiB blocks, 8 bytes of metadata, PI Type 1), writes 8 blocks
/// with the controller inserting PI, reads them back with every check on, then reads the stored
/// PI tuples raw and prints them.
/// </summary>
public static class HelloProgram
{
    /// <summary>The emulated device the example opens (RAM backend).</summary>
    public const string Address = "mem:lbads=4096,ms=8,pi=1,size=16M";

    /// <summary>Application tag the example writes and checks.</summary>
    public const ushort ApplicationTag = 0x4E56;

    /// <summary>Runs the example, printing to <paramref name="output"/>.</summary>
    public static void Run(TextWriter output)
    {
        using var controller = NvmeController.Open(Address);
        Namespace ns = controller.Namespaces[0];
        using var qp = controller.CreateIoQueuePair(entries: 64);
        using var data = controller.Memory.Allocate(8 * ns.BlockSize);
        using var metadata = controller.Memory.Allocate(8 * ns.MetadataSize);
        FillPattern(data.Span, ns.BlockSize);

        // PRACT = 1: the controller computes guard, stores our app tag and the LBA as reference tag.
        var insert = new IoProtectionOptions { Pract = true, Checks = PiChecks.Guard | PiChecks.ApplicationTag | PiChecks.ReferenceTag, ApplicationTag = ApplicationTag };
        qp.Wait(qp.WriteAsync(ns, slba: 0, blocks: 8, data, null, insert));

        // Read back with guard, application and reference tag checks; PRACT = 1 strips the PI.
        data.Span.Clear();
        qp.Wait(qp.ReadAsync(ns, slba: 0, blocks: 8, data, null, insert));
        output.WriteLine($"read 8 blocks of {ns.BlockSize} bytes from {ns}: every check passed");

        // PRACT = 0 and no checks: the stored tuples (the last PiSize bytes of each block's metadata) arrive in the separate metadata buffer.
        qp.Wait(qp.ReadAsync(ns, slba: 0, blocks: 8, data, metadata, IoProtectionOptions.None));
        for (int block = 0; block < 8; block++)
        {
            PiTuple tuple = PiTuple.Read(metadata.Span.Slice((block + 1) * ns.MetadataSize - ns.PiSize, ns.PiSize), ns.GuardFormat, ns.StorageTagSize);
            output.WriteLine($"lba {block}: guard {tuple.Guard:X4} app {tuple.ApplicationTag:X4} ref {tuple.ReferenceTag:X8}");
        }
    }

    /// <summary>The data the example writes: block <c>b</c>, byte <c>i</c> holds <c>(b * 31 + i) mod 256</c>.</summary>
    public static void FillPattern(Span<byte> data, int blockSize)
    {
        for (int i = 0; i < data.Length; i++)
            data[i] = (byte)((i / blockSize * 31 + i) & 0xFF);
    }
}
