using PolledNvme.Protection;

namespace PolledNvme.Tests.Protection;

/// <summary>One format of the test matrix, with a readable name for the test explorer.</summary>
public sealed record PiCase(PiGuardFormat Guard, PiType Type, int BlockSize, int MetadataSize, PiLocation Location,
    int Sts, MetadataLayout Layout)
{
    public ProtectionFormat Format() => new(BlockSize, MetadataSize, Guard, Type, Location, Sts, Layout);

    /// <summary>Tuple size from PI.md §1 (not from the code under test).</summary>
    public int TupleSize => Guard == PiGuardFormat.Guard16 ? 8 : 16;

    public int GuardBytes => Guard switch { PiGuardFormat.Guard16 => 2, PiGuardFormat.Guard32 => 4, _ => 8 };

    public int SpaceBits => Guard switch { PiGuardFormat.Guard16 => 32, PiGuardFormat.Guard32 => 80, _ => 48 };

    public int ReferenceTagBits => SpaceBits - Sts;

    public int TupleOffset => Location == PiLocation.First ? 0 : MetadataSize - TupleSize;

    public ulong ReferenceTagMask => Ones(ReferenceTagBits);

    public ulong StorageTagMask => Ones(Sts);

    public override string ToString()
        => $"{Guard} {Type} {BlockSize}+{MetadataSize} PI-{Location} STS{Sts} {Layout}";

    public static ulong Ones(int bits) => bits >= 64 ? ulong.MaxValue : (1UL << bits) - 1;
}

/// <summary>The generated test matrices (PI.md §1 limits: 32b/64b need 4 KiB blocks; STS ranges).</summary>
public static class PiCases
{
    public static readonly PiGuardFormat[] Guards = [PiGuardFormat.Guard16, PiGuardFormat.Guard32, PiGuardFormat.Guard64];
    public static readonly PiType[] Types = [PiType.Type1, PiType.Type2, PiType.Type3];

    /// <summary>STS: 0 or the minimum, a middle value, the maximum.</summary>
    public static int[] StsValues(PiGuardFormat guard) => guard switch
    {
        PiGuardFormat.Guard16 => [0, 16, 32],
        PiGuardFormat.Guard32 => [16, 40, 64],
        _ => [0, 24, 48],
    };

    public static int MiddleSts(PiGuardFormat guard) => StsValues(guard)[1];

    /// <summary>Every format x type x location x layout x block size x metadata size x STS that is valid.</summary>
    public static IEnumerable<PiCase> Full()
    {
        foreach (PiGuardFormat guard in Guards)
            foreach (PiType type in Types)
                foreach (PiLocation location in new[] { PiLocation.Last, PiLocation.First })
                    foreach (MetadataLayout layout in new[] { MetadataLayout.Interleaved, MetadataLayout.Separate })
                        foreach (int blockSize in new[] { 512, 4096 })
                            foreach (int metadataSize in new[] { 8, 16, 64 })
                                foreach (int sts in StsValues(guard))
                                {
                                    int tupleSize = guard == PiGuardFormat.Guard16 ? 8 : 16;
                                    if (metadataSize < tupleSize || (guard != PiGuardFormat.Guard16 && blockSize < 4096))
                                        continue;
                                    yield return new PiCase(guard, type, blockSize, metadataSize, location, sts, layout);
                                }
    }

    /// <summary>Every format x type x location x layout x metadata size, with the smallest valid block and a middle STS (both tags present).</summary>
    public static IEnumerable<PiCase> Representative()
    {
        foreach (PiGuardFormat guard in Guards)
            foreach (PiType type in Types)
                foreach (PiLocation location in new[] { PiLocation.Last, PiLocation.First })
                    foreach (MetadataLayout layout in new[] { MetadataLayout.Interleaved, MetadataLayout.Separate })
                        foreach (int metadataSize in new[] { 8, 16, 64 })
                        {
                            int tupleSize = guard == PiGuardFormat.Guard16 ? 8 : 16;
                            if (metadataSize < tupleSize)
                                continue;
                            int blockSize = guard == PiGuardFormat.Guard16 ? 512 : 4096;
                            yield return new PiCase(guard, type, blockSize, metadataSize, location, MiddleSts(guard), layout);
                        }
    }
}

