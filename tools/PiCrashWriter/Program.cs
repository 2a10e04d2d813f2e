using PolledNvme.Emulation;
using PolledNvme.Protection;

namespace PolledNvme.Tools.PiCrashWriter;

/// <summary>
/// pi-crash-writer PATH BLOCKS FIRST_GENERATION: opens PATH as an emulated namespace
/// (lbads=12, ms=16, pi=1, pif=2: a CRC-64 guard, so torn blocks cannot pass by chance) and
/// rewrites every block, generation after generation, in a shuffled order, until killed.
/// Block contents are <see cref="CrashPattern.Fill"/>(lba, generation) and the application tag
/// is the generation, so a checker can tell old from new. Prints "generation N done" after each pass.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length != 3)
        {
            Console.Error.WriteLine("usage: pi-crash-writer PATH BLOCKS FIRST_GENERATION");
            return 2;
        }
        string path = args[0];
        int blocks = int.Parse(args[1]);
        int generation = int.Parse(args[2]);
        using var ns = new EmulatedNamespace(1, CrashPattern.NamespaceOptions(path, blocks));
        ProtectionFormat pi = ns.Protection!;
        var data = new byte[pi.BlockSize];
        var metadata = new byte[pi.MetadataSize];
        var order = new int[blocks];
        for (int i = 0; i < blocks; i++)
            order[i] = i;
        Console.WriteLine("ready");
        while (true)
        {
            new Random(generation).Shuffle(order);
            foreach (int lba in order)
            {
                CrashPattern.Fill(data, lba, generation);
                var context = new ProtectionContext(pi, PiChecks.None, (ulong)lba & pi.ReferenceTagMask, applicationTag: (ushort)generation);
                context.Generate(data, metadata, 1);
                ns.Write(lba, 1, data, metadata);
            }
            Console.WriteLine($"generation {generation} done");
            generation++;
        }
    }
}
