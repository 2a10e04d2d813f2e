using PolledNvme.Protection;

namespace PolledNvme.Tests.Emulation.Fuzz;

/// <summary>One LBA format as Identify Namespace (LBAF) and the NVM Identify Namespace (ELBAF) report it.</summary>
internal readonly record struct FormatEntry(int BlockSize, int MetadataSize, int GuardFormat, int StorageTagSize)
{
    /// <summary>32b/64b guard or a storage tag: usable only with Host Behavior LBAFEE = 1.</summary>
    public bool NeedsLbafee => GuardFormat != 0 || StorageTagSize != 0;
    public int TupleSize => GuardFormat == 0 ? 8 : 16;
}

/// <summary>What the fuzzer believes about one namespace: its format table, the format in use, and so its geometry.</summary>
internal sealed class NamespaceModel(uint id, long capacityBytes, FormatEntry[] formats)
{
    public uint Id { get; } = id;
    public long CapacityBytes { get; } = capacityBytes;
    public FormatEntry[] Formats { get; } = formats;
    public int FormatIndex { get; private set; }
    /// <summary>Metadata interleaved with the data in host buffers (FLBAS bit 4 with MS &gt; 0).</summary>
    public bool ExtendedLba { get; private set; }
    public int PiType { get; private set; }
    public bool PiFirst { get; private set; }
    /// <summary>The PI layout in use (the Protection library's, used for tag packing and masks), or null without PI.</summary>
    public ProtectionFormat? Pi { get; private set; }

    public FormatEntry Format => Formats[FormatIndex];
    public int BlockSize => Format.BlockSize;
    public int MetadataSize => Format.MetadataSize;
    public long BlockCount => CapacityBytes / BlockSize;

    /// <summary>Takes the format Format NVM (or Identify at start) selected.</summary>
    public void Select(int formatIndex, bool extendedLba, int piType, bool piFirst)
    {
        FormatIndex = formatIndex;
        ExtendedLba = extendedLba && Format.MetadataSize > 0;
        PiType = piType;
        PiFirst = piFirst;
        Pi = piType == 0 ? null : new ProtectionFormat(BlockSize, MetadataSize, (PiGuardFormat)Format.GuardFormat, (PiType)piType,
            piFirst ? PiLocation.First : PiLocation.Last, Format.StorageTagSize, MetadataLayout.Separate);
    }

    /// <summary>Whether the host buffer of a Read or Write carries metadata (PI.md §5: not with PRACT=1 when MS is the PI size).</summary>
    public bool HostCarriesMetadata(bool pract) => MetadataSize != 0 && !(pract && Pi is { } pi && MetadataSize == pi.TupleSize);

    /// <summary>Bytes a Read/Write of <paramref name="blocks"/> moves through PRPs (interleaved metadata counts).</summary>
    public long HostBytes(long blocks, bool withMetadata) => blocks * (BlockSize + (withMetadata && ExtendedLba ? MetadataSize : 0));

    public override string ToString()
        => $"ns {Id}: LBAF {FormatIndex} ({BlockSize}+{MetadataSize}, pif {Format.GuardFormat}, sts {Format.StorageTagSize}), {(ExtendedLba ? "extended" : "separate")}, pi {PiType}{(PiFirst ? " first" : "")}, {BlockCount} blocks";
}

/// <summary>What the fuzzer believes about the controller: limits from Identify and CAP, and the state its commands set.</summary>
internal sealed class ControllerModel
{
    public required NamespaceModel[] Namespaces { get; init; }
    public required int MaxIoQueuePairs { get; init; }
    /// <summary>CAP.MQES + 1.</summary>
    public required int MaxQueueEntries { get; init; }
    /// <summary>MDTS in bytes.</summary>
    public required int MaxTransferBytes { get; init; }
    /// <summary>AERL + 1.</summary>
    public required int AsyncEventLimit { get; init; }
    /// <summary>CTRATT.ELBAS: LBAFEE may be set.</summary>
    public required bool ExtendedFormatsSupported { get; init; }
    /// <summary>OACS bit 8: Doorbell Buffer Config is offered.</summary>
    public required bool DoorbellBufferConfigSupported { get; init; }

    /// <summary>CC.MPS as a byte count.</summary>
    public int PageSize { get; set; } = 4096;
    public int SqAllocated { get; set; }
    public int CqAllocated { get; set; }
    public bool Lbafee { get; set; }
    public int HeldAsyncEvents { get; set; }

    /// <summary>Controller reset: features back to defaults, no events held.</summary>
    public void Reset()
    {
        SqAllocated = CqAllocated = MaxIoQueuePairs;
        Lbafee = false;
        HeldAsyncEvents = 0;
    }

    public NamespaceModel? Namespace(uint nsid) => nsid >= 1 && nsid <= Namespaces.Length ? Namespaces[nsid - 1] : null;

    /// <summary>Whether I/O to <paramref name="ns"/> is refused for its format (extended formats need LBAFEE).</summary>
    public bool FormatLocked(NamespaceModel ns) => ns.Format.NeedsLbafee && !Lbafee;
}