/// <summary>A decoded tuple, read by a byte loop straight from PI.md §1-2 (independent of PiTuple).</summary>
public readonly record struct ReferenceTuple(ulong Guard, ushort ApplicationTag, ulong StorageTag, ulong ReferenceTag)
{
    public static ReferenceTuple Decode(PiCase c, ReadOnlySpan<byte> tuple)
    {
        ulong guard = 0;
        for (int i = 0; i < c.GuardBytes; i++)
            guard = (guard << 8) | tuple[i];
        ushort app = (ushort)((tuple[c.GuardBytes] << 8) | tuple[c.GuardBytes + 1]);
        UInt128 space = 0;
        for (int i = c.GuardBytes + 2; i < c.TupleSize; i++)
            space = (space << 8) | tuple[i];
        return new ReferenceTuple(guard, app, (ulong)(space >> c.ReferenceTagBits), (ulong)space & c.ReferenceTagMask);
    }
}

/// <summary>
/// A DMA buffer pair in a case's layout, with accessors by block that do not use the code
/// under test, and a reference guard computed from one contiguous copy of the covered bytes.
/// </summary>
public sealed class PiBuffers
{
    public PiBuffers(PiCase c, int blockCount, int seed = 1)
    {
        Case = c;
        BlockCount = blockCount;
        bool interleaved = c.Layout == MetadataLayout.Interleaved;
        Data = new byte[blockCount * (interleaved ? c.BlockSize + c.MetadataSize : c.BlockSize)];
        Metadata = new byte[interleaved ? 0 : blockCount * c.MetadataSize];
        var random = new Random(seed);
        random.NextBytes(Data);
        random.NextBytes(Metadata);
    }

    public PiCase Case { get; }
    public int BlockCount { get; }
    public byte[] Data { get; }
    public byte[] Metadata { get; }

    private bool Interleaved => Case.Layout == MetadataLayout.Interleaved;

    public Span<byte> BlockData(int block) => Interleaved
        ? Data.AsSpan(block * (Case.BlockSize + Case.MetadataSize), Case.BlockSize)
        : Data.AsSpan(block * Case.BlockSize, Case.BlockSize);

    public Span<byte> BlockMetadata(int block) => Interleaved
        ? Data.AsSpan(block * (Case.BlockSize + Case.MetadataSize) + Case.BlockSize, Case.MetadataSize)
        : Metadata.AsSpan(block * Case.MetadataSize, Case.MetadataSize);

    public Span<byte> Tuple(int block) => BlockMetadata(block).Slice(Case.TupleOffset, Case.TupleSize);

    public ReferenceTuple Decode(int block) => ReferenceTuple.Decode(Case, Tuple(block));

    /// <summary>Guard per PI.md §1: CRC of the data then, with PI last, the metadata bytes before the tuple.</summary>
    public ulong ExpectedGuard(int block)
    {
        int covered = Case.Location == PiLocation.Last ? Case.MetadataSize - Case.TupleSize : 0;
        byte[] bytes = [.. BlockData(block), .. BlockMetadata(block)[..covered]];
        return Case.Guard switch
        {
            PiGuardFormat.Guard16 => Crc16T10Dif.Compute(bytes),
            PiGuardFormat.Guard32 => Crc32C.Compute(bytes),
            _ => Crc64Nvme.Compute(bytes),
        };
    }

    /// <summary>Data only, block after block (what Strip returns).</summary>
    public byte[] DataOnly()
    {
        var result = new byte[BlockCount * Case.BlockSize];
        for (int i = 0; i < BlockCount; i++)
            BlockData(i).CopyTo(result.AsSpan(i * Case.BlockSize));
        return result;
    }

    public PiBuffers Clone()
    {
        var copy = new PiBuffers(Case, BlockCount);
        Data.CopyTo(copy.Data, 0);
        Metadata.CopyTo(copy.Metadata, 0);
        return copy;
    }

    public void Generate(in ProtectionContext context) => context.Generate(Data, Metadata, BlockCount);

    public bool Verify(in ProtectionContext context, out PiError error) => context.Verify(Data, Metadata, BlockCount, out error);
}

/// <summary>Contexts with tag values chosen to exercise the fields (never an escape by accident).</summary>
public static class PiContexts
{
    public const ushort ApplicationTag = 0x1234;

    /// <summary>An initial reference tag two below the wrap point, so a few blocks cross it.</summary>
    public static ulong InitialReferenceTag(PiCase c) => c.ReferenceTagBits == 0 ? 0 : c.ReferenceTagMask - 2;

    public static ulong StorageTag(PiCase c) => 0xA5C3_5A3C_9669_0FF0UL & c.StorageTagMask;

    public static ProtectionContext For(PiCase c, PiChecks checks = PiChecks.All)
        => new(c.Format(), checks, InitialReferenceTag(c), ApplicationTag, 0xFFFF, StorageTag(c));
}
