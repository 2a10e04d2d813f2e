using System.Numerics;
using System.Runtime.CompilerServices;

namespace PolledNvme.Protection;

/// <summary>
/// The PI operations, written once and specialised by the JIT per guard format
/// (<see cref="Guard16"/>, <see cref="Guard32"/>, <see cref="Guard64"/>). Work goes in
/// batches: the guards of up to <see cref="BatchBlocks"/> blocks come from one
/// <c>ComputeBlocks</c> call into a stack buffer, then the tuples are written or checked.
/// The copy operations move one cache-sized batch and checksum it while it is still hot.
/// Callers (<see cref="ProtectionContext"/>) have validated every size.
/// </summary>
/// <remarks>
/// Guard coverage (PI.md §1): the block's data, then the metadata bytes before the tuple
/// (<see cref="ProtectionFormat.TupleOffset"/> of them, which is 0 when the tuple is first).
/// Interleaved, those bytes directly follow the data, so one strided CRC covers both; with
/// separate metadata the CRC is continued over the prefix with <c>Update</c>.
/// </remarks>
[SkipLocalsInit]
internal static class PiEngine<TGuard, TCrc>
    where TGuard : struct, IPiGuard<TCrc>
    where TCrc : unmanaged, IBinaryInteger<TCrc>, IUnsignedNumber<TCrc>
{
    /// <summary>Blocks per ComputeBlocks call (<see cref="CrcBatch{T}"/> holds this many CRCs).</summary>
    private const int BatchBlocks = CrcBatch<TCrc>.Length;

    /// <summary>
    /// Bytes a copy operation moves before checksumming them: less than a 32 KiB L1 data
    /// cache, so the second pass over the batch (CRC after copy, or copy after CRC) hits L1.
    /// </summary>
    private const int CopyBatchBytes = 24 * 1024;

    /// <summary>Writes the tuple of every block: guard, application tag, storage tag, reference tag.</summary>
    public static void Generate(in ProtectionContext context, Span<byte> data, Span<byte> metadata, int blockCount, bool interleaved)
    {
        ProtectionFormat format = context.Format;
        PiTagPlan plan = new(context);
        Unsafe.SkipInit(out CrcBatch<TCrc> crcBuffer); // entries are written before use
        Span<TCrc> crcs = crcBuffer;
        for (int first = 0; first < blockCount; first += BatchBlocks)
        {
            Span<TCrc> batch = crcs.Slice(0, Math.Min(BatchBlocks, blockCount - first));
            ComputeGuards(format, interleaved, data, metadata, first, batch);
            WriteTuples(format, interleaved, data, metadata, first, batch, plan);
        }
    }

    /// <summary>Checks every block; stops at the first failure. Without a guard check no CRC is computed.</summary>
    public static bool Verify(in ProtectionContext context, ReadOnlySpan<byte> data, ReadOnlySpan<byte> metadata,
        int blockCount, bool interleaved, out PiError error)
    {
        ProtectionFormat format = context.Format;
        PiTagPlan plan = new(context);
        error = default;
        if (!plan.ChecksAnything)
            return true;
        Unsafe.SkipInit(out CrcBatch<TCrc> crcBuffer); // entries are written before use (or masked out when the guard is not checked)
        Span<TCrc> crcs = crcBuffer;
        for (int first = 0; first < blockCount; first += BatchBlocks)
        {
            Span<TCrc> batch = crcs.Slice(0, Math.Min(BatchBlocks, blockCount - first));
            if (plan.CheckGuard)
                ComputeGuards(format, interleaved, data, metadata, first, batch);
            if (!CheckTuples(format, interleaved, data, metadata, first, batch, plan, out error))
                return false;
        }
        return true;
    }

    /// <summary>
    /// Copies data-only blocks into the DMA layout, zeroes the other metadata bytes and
    /// generates PI, one cache-sized batch at a time. The guards come from the host copy of
    /// the batch, which the copy has just brought into cache (the destination may have been
    /// written with streaming stores, which bypass it), continued over the zeroed prefix.
    /// </summary>
    public static void GenerateCopy(in ProtectionContext context, ReadOnlySpan<byte> hostData, Span<byte> dmaData,
        Span<byte> dmaMetadata, int blockCount, bool interleaved)
    {
        ProtectionFormat format = context.Format;
        PiTagPlan plan = new(context);
        int batchBlocks = CopyBatchBlocks(format);
        bool streaming = PiBlockCopy.Streams(format, blockCount);
        Unsafe.SkipInit(out CrcBatch<TCrc> crcBuffer); // entries are written before use
        Span<TCrc> crcs = crcBuffer;
        for (int first = 0; first < blockCount; first += batchBlocks)
        {
            Span<TCrc> batch = crcs.Slice(0, Math.Min(batchBlocks, blockCount - first));
            PiBlockCopy.CopyIn(format, interleaved, hostData, dmaData, dmaMetadata, first, batch.Length, streaming);
            ComputeHostGuards(format, hostData, first, batch);
            WriteTuples(format, interleaved, dmaData, dmaMetadata, first, batch, plan);
        }
        if (streaming)
            StreamingCopy.Fence();
    }

    /// <summary>
    /// Checks each cache-sized batch of the DMA buffer, then copies its data out while it is
    /// still in cache. Every block is copied even after a failure (the result equals Strip);
    /// checking stops at the first.
    /// </summary>
    public static bool VerifyCopy(in ProtectionContext context, ReadOnlySpan<byte> dmaData, ReadOnlySpan<byte> dmaMetadata,
        Span<byte> hostData, int blockCount, bool interleaved, out PiError error)
    {
        ProtectionFormat format = context.Format;
        PiTagPlan plan = new(context);
        int batchBlocks = CopyBatchBlocks(format);
        bool streaming = PiBlockCopy.Streams(format, blockCount);
        bool checking = plan.ChecksAnything, passed = true;
        error = default;
        Unsafe.SkipInit(out CrcBatch<TCrc> crcBuffer); // entries are written before use (or masked out when the guard is not checked)
        Span<TCrc> crcs = crcBuffer;
        for (int first = 0; first < blockCount; first += batchBlocks)
        {
            Span<TCrc> batch = crcs.Slice(0, Math.Min(batchBlocks, blockCount - first));
            if (checking)
            {
                if (plan.CheckGuard)
                    ComputeGuards(format, interleaved, dmaData, dmaMetadata, first, batch);
                if (!CheckTuples(format, interleaved, dmaData, dmaMetadata, first, batch, plan, out error))
                    checking = passed = false;
            }
            PiBlockCopy.CopyOut(format, interleaved, dmaData, hostData, first, batch.Length, streaming);
        }
        if (streaming)
            StreamingCopy.Fence();
        return passed;
    }

    private static int CopyBatchBlocks(ProtectionFormat format)
        => Math.Clamp(CopyBatchBytes / format.ExtendedBlockSize, 1, BatchBlocks);

    /// <summary>CRCs of blocks [first, first + crcs.Length) over the bytes the guard covers.</summary>
    private static void ComputeGuards(ProtectionFormat format, bool interleaved, ReadOnlySpan<byte> data,
        ReadOnlySpan<byte> metadata, int first, Span<TCrc> crcs)
    {
        int blockSize = format.BlockSize, prefix = format.TupleOffset;
        if (interleaved)
        {
            int extended = format.ExtendedBlockSize;
            TGuard.ComputeBlocks(data.Slice(first * extended), blockSize + prefix, extended, crcs);
            return;
        }
        TGuard.ComputeBlocks(data.Slice(first * blockSize), blockSize, blockSize, crcs);
        if (prefix == 0)
            return;
        int metadataSize = format.MetadataSize;
        ReadOnlySpan<byte> blockMetadata = metadata.Slice(first * metadataSize);
        for (int i = 0; i < crcs.Length; i++)
            crcs[i] = TGuard.Update(crcs[i], blockMetadata.Slice(i * metadataSize, prefix));
    }

    /// <summary>
    /// Guards of data-only blocks [first, first + crcs.Length) whose metadata prefix (the
    /// bytes before a last tuple) is all zeros, as GenerateCopy and Insert leave it.
    /// </summary>
    private static void ComputeHostGuards(ProtectionFormat format, ReadOnlySpan<byte> hostData, int first, Span<TCrc> crcs)
    {
        int blockSize = format.BlockSize;
        TGuard.ComputeBlocks(hostData.Slice(first * blockSize), blockSize, blockSize, crcs);
        int prefix = format.TupleOffset;
        if (prefix == 0)
            return;
        for (int i = 0; i < crcs.Length; i++)
        {
            TCrc crc = crcs[i];
            for (int done = 0; done < prefix; done += PiBlockCopy.Zeros.Length)
                crc = TGuard.Update(crc, PiBlockCopy.Zeros.Slice(0, Math.Min(PiBlockCopy.Zeros.Length, prefix - done)));
            crcs[i] = crc;
        }
    }

    /// <summary>
    /// Offset of block 0's tuple in the buffer that holds the tuples (data when interleaved,
    /// metadata when separate); the tuples repeat every <paramref name="stride"/> bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int TupleStart(ProtectionFormat format, bool interleaved, out int stride)
    {
        stride = interleaved ? format.ExtendedBlockSize : format.MetadataSize;
        return interleaved ? format.BlockSize + format.TupleOffset : format.TupleOffset;
    }

    private static void WriteTuples(ProtectionFormat format, bool interleaved, Span<byte> data, Span<byte> metadata,
        int first, ReadOnlySpan<TCrc> crcs, in PiTagPlan plan)
    {
        int start = TupleStart(format, interleaved, out int stride);
        Span<byte> tuples = (interleaved ? data : metadata).Slice(start + first * stride);
        UInt128 tags = plan.TagFields;
        ulong reference = plan.ReferenceTag(first), referenceMask = plan.ReferenceTagMask;
        ulong step = plan.IncrementReferenceTag ? 1UL : 0UL;
        for (int i = 0; i < crcs.Length; i++)
        {
            PiTupleCodec<TGuard, TCrc>.WriteTuple(tuples.Slice(i * stride, TGuard.TupleSize),
                tags | PiTupleCodec<TGuard, TCrc>.GuardField(crcs[i]) | reference);
            reference = (reference + step) & referenceMask;
        }
    }

    /// <summary>
    /// Checks the tuples of blocks [first, first + crcs.Length): each tuple, read as one
    /// number, against the expected tuple under the mask of the enabled checks. The crcs are
    /// only meaningful (and only compared) when the guard is checked.
    /// </summary>
    private static bool CheckTuples(ProtectionFormat format, bool interleaved, ReadOnlySpan<byte> data, ReadOnlySpan<byte> metadata,
        int first, ReadOnlySpan<TCrc> crcs, in PiTagPlan plan, out PiError error)
    {
        int start = TupleStart(format, interleaved, out int stride);
        ReadOnlySpan<byte> tuples = (interleaved ? data : metadata).Slice(start + first * stride);
        UInt128 tags = plan.TagFields, escape = plan.Escape;
        UInt128 mask = plan.CheckGuard ? plan.TagCheckMask | PiTupleCodec<TGuard, TCrc>.GuardField(TCrc.AllBitsSet) : plan.TagCheckMask;
        ulong reference = plan.ReferenceTag(first), referenceMask = plan.ReferenceTagMask;
        ulong step = plan.IncrementReferenceTag ? 1UL : 0UL;
        for (int i = 0; i < crcs.Length; i++)
        {
            ReadOnlySpan<byte> tuple = tuples.Slice(i * stride, TGuard.TupleSize);
            UInt128 actual = PiTupleCodec<TGuard, TCrc>.ReadTuple(tuple);
            UInt128 expected = tags | PiTupleCodec<TGuard, TCrc>.GuardField(crcs[i]) | reference;
            reference = (reference + step) & referenceMask;
            if (((actual ^ expected) & mask) != UInt128.Zero && (actual & escape) != escape)
            {
                error = Describe(tuple, crcs[i], first + i, plan);
                return false;
            }
        }
        error = default;
        return true;
    }

    /// <summary>Names the first failing check of a tuple, in the order guard, application, reference, storage tag (PI.md §5).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static PiError Describe(ReadOnlySpan<byte> tuple, TCrc crc, int blockIndex, in PiTagPlan plan)
    {
        PiTuple actual = PiTupleCodec<TGuard, TCrc>.Read(tuple, plan.ReferenceTagBits);
        ulong guard = ulong.CreateTruncating(crc);
        if (plan.CheckGuard && actual.Guard != guard)
            return new PiError(blockIndex, PiErrorKind.Guard, guard, actual.Guard);
        if (((actual.ApplicationTag ^ plan.ApplicationTag) & plan.ApplicationCheckMask) != 0)
            return new PiError(blockIndex, PiErrorKind.ApplicationTag, plan.ApplicationTag, actual.ApplicationTag);
        ulong expectedReference = plan.ReferenceTag(blockIndex);
        if (((actual.ReferenceTag ^ expectedReference) & plan.ReferenceCheckMask) != 0)
            return new PiError(blockIndex, PiErrorKind.ReferenceTag, expectedReference, actual.ReferenceTag);
        return new PiError(blockIndex, PiErrorKind.StorageTag, plan.StorageTag, actual.StorageTag);
    }
}

/// <summary>
/// The CRCs of one batch, on the stack. An inline array rather than <c>stackalloc</c>, so the
/// engine's methods tier up normally (no localloc, no stack cookie check).
/// </summary>
[InlineArray(Length)]
internal struct CrcBatch<T>
    where T : unmanaged
{
    public const int Length = 32;
    private T _first;
}
