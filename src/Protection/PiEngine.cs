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
    /// <summary>Blocks per ComputeBlocks call (the stack buffer holds this many CRCs).</summary>
    private const int BatchBlocks = 32;

    /// <summary>Bytes a copy operation moves before checksumming them: well inside L2, so the CRC reads hit cache.</summary>
    private const int CopyBatchBytes = 64 * 1024;

    public static void Generate(in ProtectionContext context, Span<byte> data, Span<byte> metadata, int blockCount, bool interleaved)
    {
        ProtectionFormat format = context.Format;
        PiTagPlan plan = new(context);
        Span<TCrc> crcs = stackalloc TCrc[BatchBlocks];
        for (int first = 0; first < blockCount; first += BatchBlocks)
        {
            Span<TCrc> batch = crcs.Slice(0, Math.Min(BatchBlocks, blockCount - first));
            ComputeGuards(format, interleaved, data, metadata, first, batch);
            WriteTuples(format, interleaved, data, metadata, first, batch, plan);
        }
    }

    public static bool Verify(in ProtectionContext context, ReadOnlySpan<byte> data, ReadOnlySpan<byte> metadata,
        int blockCount, bool interleaved, out PiError error)
    {
        ProtectionFormat format = context.Format;
        PiTagPlan plan = new(context);
        error = default;
        if (!plan.ChecksAnything)
            return true;
        Span<TCrc> crcs = stackalloc TCrc[BatchBlocks];
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

    /// <summary>Copies data-only blocks into the DMA layout, zeroes the other metadata bytes and generates PI, one cache-sized batch at a time.</summary>
    public static void GenerateCopy(in ProtectionContext context, ReadOnlySpan<byte> hostData, Span<byte> dmaData,
        Span<byte> dmaMetadata, int blockCount, bool interleaved)
    {
        ProtectionFormat format = context.Format;
        PiTagPlan plan = new(context);
        int batchBlocks = CopyBatchBlocks(format);
        Span<TCrc> crcs = stackalloc TCrc[BatchBlocks];
        for (int first = 0; first < blockCount; first += batchBlocks)
        {
            Span<TCrc> batch = crcs.Slice(0, Math.Min(batchBlocks, blockCount - first));
            PiBlockCopy.CopyIn(format, interleaved, hostData, dmaData, dmaMetadata, first, batch.Length);
            ComputeGuards(format, interleaved, dmaData, dmaMetadata, first, batch);
            WriteTuples(format, interleaved, dmaData, dmaMetadata, first, batch, plan);
        }
    }

    /// <summary>
    /// Checks each cache-sized batch of the DMA buffer, then copies its data out. Every block
    /// is copied even after a failure (the result equals Strip); checking stops at the first.
    /// </summary>
    public static bool VerifyCopy(in ProtectionContext context, ReadOnlySpan<byte> dmaData, ReadOnlySpan<byte> dmaMetadata,
        Span<byte> hostData, int blockCount, bool interleaved, out PiError error)
    {
        ProtectionFormat format = context.Format;
        PiTagPlan plan = new(context);
        int batchBlocks = CopyBatchBlocks(format);
        bool checking = plan.ChecksAnything, passed = true;
        error = default;
        Span<TCrc> crcs = stackalloc TCrc[BatchBlocks];
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
            PiBlockCopy.CopyOut(format, interleaved, dmaData, hostData, first, batch.Length);
        }
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
    /// The tuples of the call start at <c>TupleStart</c> of the returned buffer and repeat every
    /// <paramref name="stride"/> bytes.
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
        int tupleSize = TGuard.TupleSize;
        for (int i = 0; i < crcs.Length; i++)
        {
            Span<byte> tuple = tuples.Slice(i * stride, tupleSize);
            TGuard.WriteGuard(tuple, crcs[i]);
            PiTupleCodec<TGuard, TCrc>.WriteApplicationTag(tuple, plan.ApplicationTag);
            PiTupleCodec<TGuard, TCrc>.WriteSpace(tuple, plan.Space(first + i));
        }
    }

    /// <summary>Checks the tuples of blocks [first, first + crcs.Length); crcs are only read when the guard is checked.</summary>
    private static bool CheckTuples(ProtectionFormat format, bool interleaved, ReadOnlySpan<byte> data, ReadOnlySpan<byte> metadata,
        int first, ReadOnlySpan<TCrc> crcs, in PiTagPlan plan, out PiError error)
    {
        int start = TupleStart(format, interleaved, out int stride);
        ReadOnlySpan<byte> tuples = (interleaved ? data : metadata).Slice(start + first * stride);
        int tupleSize = TGuard.TupleSize;
        for (int i = 0; i < crcs.Length; i++)
        {
            ReadOnlySpan<byte> tuple = tuples.Slice(i * stride, tupleSize);
            ushort applicationTag = PiTupleCodec<TGuard, TCrc>.ReadApplicationTag(tuple);
            UInt128 space = PiTupleCodec<TGuard, TCrc>.ReadSpace(tuple);

            // Escapes (PI.md §5): app tag FFFFh disables every check of the block; type 3 also
            // needs the reference tag all ones (ReferenceField is 0 when it has no bits).
            if (applicationTag == 0xFFFF && (!plan.Type3 || (space & plan.ReferenceField) == plan.ReferenceField))
                continue;

            bool guardFails = plan.CheckGuard && TGuard.ReadGuard(tuple) != crcs[i];
            UInt128 difference = space ^ plan.Space(first + i);
            if (guardFails
                || ((applicationTag ^ plan.ApplicationTag) & plan.ApplicationCheckMask) != 0
                || (difference & (plan.ReferenceCheckMask | plan.StorageCheckMask)) != UInt128.Zero)
            {
                error = Describe(tuple, guardFails ? crcs[i] : default, guardFails, first + i, plan);
                return false;
            }
        }
        error = default;
        return true;
    }

    /// <summary>Names the first failing check of a tuple, in the order guard, application, reference, storage tag.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static PiError Describe(ReadOnlySpan<byte> tuple, TCrc crc, bool guardFails, int blockIndex, in PiTagPlan plan)
    {
        if (guardFails)
            return new PiError(blockIndex, PiErrorKind.Guard, ulong.CreateTruncating(crc), ulong.CreateTruncating(TGuard.ReadGuard(tuple)));
        ushort applicationTag = PiTupleCodec<TGuard, TCrc>.ReadApplicationTag(tuple);
        if (((applicationTag ^ plan.ApplicationTag) & plan.ApplicationCheckMask) != 0)
            return new PiError(blockIndex, PiErrorKind.ApplicationTag, plan.ApplicationTag, applicationTag);
        UInt128 space = PiTupleCodec<TGuard, TCrc>.ReadSpace(tuple);
        ulong expectedReference = plan.ReferenceTag(blockIndex);
        if (((space ^ expectedReference) & plan.ReferenceCheckMask) != UInt128.Zero)
            return new PiError(blockIndex, PiErrorKind.ReferenceTag, expectedReference, (ulong)(space & plan.ReferenceField));
        return new PiError(blockIndex, PiErrorKind.StorageTag, plan.StorageTag, (ulong)(space >> plan.ReferenceTagBits));
    }
}
