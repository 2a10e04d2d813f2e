using PolledNvme.Emulation;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>One controller the fuzzer drives: its options (namespaces, backends, limits) and its share of the commands.</summary>
internal sealed record FuzzConfig(string Name, int Weight, EmulatedControllerMode Mode, int Mdts, int MaxQueueEntries, int IoQueuePairs,
    int DoorbellStride, int FormatPercent, EmulatedNamespaceOptions[] Namespaces, bool ShadowDoorbells = false,
    bool ShadowDoorbellsInForce = false, bool BrokenHostSkipsKicks = false)
{
    // BrokenHostSkipsKicks (self-tests only): under shadow doorbells the host never writes the MMIO doorbell.
    public int MaxTransferBytes => 4096 << Mdts;

    /// <summary>The controller options; file namespaces get paths in <paramref name="directory"/>.</summary>
    public EmulatedControllerOptions Options(string directory)
    {
        var namespaces = new List<EmulatedNamespaceOptions>();
        for (int i = 0; i < Namespaces.Length; i++)
        {
            var ns = Namespaces[i].Clone();
            if (ns.Backend == MediaBackendKind.File)
                ns.FilePath = Path.Combine(directory, $"ns{i + 1}.img");
            namespaces.Add(ns);
        }
        return new EmulatedControllerOptions
        {
            Mode = Mode,
            Mdts = Mdts,
            MaxQueueEntries = MaxQueueEntries,
            MaxIoQueuePairs = IoQueuePairs,
            DoorbellStride = DoorbellStride,
            ShadowDoorbells = ShadowDoorbells || ShadowDoorbellsInForce,
            Namespaces = namespaces,
        };
    }

    public string Describe() => $"{Name}: {Mode}, MDTS {MaxTransferBytes / 1024} KiB, MQES+1 {MaxQueueEntries}, {IoQueuePairs} queue pairs, DSTRD {DoorbellStride}{(ShadowDoorbellsInForce ? ", dbbuf in force" : ShadowDoorbells ? ", dbbuf offered" : "")}; "
        + string.Join("; ", Namespaces.Select((n, i) => $"ns {i + 1} {n.Backend} {n.BlockSize}+{n.MetadataSize} pi {n.PiType}{(n.PiType != 0 ? (n.PiFirst ? " first" : " last") : "")} pif {n.GuardFormat} sts {n.StorageTagSize}{(n.ExtendedLba ? " extended" : "")} {n.CapacityBytes >> 10} KiB"));

    public override string ToString() => Name;

    private static EmulatedNamespaceOptions Ns(MediaBackendKind backend, int blockSize, int metadataSize, int pi = 0, bool first = false,
        int pif = 0, int sts = 0, bool extended = false, int kib = 1024)
        => new()
        {
            Backend = backend, BlockSize = blockSize, MetadataSize = metadataSize, PiType = pi, PiFirst = first,
            GuardFormat = pif, StorageTagSize = sts, ExtendedLba = extended, CapacityBytes = kib * 1024L, DirectIo = false,
        };

    /// <summary>
    /// The controllers of every run: RAM, file and null backends; 16b/32b/64b guard, PI types
    /// 1-3 first and last, extended and separate metadata, metadata without PI, no metadata;
    /// 512 and 4096-byte blocks; small and large MDTS, queues of 2 entries up to 256; an inline
    /// device (deterministic) and a threaded one (the device thread must survive everything; its
    /// file namespace completes out of order on the asynchronous media path); MMIO doorbells, and
    /// shadow doorbells in force (the host follows EventIdx, the device waits for the kicks it asks for).
    /// </summary>
    public static FuzzConfig[] All { get; } =
    [
        new("ram-16b", 20, EmulatedControllerMode.Inline, Mdts: 5, MaxQueueEntries: 64, IoQueuePairs: 4, DoorbellStride: 0, FormatPercent: 8,
            [Ns(MediaBackendKind.Ram, 512, 8, pi: 1), Ns(MediaBackendKind.Ram, 4096, 64, pi: 3, first: true, extended: true)]),
        new("ram-32b-64b", 20, EmulatedControllerMode.Inline, Mdts: 4, MaxQueueEntries: 128, IoQueuePairs: 8, DoorbellStride: 2, FormatPercent: 8,
            [Ns(MediaBackendKind.Ram, 4096, 16, pi: 2, pif: 1, sts: 16, extended: true), Ns(MediaBackendKind.Ram, 4096, 64, pi: 1, first: true, pif: 2, sts: 18),
             Ns(MediaBackendKind.Ram, 512, 0, kib: 512)], ShadowDoorbellsInForce: true),
        new("file", 15, EmulatedControllerMode.Inline, Mdts: 6, MaxQueueEntries: 256, IoQueuePairs: 4, DoorbellStride: 1, FormatPercent: 3,
            [Ns(MediaBackendKind.File, 4096, 16, pi: 1, pif: 2), Ns(MediaBackendKind.File, 512, 64, extended: true, kib: 512)]),
        new("null", 15, EmulatedControllerMode.Inline, Mdts: 7, MaxQueueEntries: 32, IoQueuePairs: 2, DoorbellStride: 0, FormatPercent: 8,
            [Ns(MediaBackendKind.Null, 4096, 8, pi: 2), Ns(MediaBackendKind.Null, 512, 0)], ShadowDoorbells: true),
        new("ram-nopi-tiny", 15, EmulatedControllerMode.Inline, Mdts: 1, MaxQueueEntries: 2, IoQueuePairs: 3, DoorbellStride: 3, FormatPercent: 8,
            [Ns(MediaBackendKind.Ram, 4096, 0, kib: 512), Ns(MediaBackendKind.Ram, 512, 16, kib: 256), Ns(MediaBackendKind.Ram, 512, 8, pi: 1, sts: 8, first: true, extended: true, kib: 256)]),
        new("threaded", 15, EmulatedControllerMode.Threaded, Mdts: 5, MaxQueueEntries: 64, IoQueuePairs: 4, DoorbellStride: 0, FormatPercent: 8,
            [Ns(MediaBackendKind.Ram, 4096, 16, pi: 1, sts: 8, extended: true), Ns(MediaBackendKind.Ram, 512, 8, pi: 3, first: true),
             Ns(MediaBackendKind.File, 4096, 8, pi: 1, extended: true)], ShadowDoorbellsInForce: true),
    ];
}
