namespace PolledNvme.Protection;

/// <summary>
/// The per-command part of end-to-end protection (checks, initial reference tag, application
/// tag and mask, storage tag and mask) and the PI operations on many blocks at once. A
/// readonly struct over a shared <see cref="ProtectionFormat"/>, so building one per I/O
/// allocates nothing; no operation allocates.
/// </summary>
/// <remarks>
/// <para>Buffers (every operation): with <see cref="MetadataLayout.Interleaved"/> the data
/// buffer holds <c>blockCount</c> extended blocks (BlockSize + MetadataSize each) and the
/// metadata buffer is empty; with <see cref="MetadataLayout.Separate"/> the data buffer holds
/// <c>blockCount * BlockSize</c> bytes and the metadata buffer <c>blockCount * MetadataSize</c>.
/// Buffers may be longer than that: only the first blocks are touched.</para>
/// <para>Semantics (PI.md §5): the guard covers the data and, with the tuple last, the
/// metadata bytes before it. Escapes: types 1/2, application tag FFFFh disables all checks of
/// that block; type 3, application tag FFFFh and a reference tag of all ones (the application
/// tag alone when the reference tag has no bits). Reference tag = initial + block index,
/// wrapping at its width, for types 1 and 2; type 3 never checks it, and generates the
/// initial reference tag, unchanged, in every block. Checks run in the order guard,
/// application tag, reference tag, storage tag; the first failure is reported.</para>
/// <para>Copies (Strip, Insert, GenerateCopy, VerifyCopy) of 1 MiB of data or more write their
/// destination with streaming stores, like a large memcpy, and fence them before returning:
/// the destination is then in memory, not in cache.</para>
/// </remarks>
public readonly struct ProtectionContext
{
    /// <summary>Creates a context; throws <see cref="ArgumentException"/> naming the rule a value breaks.</summary>
    /// <param name="format">The namespace format.</param>
    /// <param name="checks">Which fields <c>Verify</c> compares (PRCHK + STC); must be None when the format has no PI.</param>
    /// <param name="initialReferenceTag">ILBRT/EILBRT; must fit in <see cref="ProtectionFormat.ReferenceTagBits"/>.</param>
    /// <param name="applicationTag">LBAT: generated, and compared under the mask.</param>
    /// <param name="applicationTagMask">LBATM: 1 bits are compared.</param>
    /// <param name="storageTag">LBST: must fit in STS bits.</param>
    /// <param name="storageTagMask">LBSTM: 1 bits are compared; bits above STS are ignored.</param>
    public ProtectionContext(ProtectionFormat format, PiChecks checks, ulong initialReferenceTag,
        ushort applicationTag = 0, ushort applicationTagMask = 0xFFFF, ulong storageTag = 0, ulong storageTagMask = ulong.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(format);
        if ((checks & ~PiChecks.All) != 0)
            throw new ArgumentException($"Checks 0x{(byte)checks:X2} has bits outside PiChecks.All (0x{(byte)PiChecks.All:X2}).", nameof(checks));
        if (!format.HasProtection && checks != PiChecks.None)
            throw new ArgumentException($"The format has no protection information (PiType.None), so there is nothing to check: checks must be None; got {checks}.", nameof(checks));
        if (initialReferenceTag > format.ReferenceTagMask)
            throw new ArgumentException($"Initial reference tag 0x{initialReferenceTag:X} does not fit the {format.ReferenceTagBits}-bit reference tag of this format (space bits - STS).", nameof(initialReferenceTag));
        if (storageTag > format.StorageTagMask)
            throw new ArgumentException($"Storage tag 0x{storageTag:X} does not fit the {format.StorageTagSize}-bit storage tag of this format (STS).", nameof(storageTag));
        Format = format;
        Checks = checks;
        InitialReferenceTag = initialReferenceTag;
        ApplicationTag = applicationTag;
        ApplicationTagMask = applicationTagMask;
        StorageTag = storageTag;
        StorageTagMask = storageTagMask;
    }

    /// <summary>The namespace format.</summary>
    public ProtectionFormat Format { get; }

    /// <summary>Which fields a verify compares.</summary>
    public PiChecks Checks { get; }

    /// <summary>Reference tag of block 0 of the call (ILBRT/EILBRT).</summary>
    public ulong InitialReferenceTag { get; }

    /// <summary>Application tag generated and expected (LBAT).</summary>
    public ushort ApplicationTag { get; }

    /// <summary>Application tag bits compared (LBATM).</summary>
    public ushort ApplicationTagMask { get; }

    /// <summary>Storage tag generated and expected (LBST).</summary>
    public ulong StorageTag { get; }

    /// <summary>Storage tag bits compared (LBSTM; a 0 bit is ignored).</summary>
    public ulong StorageTagMask { get; }

    /// <summary>The same context for a command starting at another reference tag.</summary>
    public ProtectionContext WithInitialReferenceTag(ulong tag)
        => new(RequireFormat(), Checks, tag, ApplicationTag, ApplicationTagMask, StorageTag, StorageTagMask);

    /// <summary>
    /// The reference tag of block <paramref name="blockIndex"/>: initial + index wrapped to the
    /// reference tag width for types 1 and 2; the initial tag for type 3 (what Generate writes);
    /// 0 without PI.
    /// </summary>
    public ulong ExpectedReferenceTag(int blockIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(blockIndex);
        return PiTagPlan.ReferenceTag(RequireFormat(), InitialReferenceTag, blockIndex);
    }

    /// <summary>Writes the PI tuple of every block (metadata bytes outside the tuple are left as they are).</summary>
    public void Generate(Span<byte> data, Span<byte> metadata, int blockCount)
    {
        ProtectionFormat format = CheckLayoutBuffers(data.Length, metadata.Length, blockCount, nameof(data), nameof(metadata));
        bool interleaved = format.Layout == MetadataLayout.Interleaved;
        switch (EngineFor(format))
        {
            case PiGuardFormat.Guard16: PiEngine<Guard16, ushort>.Generate(this, data, metadata, blockCount, interleaved); break;
            case PiGuardFormat.Guard32: PiEngine<Guard32, uint>.Generate(this, data, metadata, blockCount, interleaved); break;
            case PiGuardFormat.Guard64: PiEngine<Guard64, ulong>.Generate(this, data, metadata, blockCount, interleaved); break;
            default: break; // no PI: nothing to generate
        }
    }

    /// <summary>Checks every block per <see cref="Checks"/>; returns false with the first failure.</summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> metadata, int blockCount, out PiError error)
    {
        ProtectionFormat format = CheckLayoutBuffers(data.Length, metadata.Length, blockCount, nameof(data), nameof(metadata));
        bool interleaved = format.Layout == MetadataLayout.Interleaved;
        error = default;
        return EngineFor(format) switch
        {
            PiGuardFormat.Guard16 => PiEngine<Guard16, ushort>.Verify(this, data, metadata, blockCount, interleaved, out error),
            PiGuardFormat.Guard32 => PiEngine<Guard32, uint>.Verify(this, data, metadata, blockCount, interleaved, out error),
            PiGuardFormat.Guard64 => PiEngine<Guard64, ulong>.Verify(this, data, metadata, blockCount, interleaved, out error),
            _ => true, // no PI: nothing to check
        };
    }

    /// <summary><see cref="Verify"/> for callers that prefer exceptions.</summary>
    /// <exception cref="ProtectionException">A check failed; <see cref="ProtectionException.Error"/> says which.</exception>
    public void VerifyOrThrow(ReadOnlySpan<byte> data, ReadOnlySpan<byte> metadata, int blockCount)
    {
        if (!Verify(data, metadata, blockCount, out PiError error))
            throw new ProtectionException(error);
    }

    /// <summary>
    /// Copies the data of interleaved (extended LBA) blocks into a data-only buffer, without
    /// checking. Works on the interleaved form whatever <see cref="ProtectionFormat.Layout"/> says.
    /// </summary>
    public void Strip(ReadOnlySpan<byte> extended, Span<byte> dataOnly, int blockCount)
    {
        ProtectionFormat format = RequireFormat();
        CheckBlockCount(blockCount);
        CheckBuffer(extended.Length, blockCount, format, BufferUnit.ExtendedBlocks, nameof(extended));
        CheckBuffer(dataOnly.Length, blockCount, format, BufferUnit.DataOnlyBlocks, nameof(dataOnly));
        PiBlockCopy.CopyAllOut(format, interleaved: true, extended, dataOnly, blockCount);
    }

    /// <summary>
    /// Builds interleaved (extended LBA) blocks from data-only blocks: data copied, metadata
    /// zeroed, PI generated. Works on the interleaved form whatever <see cref="ProtectionFormat.Layout"/> says.
    /// </summary>
    public void Insert(ReadOnlySpan<byte> dataOnly, Span<byte> extended, int blockCount)
    {
        ProtectionFormat format = RequireFormat();
        CheckBlockCount(blockCount);
        CheckBuffer(dataOnly.Length, blockCount, format, BufferUnit.DataOnlyBlocks, nameof(dataOnly));
        CheckBuffer(extended.Length, blockCount, format, BufferUnit.ExtendedBlocks, nameof(extended));
        GenerateCopy(format, dataOnly, extended, Span<byte>.Empty, blockCount, interleaved: true);
    }

    /// <summary>
    /// Host data only to the DMA layout of <see cref="Format"/>, in one pass: data copied,
    /// metadata bytes outside the tuple zeroed (as <see cref="Insert"/> does), PI generated.
    /// </summary>
    public void GenerateCopy(ReadOnlySpan<byte> hostData, Span<byte> dmaData, Span<byte> dmaMetadata, int blockCount)
    {
        ProtectionFormat format = CheckLayoutBuffers(dmaData.Length, dmaMetadata.Length, blockCount, nameof(dmaData), nameof(dmaMetadata));
        CheckBuffer(hostData.Length, blockCount, format, BufferUnit.DataOnlyBlocks, nameof(hostData));
        GenerateCopy(format, hostData, dmaData, dmaMetadata, blockCount, format.Layout == MetadataLayout.Interleaved);
    }

    /// <summary>
    /// DMA layout of <see cref="Format"/> to host data only, checked and stripped in one pass.
    /// Every block's data is copied even when a check fails (the host buffer then equals what
    /// <see cref="Strip"/> gives); the first failure is returned.
    /// </summary>
    public bool VerifyCopy(ReadOnlySpan<byte> dmaData, ReadOnlySpan<byte> dmaMetadata, Span<byte> hostData, int blockCount, out PiError error)
    {
        ProtectionFormat format = CheckLayoutBuffers(dmaData.Length, dmaMetadata.Length, blockCount, nameof(dmaData), nameof(dmaMetadata));
        CheckBuffer(hostData.Length, blockCount, format, BufferUnit.DataOnlyBlocks, nameof(hostData));
        bool interleaved = format.Layout == MetadataLayout.Interleaved;
        error = default;
        switch (EngineFor(format))
        {
            case PiGuardFormat.Guard16: return PiEngine<Guard16, ushort>.VerifyCopy(this, dmaData, dmaMetadata, hostData, blockCount, interleaved, out error);
            case PiGuardFormat.Guard32: return PiEngine<Guard32, uint>.VerifyCopy(this, dmaData, dmaMetadata, hostData, blockCount, interleaved, out error);
            case PiGuardFormat.Guard64: return PiEngine<Guard64, ulong>.VerifyCopy(this, dmaData, dmaMetadata, hostData, blockCount, interleaved, out error);
            default:
                PiBlockCopy.CopyAllOut(format, interleaved, dmaData, hostData, blockCount);
                return true;
        }
    }

    /// <inheritdoc/>
    public override string ToString()
        => $"{Format} checks {Checks} ref 0x{InitialReferenceTag:X} app 0x{ApplicationTag:X4}/0x{ApplicationTagMask:X4} storage 0x{StorageTag:X}/0x{StorageTagMask:X}";

    private void GenerateCopy(ProtectionFormat format, ReadOnlySpan<byte> hostData, Span<byte> dmaData, Span<byte> dmaMetadata,
        int blockCount, bool interleaved)
    {
        switch (EngineFor(format))
        {
            case PiGuardFormat.Guard16: PiEngine<Guard16, ushort>.GenerateCopy(this, hostData, dmaData, dmaMetadata, blockCount, interleaved); break;
            case PiGuardFormat.Guard32: PiEngine<Guard32, uint>.GenerateCopy(this, hostData, dmaData, dmaMetadata, blockCount, interleaved); break;
            case PiGuardFormat.Guard64: PiEngine<Guard64, ulong>.GenerateCopy(this, hostData, dmaData, dmaMetadata, blockCount, interleaved); break;
            default: PiBlockCopy.CopyAllIn(format, interleaved, hostData, dmaData, dmaMetadata, blockCount); break;
        }
    }

    /// <summary>The one dispatch point: which specialisation of the generic engine runs; null when there is no PI.</summary>
    private static PiGuardFormat? EngineFor(ProtectionFormat format) => format.HasProtection ? format.GuardFormat : null;

    private ProtectionFormat RequireFormat()
        => Format ?? throw new InvalidOperationException("This ProtectionContext is default(ProtectionContext); create it with a ProtectionFormat.");

    /// <summary>Checks the block count and the data/metadata buffers against the format's layout.</summary>
    private ProtectionFormat CheckLayoutBuffers(int dataLength, int metadataLength, int blockCount, string dataName, string metadataName)
    {
        ProtectionFormat format = RequireFormat();
        CheckBlockCount(blockCount);
        if (format.Layout == MetadataLayout.Interleaved)
        {
            CheckBuffer(dataLength, blockCount, format, BufferUnit.ExtendedBlocks, dataName);
            if (metadataLength != 0)
                throw new ArgumentException($"{metadataName} must be empty for the interleaved (extended LBA) layout, where each block's metadata follows its data; got {metadataLength} bytes.", metadataName);
        }
        else
        {
            CheckBuffer(dataLength, blockCount, format, BufferUnit.SeparateDataBlocks, dataName);
            CheckBuffer(metadataLength, blockCount, format, BufferUnit.MetadataEntries, metadataName);
        }
        return format;
    }

    /// <summary>What one unit of a buffer is, for messages; built only when a check fails.</summary>
    private enum BufferUnit { ExtendedBlocks, DataOnlyBlocks, SeparateDataBlocks, MetadataEntries }

    private static void CheckBlockCount(int blockCount)
    {
        if (blockCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(blockCount), blockCount, "Block count must be at least 1.");
    }

    private static void CheckBuffer(int length, int blockCount, ProtectionFormat format, BufferUnit unit, string name)
    {
        int bytesPerBlock = unit switch
        {
            BufferUnit.ExtendedBlocks => format.ExtendedBlockSize,
            BufferUnit.MetadataEntries => format.MetadataSize,
            _ => format.BlockSize,
        };
        long needed = (long)blockCount * bytesPerBlock;
        if (length < needed)
            ThrowBufferTooSmall(length, blockCount, format, unit, bytesPerBlock, needed, name);
    }

    private static void ThrowBufferTooSmall(int length, int blockCount, ProtectionFormat format, BufferUnit unit, int bytesPerBlock, long needed, string name)
    {
        string what = unit switch
        {
            BufferUnit.ExtendedBlocks => $"extended blocks ({format.BlockSize} data + {format.MetadataSize} metadata)",
            BufferUnit.DataOnlyBlocks => "data-only blocks",
            BufferUnit.SeparateDataBlocks => "data blocks (separate metadata layout)",
            _ => "metadata entries",
        };
        throw new ArgumentException($"{name} holds {length} bytes; {blockCount} {what} of {bytesPerBlock} bytes need {needed}.", name);
    }
}
